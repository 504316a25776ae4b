"""Authorization cases for alerts and their webhooks (see matrix.py).

An alert belongs to HOME: reading needs alerts:read there (else 404), acting needs
alerts:act (403 for a caller who can see it).  Webhooks need alerts:manage: a receiver of
HOME is invisible (404) to anyone without it there.
"""

from __future__ import annotations

import uuid

from sqlalchemy import update

from citywitness.access.permissions import Permission
from citywitness.alerts.models import Alert, Webhook
from citywitness.analysis.batch import store_snapshot
from citywitness.kit.db import Database
from tests.alerts.test_api import make_alert
from tests.authz.matrix import HOME, Actor, Case, Prepared, department_case, object_case
from tests.evidence.core.helpers import shared_store

P = Permission


async def home_alert(db: Database, _caller: Actor | None) -> Prepared:
    alert = await make_alert(db, HOME)
    return Prepared(path={"alert_id": str(alert.id)}, json={"action": "acknowledge"})


async def home_alert_with_snapshot(db: Database, _caller: Actor | None) -> Prepared:
    alert = await make_alert(db, HOME)
    sha = await store_snapshot(shared_store(db), b"\xff\xd8\xff\xe0 not really a jpeg")
    async with db.transaction() as session:
        await session.execute(update(Alert).where(Alert.id == alert.id).values(snapshot_sha256=sha))
    return Prepared(path={"alert_id": str(alert.id)})


async def new_webhook(_db: Database, _caller: Actor | None) -> Prepared:
    return Prepared(
        json={"name": "cad", "url": "https://cad.example/hooks", "department_id": str(HOME)}
    )


async def home_webhook(db: Database, _caller: Actor | None) -> Prepared:
    async with db.transaction() as session:
        hook = Webhook(
            id=uuid.uuid4(),
            name="cad",
            url="https://cad.example/hooks",
            secret="whsec_test",
            department_id=HOME,
            min_severity="info",
            active=True,
        )
        session.add(hook)
    return Prepared(path={"webhook_id": str(hook.id)}, json={"active": False})


CASES: list[Case] = [
    department_case(
        "GET",
        "/api/v1/alerts",
        P.ALERTS_READ,
        other=200,
        note="the list holds only alerts in scope (tests/alerts/test_api.py)",
    ),
    object_case("GET", "/api/v1/alerts/{alert_id}", P.ALERTS_READ, home_alert, without=404),
    object_case("POST", "/api/v1/alerts/{alert_id}/transitions", P.ALERTS_ACT, home_alert),
    object_case(
        "GET",
        "/api/v1/alerts/{alert_id}/snapshot",
        P.ALERTS_READ,
        home_alert_with_snapshot,
        without=404,
    ),
    department_case(
        "GET",
        "/api/v1/alert-webhooks",
        P.ALERTS_MANAGE,
        other=200,
        note="the list holds only receivers in scope",
    ),
    department_case("POST", "/api/v1/alert-webhooks", P.ALERTS_MANAGE, new_webhook, success=201),
    object_case(
        "PATCH", "/api/v1/alert-webhooks/{webhook_id}", P.ALERTS_MANAGE, home_webhook, without=404
    ),
]
