"""Presence: the offline sweep, IP changes, and the partition/message-id upkeep."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select, text

from citywitness.devices.models import (
    DeviceEvent,
    DeviceMessageSeen,
    DeviceStateRow,
    RecorderBinding,
)
from citywitness.devices.partitions import ensure_partitions, existing_partitions
from citywitness.devices.presence import sweep_offline
from citywitness.devices.tasks import upkeep
from citywitness.devices.telemetry import accept_message
from citywitness.kit.db import Database
from citywitness.settings.sections import DevicesSettings
from tests.devices.helpers import make_enrolled, make_officer, now, payload, telemetry_body


async def test_sweep_marks_silent_recorders_offline_once(db: Database) -> None:
    quiet, chatty = await make_enrolled(db), await make_enrolled(db)
    officer = await make_officer(db)
    t0 = now()
    async with db.transaction() as session:
        session.add(
            RecorderBinding(
                recorder_id=quiet.identity.device_id,
                officer_id=officer,
                started_at=t0 - timedelta(hours=1),
            )
        )
        for device, at in ((quiet, t0), (chatty, t0 + timedelta(seconds=100))):
            await accept_message(
                session,
                device.identity,
                "telemetry",
                payload(telemetry_body(at=t0)),
                transport="mqtt",
                received_at=at,
            )
    sweep_at = t0 + timedelta(seconds=150)
    async with db.transaction() as session:
        first = await sweep_offline(session, now=sweep_at, after=timedelta(seconds=120))
        second = await sweep_offline(session, now=sweep_at, after=timedelta(seconds=120))
    assert quiet.identity.device_id in first.marked_offline
    assert chatty.identity.device_id not in first.marked_offline
    assert second.marked_offline == []
    async with db.transaction() as session:
        online = {
            r.recorder_id: r.online
            for r in await session.scalars(
                select(DeviceStateRow).where(
                    DeviceStateRow.recorder_id.in_(
                        [quiet.identity.device_id, chatty.identity.device_id]
                    )
                )
            )
        }
        assert online == {quiet.identity.device_id: False, chatty.identity.device_id: True}
        events = (
            await session.execute(
                select(
                    DeviceEvent.kind,
                    DeviceEvent.source,
                    DeviceEvent.officer_id,
                    DeviceEvent.details,
                )
                .where(DeviceEvent.recorder_id == quiet.identity.device_id)
                .order_by(DeviceEvent.at)
            )
        ).all()
    assert [tuple(e) for e in events] == [
        ("online", "platform", officer, {"transport": "mqtt"}),
        ("offline", "platform", officer, {"last_seen_at": t0.isoformat(), "reason": "timeout"}),
    ]
    # The next message brings it back, recorded as a transition.
    async with db.transaction() as session:
        await accept_message(
            session,
            quiet.identity,
            "status",
            payload({"msg_id": "back"}),
            transport="https",
            received_at=sweep_at + timedelta(seconds=1),
        )
        kinds = list(
            await session.scalars(
                select(DeviceEvent.kind)
                .where(DeviceEvent.recorder_id == quiet.identity.device_id)
                .order_by(DeviceEvent.at)
            )
        )
    assert kinds == ["online", "offline", "online"]


async def test_changing_ip_and_port_keeps_the_recorder_online(db: Database) -> None:
    device = await make_enrolled(db)
    t0 = now()
    async with db.transaction() as session:
        for i, address in enumerate(["10.20.0.5:50123", "10.77.3.9:41002", "100.64.1.1:6000"]):
            await accept_message(
                session,
                device.identity,
                "status",
                payload({"msg_id": f"ip{i}"}),
                transport="mqtt",
                received_at=t0 + timedelta(seconds=2 * i),
                address=address,
            )
        state = await session.get(DeviceStateRow, device.identity.device_id)
        assert state is not None
        await session.refresh(state)
        assert (state.online, state.last_address) == (True, "100.64.1.1:6000")
        transitions = await session.scalar(
            select(func.count())
            .select_from(DeviceEvent)
            .where(DeviceEvent.recorder_id == device.identity.device_id)
        )
    assert transitions == 1  # came online once; the address changes are not events


async def test_upkeep_creates_ahead_drops_expired_and_purges_ids(db: Database) -> None:
    device = await make_enrolled(db)
    today = now()
    settings = DevicesSettings(partitions_ahead_days=3, positions_retention_days=30)
    async with db.transaction() as session:
        old_days = [(today - timedelta(days=n)).date() for n in (40, 31)]
        await ensure_partitions(session, old_days)
        await ensure_partitions(session, [(today - timedelta(days=29)).date()])
        session.add(
            DeviceMessageSeen(
                recorder_id=device.identity.device_id,
                msg_id="ancient",
                kind="status",
                transport="mqtt",
                received_at=today - timedelta(days=9),
            )
        )
        session.add(
            DeviceMessageSeen(
                recorder_id=device.identity.device_id,
                msg_id="recent",
                kind="status",
                transport="mqtt",
                received_at=today - timedelta(days=7),
            )
        )
        await session.flush()
        done = await upkeep(session, settings, today)
        days = await existing_partitions(session)
        again = await upkeep(session, settings, today)
        ids = list(
            await session.scalars(
                select(DeviceMessageSeen.msg_id).where(
                    DeviceMessageSeen.recorder_id == device.identity.device_id
                )
            )
        )
        exists = await session.scalar(
            text("SELECT to_regclass(:n) IS NULL"), {"n": f"device_positions_p{old_days[0]:%Y%m%d}"}
        )
    wanted = [(today + timedelta(days=n)).date() for n in range(-1, 4)]
    assert done == {"created": 5, "dropped": 2, "message_ids_purged": 1}
    assert days == [(today - timedelta(days=29)).date(), *wanted]
    assert again == {"created": 0, "dropped": 0, "message_ids_purged": 0}
    assert ids == ["recent"]
    assert exists is True
