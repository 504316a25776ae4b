"""Outcomes of commands: timeouts, locate_now, acknowledgements as MQTT events, delivery steps."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta

import httpx
from sqlalchemy import text

from citywitness.devices.commands_delivery import DeliveryPolicy, deliver, expire_overdue
from citywitness.devices.telemetry import accept_message
from citywitness.kit.clock import utcnow
from citywitness.kit.db import Database
from tests.devices.helpers import make_enrolled, payload, telemetry_body
from tests.devices.test_commands_support import ack, issue, read, transitions
from tests.factories import Actor


async def test_a_command_without_outcome_times_out(
    db: Database, client: httpx.AsyncClient, ps_operator: Actor
) -> None:
    device = await make_enrolled(db)
    created = await issue(
        client, ps_operator, device, {"kind": "stop_recording", "timeout_seconds": 5}
    )
    await ack(client, device, created["id"], "acknowledged")
    async with db.transaction() as session:
        assert await expire_overdue(session, now=utcnow()) == 0
    async with db.transaction() as session:
        assert await expire_overdue(session, now=utcnow() + timedelta(seconds=6)) == 1
    command = await read(client, ps_operator, created["id"])
    assert command["state"] == "timed_out"
    assert transitions(command)[-1] == ("acknowledged", "timed_out", "platform", None)
    late = await ack(client, device, created["id"], "succeeded")
    assert (late.status_code, late.json()["error"]) == (409, "command_closed")


async def test_locate_now_succeeds_when_a_fresh_position_arrives(
    db: Database, client: httpx.AsyncClient, ps_operator: Actor, ps_admin: Actor
) -> None:
    device = await make_enrolled(db)
    created = await issue(client, ps_operator, device, {"kind": "locate_now"})
    early = await ack(client, device, created["id"], "succeeded")
    assert early.json()["state"] == "acknowledged"  # no position yet: only received

    body = telemetry_body(count=1)
    body["positions"][0].update(lat=30.25, lon=120.5)
    async with db.transaction() as session:
        await accept_message(
            session,
            device.identity,
            "telemetry",
            payload(body),
            transport="https",
            received_at=utcnow(),
        )
    done = await ack(client, device, created["id"], "succeeded")
    assert done.json()["state"] == "succeeded"
    command = await read(client, ps_operator, created["id"])
    assert command["result"]["lat"] == 30.25
    assert command["result"]["lon"] == 120.5
    assert command["result"]["fix"] == "beidou"
    assert transitions(command)[-1] == ("acknowledged", "succeeded", "platform", None)
    # a department admin may read commands but not where an officer is (devices:track)
    assert (await read(client, ps_admin, created["id"]))["result"] is None


async def test_an_ack_over_mqtt_is_a_command_ack_event(
    db: Database, client: httpx.AsyncClient, ps_operator: Actor
) -> None:
    device = await make_enrolled(db)
    created = await issue(client, ps_operator, device, {"kind": "start_recording"})
    for status in ("acknowledged", "succeeded", "bogus"):
        event = {
            "msg_id": f"ack-{status}",
            "kind": "command_ack",
            "at": utcnow().isoformat(),
            "details": {"command_id": created["id"], "status": status, "detail": "ok"},
        }
        async with db.transaction() as session:
            result = await accept_message(
                session,
                device.identity,
                "event",
                json.dumps(event).encode(),
                transport="mqtt",
                received_at=utcnow(),
            )
        assert result.new is True
    command = await read(client, ps_operator, created["id"])
    assert command["state"] == "succeeded"
    assert transitions(command)[1:] == [
        ("pending", "acknowledged", "device", "mqtt"),
        ("acknowledged", "succeeded", "device", "mqtt"),
    ]


async def test_a_delivery_step_without_a_publisher_retries_then_times_out(
    db: Database, client: httpx.AsyncClient, ps_operator: Actor
) -> None:
    device = await make_enrolled(db)
    created = await issue(client, ps_operator, device, {"kind": "start_recording"})
    command_id = uuid.UUID(created["id"])
    planned: list[datetime] = []

    async def reschedule(_session: object, when: datetime) -> None:
        planned.append(when)

    policy = DeliveryPolicy(retry=timedelta(seconds=7))
    before = utcnow()
    state = await deliver(
        db,
        command_id,
        publisher=None,
        policy=policy,
        reschedule=reschedule,
    )
    assert state == "pending"
    assert len(planned) == 1
    assert before + timedelta(seconds=7) <= planned[0] <= utcnow() + timedelta(seconds=7)
    command = await read(client, ps_operator, created["id"])
    assert (command["attempts"], command["sent_at"]) == (0, None)
    async with db.transaction() as session:
        last_error = await session.scalar(
            text("SELECT last_error FROM device_commands WHERE id = :id"), {"id": command_id}
        )
        await session.execute(
            text("UPDATE device_commands SET expires_at = now() - interval '1 s' WHERE id = :id"),
            {"id": command_id},
        )
    assert last_error == "no_mqtt_publisher"
    state = await deliver(
        db,
        command_id,
        publisher=None,
        policy=policy,
        reschedule=reschedule,
    )
    assert state == "timed_out"
    assert len(planned) == 1  # nothing more to do
