"""Device events and ledger incidents become alerts, once, through the durable consumer."""

from __future__ import annotations

import uuid

from sqlalchemy import text, update

from citywitness.alerts.models import AlertEvent, AlertTrigger
from citywitness.alerts.raising import source_alert
from citywitness.devices.telemetry import accept_message
from citywitness.kit.clock import utcnow
from citywitness.kit.db import Database
from citywitness.kit.events import EventConsumer
from citywitness.ledger.witness_models import Incident
from tests.alerts.helpers import alerts_of, count, drain, send_event
from tests.devices.helpers import make_enrolled


async def test_sos_raises_one_critical_alert_and_repeats_count(committed_db: Database) -> None:
    device = await make_enrolled(committed_db)
    await send_event(committed_db, device, "sos")
    assert await drain(committed_db) == 2  # the sos and the platform's `online` event
    [alert] = await alerts_of(committed_db, device.identity.device_id)
    assert (alert.kind, alert.severity, alert.state, alert.occurrences) == (
        "sos",
        "critical",
        "new",
        1,
    )
    assert (alert.lat, alert.lon, alert.department_id) == (
        31.2304,
        121.4737,
        device.identity.department_id,
    )
    await send_event(committed_db, device, "sos")
    await send_event(committed_db, device, "sos")
    assert await drain(committed_db) == 2
    [alert] = await alerts_of(committed_db, device.identity.device_id)
    assert alert.occurrences == 3
    assert await count(committed_db, AlertTrigger) == 3
    assert await count(committed_db, AlertEvent) == 3  # raised, repeated, repeated


async def test_kinds_and_severities(committed_db: Database) -> None:
    device = await make_enrolled(committed_db)
    for kind in ("tamper", "low_battery", "recording_started", "storage_full"):
        await send_event(committed_db, device, kind)
    await drain(committed_db)
    found = {(a.kind, a.severity) for a in await alerts_of(committed_db, device.identity.device_id)}
    assert found == {("tamper", "high"), ("low_battery", "low")}


async def test_rerunning_over_the_same_events_changes_nothing(committed_db: Database) -> None:
    device = await make_enrolled(committed_db)
    await send_event(committed_db, device, "sos")
    await send_event(committed_db, device, "tamper")
    await drain(committed_db)
    before = (await count(committed_db, AlertTrigger), await count(committed_db, AlertEvent))
    async with committed_db.transaction() as session:
        await session.execute(update(EventConsumer).values(last_xid=0, last_id=0))
    assert await drain(committed_db) == 3
    after = (await count(committed_db, AlertTrigger), await count(committed_db, AlertEvent))
    assert after == before == (2, 2)
    assert [a.occurrences for a in await alerts_of(committed_db, device.identity.device_id)] == [
        1,
        1,
    ]


async def test_offline_during_a_shift_raises_but_not_without_one(committed_db: Database) -> None:
    on_shift = await make_enrolled(committed_db)
    off_shift = await make_enrolled(committed_db)
    async with committed_db.transaction() as session:
        officer = uuid.uuid4()
        await session.execute(
            text(
                "INSERT INTO officers (id, badge_number, display_name, department_id, active)"
                " VALUES (:id, :b, 'O', :d, true)"
            ),
            {"id": officer, "b": f"B{officer.hex[:8]}", "d": on_shift.identity.department_id},
        )
        await session.execute(
            text(
                "INSERT INTO recorder_bindings (id, recorder_id, officer_id, started_at)"
                " VALUES (:id, :r, :o, now() - interval '1 hour')"
            ),
            {"id": uuid.uuid4(), "r": on_shift.identity.device_id, "o": officer},
        )
    for device in (on_shift, off_shift):
        await send_event(committed_db, device, "recording_stopped")
        async with committed_db.transaction() as session:  # the last will: offline now
            await accept_message(
                session,
                device.identity,
                "status",
                f'{{"msg_id": "{uuid.uuid4().hex}", "state": "offline"}}'.encode(),
                transport="mqtt",
                received_at=utcnow(),
            )
    await drain(committed_db)
    [alert] = await alerts_of(committed_db, on_shift.identity.device_id)
    assert (alert.kind, alert.officer_id) == ("device_offline_on_shift", officer)
    assert await alerts_of(committed_db, off_shift.identity.device_id) == []


async def test_a_ledger_fork_is_a_platform_wide_critical_alert(committed_db: Database) -> None:
    async with committed_db.transaction() as session:
        incident = Incident(
            id=uuid.uuid4(),
            kind="fork",
            severity="critical",
            size=7,
            summary="two checkpoints of size 7 with different roots",
            fingerprint="f" * 64,
            evidence={"notes": []},
        )
        session.add(incident)
    await drain(committed_db)
    async with committed_db.transaction() as session:
        alert = await source_alert(session, "ledger_incident", str(incident.id))
    assert alert is not None
    assert (alert.kind, alert.severity, alert.department_id) == ("ledger_fork", "critical", None)
