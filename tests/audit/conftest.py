"""A small, known audit trail for the reading tests."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from citywitness.access.levels import Role
from citywitness.audit.models import AuditEvent
from citywitness.kit.db import Database
from tests.factories import PUBLIC_SECURITY, TRAFFIC_POLICE, make_user

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Trail:
    ids: dict[str, int]
    member_ps: uuid.UUID
    member_tp: uuid.UUID


@pytest.fixture
async def trail(db: Database) -> Trail:
    """Six events e1..e6, one minute apart, all with actions under `t.`."""
    async with db.transaction() as session:
        ps = (await make_user(session, roles={PUBLIC_SECURITY: [Role.OFFICER]})).id
        tp = (await make_user(session, roles={TRAFFIC_POLICE: [Role.OFFICER]})).id
        specs = [
            ("e1", "t.evidence.read", PUBLIC_SECURITY, tp, "success", "evidence", "E1", "10.0.0.1"),
            ("e2", "t.evidence.play", TRAFFIC_POLICE, ps, "success", "evidence", "E2", "10.0.0.2"),
            ("e3", "t.evidence.play", TRAFFIC_POLICE, tp, "denied", "evidence", "E3", "10.0.0.1"),
            ("e4", "t.auth.login", None, ps, "failure", None, None, "10.0.0.3"),
            ("e5", "t.auth.login", None, None, "failure", None, None, "10.0.0.3"),
            ("e6", "t.officers.read", PUBLIC_SECURITY, None, "success", "officer", "O1", None),
        ]
        events = {}
        for minute, (name, action, dept, actor, outcome, otype, oid, address) in enumerate(specs):
            event = AuditEvent(
                occurred_at=T0 + timedelta(minutes=minute),
                actor_user_id=actor,
                actor_kind="user" if actor else "anonymous",
                department_id=dept,
                action=action,
                object_type=otype,
                object_id=oid,
                outcome=outcome,
                client_address=address,
                request_id=f"req-{name}",
                reason="=cmd|' /C calc'!A0" if name == "e6" else None,
                details={"n": minute + 1, "z": "中文"} if name == "e1" else {},
            )
            session.add(event)
            await session.flush()
            events[name] = event.id
    return Trail(ids=events, member_ps=ps, member_tp=tp)
