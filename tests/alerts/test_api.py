"""The console API: list and filter in scope, read with history, act (and 409), audited."""

from __future__ import annotations

import uuid

import httpx
from sqlalchemy import func, select, update

from citywitness.access.levels import Role
from citywitness.alerts.kinds import Action
from citywitness.alerts.models import Alert
from citywitness.alerts.service import NewAlert, raise_alert, transition
from citywitness.analysis.batch import store_snapshot
from citywitness.audit.models import AuditEvent
from citywitness.kit.clock import utcnow
from citywitness.kit.db import Database
from tests.devices.helpers import make_recorder
from tests.evidence.core.helpers import shared_store
from tests.factories import PUBLIC_SECURITY, TRAFFIC_POLICE, make_actor


async def make_alert(
    db: Database, department_id: uuid.UUID | None = PUBLIC_SECURITY, kind: str = "sos"
) -> Alert:
    recorder = await make_recorder(db, department_id or PUBLIC_SECURITY)
    async with db.transaction() as session:
        raised = await raise_alert(
            session,
            NewAlert(
                kind=kind,
                source_kind="test",
                source_id=uuid.uuid4().hex,
                dedup_key=f"{kind}:{recorder.id}",
                occurred_at=utcnow(),
                department_id=department_id,
                recorder_id=recorder.id,
            ),
        )
    assert raised is not None
    return raised.alert


async def test_list_is_scoped_filtered_and_paged(db: Database, client: httpx.AsyncClient) -> None:
    mine = [await make_alert(db) for _ in range(3)]
    tamper = await make_alert(db, kind="tamper")
    await make_alert(db, TRAFFIC_POLICE)
    await make_alert(db, None, kind="ledger_fork")
    operator = await make_actor(db, roles={PUBLIC_SECURITY: [Role.OPERATOR]})
    page = await client.get("/api/v1/alerts", params={"limit": 2}, headers=operator.headers)
    assert page.status_code == 200
    first = page.json()
    assert len(first["items"]) == 2
    rest = await client.get(
        "/api/v1/alerts", params={"cursor": first["next_cursor"]}, headers=operator.headers
    )
    ids = [a["id"] for a in first["items"] + rest.json()["items"]]
    expected = sorted([*mine, tamper], key=lambda a: (a.occurred_at, a.id), reverse=True)
    assert ids == [str(a.id) for a in expected]
    only = await client.get("/api/v1/alerts", params={"kind": "tamper"}, headers=operator.headers)
    assert [a["id"] for a in only.json()["items"]] == [str(tamper.id)]
    bad = await client.get("/api/v1/alerts", params={"cursor": "x"}, headers=operator.headers)
    assert (bad.status_code, bad.json()["error"]) == (400, "invalid_cursor")


async def test_lifecycle_and_illegal_transition(db: Database, client: httpx.AsyncClient) -> None:
    alert = await make_alert(db)
    operator = await make_actor(db, roles={PUBLIC_SECURITY: [Role.OPERATOR]})
    url = f"/api/v1/alerts/{alert.id}/transitions"
    for action, state in (("acknowledge", "acknowledged"), ("dispatch", "dispatched")):
        answer = await client.post(url, json={"action": action}, headers=operator.headers)
        assert (answer.status_code, answer.json()["state"]) == (200, state)
    again = await client.post(url, json={"action": "acknowledge"}, headers=operator.headers)
    assert (again.status_code, again.json()["error"]) == (409, "alert_transition_not_allowed")
    done = await client.post(
        url, json={"action": "resolve", "note": "handled on scene"}, headers=operator.headers
    )
    body = done.json()
    assert body["state"] == "resolved"
    steps = [(e["action"], e["from_state"], e["to_state"], e["note"]) for e in body["events"]]
    assert steps == [
        ("raised", None, "new", None),
        ("acknowledge", "new", "acknowledged", None),
        ("dispatch", "acknowledged", "dispatched", None),
        ("resolve", "dispatched", "resolved", "handled on scene"),
    ]
    assert body["events"][1]["actor_user_id"] == str(operator.user.id)
    closed = await client.post(url, json={"action": "false_alarm"}, headers=operator.headers)
    assert closed.status_code == 409
    async with db.transaction() as session:
        actions = (
            await session.execute(
                select(AuditEvent.action)
                .where(AuditEvent.object_id == str(alert.id))
                .order_by(AuditEvent.occurred_at)
            )
        ).scalars()
        assert list(actions) == ["alerts.acknowledge", "alerts.dispatch", "alerts.resolve"]


async def test_a_resolved_alert_lets_the_next_trigger_raise_anew(db: Database) -> None:
    alert = await make_alert(db)
    async with db.transaction() as session:
        locked = await session.get(Alert, alert.id, with_for_update=True)
        assert locked is not None
        await transition(session, locked, Action.FALSE_ALARM, actor=None, note=None)
        again = await raise_alert(
            session,
            NewAlert(
                kind="sos",
                source_kind="test",
                source_id="next",
                dedup_key=alert.dedup_key,
                occurred_at=utcnow(),
                department_id=PUBLIC_SECURITY,
                recorder_id=alert.recorder_id,
            ),
        )
    assert again is not None
    assert again.created
    assert again.alert.id != alert.id


async def test_outside_scope_is_404_and_fork_only_platform_wide(
    db: Database, client: httpx.AsyncClient
) -> None:
    theirs = await make_alert(db, TRAFFIC_POLICE)
    fork = await make_alert(db, None, kind="ledger_fork")
    operator = await make_actor(db, roles={PUBLIC_SECURITY: [Role.OPERATOR]})
    for alert in (theirs, fork):
        answer = await client.get(f"/api/v1/alerts/{alert.id}", headers=operator.headers)
        assert answer.status_code == 404
    admin = await make_actor(db, roles={PUBLIC_SECURITY: [Role.PLATFORM_ADMIN]})
    answer = await client.get(f"/api/v1/alerts/{fork.id}", headers=admin.headers)
    assert (answer.status_code, answer.json()["kind"]) == (200, "ledger_fork")


async def test_snapshot_is_served_scoped_and_audited(
    db: Database, client: httpx.AsyncClient
) -> None:
    alert = await make_alert(db)
    reader = await make_actor(db, roles={PUBLIC_SECURITY: [Role.OPERATOR]})
    path = f"/api/v1/alerts/{alert.id}/snapshot"
    none = await client.get(path, headers=reader.headers)
    assert (none.status_code, none.json()["error"]) == (404, "alerts.snapshot_not_found")
    jpeg = b"\xff\xd8\xff\xe0" + bytes(range(256))
    sha = await store_snapshot(shared_store(db), jpeg)
    async with db.transaction() as session:
        await session.execute(update(Alert).where(Alert.id == alert.id).values(snapshot_sha256=sha))
    served = await client.get(path, headers=reader.headers)
    assert (served.status_code, served.headers["content-type"]) == (200, "image/jpeg")
    assert served.content == jpeg
    other = await make_actor(db, roles={TRAFFIC_POLICE: [Role.OPERATOR]})
    assert (await client.get(path, headers=other.headers)).status_code == 404
    async with db.transaction() as session:
        reads = await session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(
                AuditEvent.action == "alerts.snapshot_read", AuditEvent.object_id == str(alert.id)
            )
        )
    assert reads == 1
