"""Commands to recorders over the API and the HTTPS poll: issuing, validation, consent,
acknowledgements, the state machine, cancel and scope."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import httpx
from sqlalchemy import select, text, update

from citywitness.access.levels import Role
from citywitness.access.permissions import ROLE_PERMISSIONS, Permission
from citywitness.audit.models import AuditEvent
from citywitness.devices.models import DeviceStateRow
from citywitness.kit.clock import utcnow
from citywitness.kit.db import Database
from citywitness.settings import Settings
from tests.devices.helpers import make_enrolled, make_recorder
from tests.devices.test_commands_support import API, ack, issue, read, send, transitions
from tests.factories import PUBLIC_SECURITY, TRAFFIC_POLICE, Actor, make_actor


async def test_issuing_is_202_pending_with_a_delivery_job_and_an_audit_record(
    db: Database, client: httpx.AsyncClient, ps_operator: Actor
) -> None:
    device = await make_enrolled(db)
    body = {"kind": "text_message", "params": {"text": "Return to base"}, "reason": "shift end"}
    before = utcnow()
    created = await issue(client, ps_operator, device, body)

    assert created["state"] == "pending"
    assert created["kind"] == "text_message"
    assert created["params"] == {"text": "Return to base"}
    assert created["consent_required"] is False
    assert created["recorder_id"] == str(device.identity.device_id)
    assert created["created_by"] == str(ps_operator.user.id)
    expires = created["expires_at"]
    assert (
        before + timedelta(seconds=300)
        <= datetime.fromisoformat(expires)
        <= utcnow() + timedelta(seconds=300)
    )
    async with db.transaction() as session:
        jobs = (
            await session.execute(
                text(
                    "SELECT task_name, args, queueing_lock FROM procrastinate_jobs "
                    "WHERE args->>'command_id' = :id"
                ),
                {"id": created["id"]},
            )
        ).all()
        audit = (
            await session.execute(
                select(AuditEvent.action, AuditEvent.reason, AuditEvent.details).where(
                    AuditEvent.object_id == created["id"]
                )
            )
        ).all()
    assert [tuple(j) for j in jobs] == [
        (
            "device_commands:deliver",
            {"command_id": created["id"]},
            f"device_commands:{created['id']}",
        )
    ]
    assert [tuple(a) for a in audit] == [
        (
            "devices.command",
            "shift end",
            {
                "recorder_id": str(device.identity.device_id),
                "kind": "text_message",
                "consent_required": False,
                "timeout_seconds": 300,
            },
        )
    ]


async def test_bad_params_are_422_with_the_field(
    db: Database, client: httpx.AsyncClient, ps_operator: Actor
) -> None:
    device = await make_enrolled(db)
    cases = [
        ({"kind": "text_message", "params": {"text": "a\u0007b"}}, "params.text"),
        ({"kind": "text_message", "params": {"text": "x\u202eevil"}}, "params.text"),
        ({"kind": "text_message", "params": {"text": "x" * 501}}, "params.text"),
        ({"kind": "text_message", "params": {"text": "   "}}, "params.text"),
        ({"kind": "text_message", "params": {}}, "params.text"),
        ({"kind": "locate_now", "params": {"hurry": True}}, "params.hurry"),
        ({"kind": "request_live_view", "params": {}}, "reason"),
    ]
    for body, field in cases:
        response = await send(client, ps_operator, device, body)
        assert response.status_code == 422, body
        assert response.json()["error"] == "invalid_command"
        assert list(response.json()["fields"]) == [field], body
    response = await send(client, ps_operator, device, {"kind": "self_destruct"})
    assert response.status_code == 422
    assert response.json()["error"] == "validation_failed"
    response = await client.get(
        f"{API}/{device.identity.device_id}/commands", headers=ps_operator.headers
    )
    assert response.json()["items"] == []


async def test_a_500_character_message_with_unicode_is_accepted(
    db: Database, client: httpx.AsyncClient, ps_operator: Actor
) -> None:
    device = await make_enrolled(db)
    text_ = "请到中山路集合。" * 62 + "好的"
    assert len(text_) == 498
    created = await issue(
        client, ps_operator, device, {"kind": "text_message", "params": {"text": text_}}
    )
    assert created["params"]["text"] == text_


async def test_live_view_needs_media_live(db: Database, client: httpx.AsyncClient) -> None:
    device = await make_enrolled(db)
    held = ROLE_PERMISSIONS[Role.OPERATOR] - {Permission.MEDIA_LIVE}
    no_live = await make_actor(db, roles={PUBLIC_SECURITY: [Role.OPERATOR]}, scopes=sorted(held))
    body = {"kind": "request_live_view", "reason": "crowd at the station"}
    response = await send(client, no_live, device, body)
    assert response.status_code == 403
    assert response.json()["error"] == "permission_denied"
    locate = await send(client, no_live, device, {"kind": "locate_now"})
    assert locate.status_code == 202


async def test_consent_follows_the_department_policy(
    db: Database, client: httpx.AsyncClient, ps_operator: Actor, ps_admin: Actor
) -> None:
    device = await make_enrolled(db)
    live = {"kind": "request_live_view", "reason": "incident 42", "params": {"audio": False}}
    policy_url = f"{API}/command-policies/{PUBLIC_SECURITY}"

    got = await client.get(policy_url, headers=ps_operator.headers)
    assert got.json() == {
        "department_id": str(PUBLIC_SECURITY),
        "live_view_consent": "always",
        "source": "default",
        "updated_at": None,
    }
    created = await issue(client, ps_operator, device, live)
    assert (created["consent_required"], created["params"]) == (True, {"audio": False})

    refused = await client.put(
        policy_url, json={"live_view_consent": "never"}, headers=ps_operator.headers
    )
    assert refused.status_code == 403
    put = await client.put(
        policy_url, json={"live_view_consent": "never"}, headers=ps_admin.headers
    )
    assert put.status_code == 200
    assert (put.json()["live_view_consent"], put.json()["source"]) == ("never", "department")
    assert (await issue(client, ps_operator, device, live))["consent_required"] is False

    await client.put(
        policy_url, json={"live_view_consent": "when_not_recording"}, headers=ps_admin.headers
    )
    assert (await issue(client, ps_operator, device, live))["consent_required"] is True
    async with db.transaction() as session:
        await session.execute(
            update(DeviceStateRow)
            .where(DeviceStateRow.recorder_id == device.identity.device_id)
            .values(recording=True)
        )
    assert (await issue(client, ps_operator, device, live))["consent_required"] is False

    other = await client.get(
        f"{API}/command-policies/{TRAFFIC_POLICE}", headers=ps_operator.headers
    )
    assert other.status_code == 404


async def test_https_poll_ack_and_outcome(
    db: Database, client: httpx.AsyncClient, ps_operator: Actor
) -> None:
    device = await make_enrolled(db)
    created = await issue(client, ps_operator, device, {"kind": "start_recording"})
    command_id = created["id"]

    polled = await client.get(f"{API}/self/commands", headers=device.headers)
    assert polled.status_code == 200
    assert polled.json() == {
        "items": [
            {
                "type": "command",
                "command_id": command_id,
                "kind": "start_recording",
                "params": {},
                "consent_required": False,
                "expires_at": created["expires_at"].replace("+00:00", "Z"),
            }
        ]
    }
    again = await client.get(f"{API}/self/commands", headers=device.headers)
    assert [c["command_id"] for c in again.json()["items"]] == [command_id]  # until acknowledged

    first = await ack(client, device, command_id, "acknowledged")
    assert first.json() == {"command_id": command_id, "state": "acknowledged", "duplicate": False}
    repeat = await ack(client, device, command_id, "acknowledged")
    assert repeat.json()["duplicate"] is True
    assert (await client.get(f"{API}/self/commands", headers=device.headers)).json() == {
        "items": []
    }
    done = await ack(client, device, command_id, "succeeded", detail="recording")
    assert done.json() == {"command_id": command_id, "state": "succeeded", "duplicate": False}
    assert (await ack(client, device, command_id, "succeeded")).json()["duplicate"] is True
    assert (await ack(client, device, command_id, "acknowledged")).json()["duplicate"] is True
    late = await ack(client, device, command_id, "failed")
    assert (late.status_code, late.json()["error"]) == (409, "command_closed")

    command = await read(client, ps_operator, command_id)
    assert (command["state"], command["detail"]) == ("succeeded", "recording")
    assert command["sent_at"] is not None
    assert command["finished_at"] is not None
    assert transitions(command) == [
        (None, "pending", "user", None),
        ("pending", "sent", "platform", "https"),
        ("sent", "acknowledged", "device", "https"),
        ("acknowledged", "succeeded", "device", "https"),
    ]
    assert command["events"][0]["actor_user_id"] == str(ps_operator.user.id)


async def test_the_wearer_rejects_a_live_view(
    db: Database, client: httpx.AsyncClient, ps_operator: Actor
) -> None:
    device = await make_enrolled(db)
    live = await issue(
        client, ps_operator, device, {"kind": "request_live_view", "reason": "SOS follow-up"}
    )
    assert live["consent_required"] is True
    rejected = await ack(client, device, live["id"], "rejected", detail="declined by wearer")
    assert rejected.json()["state"] == "rejected"
    command = await read(client, ps_operator, live["id"])
    assert (command["state"], command["detail"]) == ("rejected", "declined by wearer")
    assert transitions(command)[-1] == ("pending", "rejected", "device", "https")

    text_ = await issue(
        client, ps_operator, device, {"kind": "text_message", "params": {"text": "hi"}}
    )
    wrong = await ack(client, device, text_["id"], "rejected")
    assert (wrong.status_code, wrong.json()["error"]) == (422, "invalid_command_ack")


async def test_cancel_and_list(db: Database, client: httpx.AsyncClient, ps_operator: Actor) -> None:
    device = await make_enrolled(db)
    first = await issue(client, ps_operator, device, {"kind": "locate_now"})
    second = await issue(client, ps_operator, device, {"kind": "start_recording"})
    url = f"{API}/commands/{first['id']}/cancel"
    cancelled = await client.post(url, headers=ps_operator.headers)
    assert cancelled.json()["state"] == "cancelled"
    again = await client.post(url, headers=ps_operator.headers)
    assert (again.status_code, again.json()["error"]) == (409, "command_closed")
    assert (await ack(client, device, first["id"], "acknowledged")).status_code == 409

    listing = f"{API}/{device.identity.device_id}/commands"
    page = await client.get(listing, params={"limit": 1}, headers=ps_operator.headers)
    assert [c["id"] for c in page.json()["items"]] == [second["id"]]
    rest = await client.get(
        listing, params={"cursor": page.json()["next_cursor"]}, headers=ps_operator.headers
    )
    assert [c["id"] for c in rest.json()["items"]] == [first["id"]]
    assert rest.json()["next_cursor"] is None
    only = await client.get(listing, params={"state": "cancelled"}, headers=ps_operator.headers)
    assert [c["id"] for c in only.json()["items"]] == [first["id"]]


async def test_scope_other_departments_and_other_recorders_get_404(
    db: Database, client: httpx.AsyncClient, ps_operator: Actor, traffic_admin: Actor
) -> None:
    device = await make_enrolled(db)
    created = await issue(client, ps_operator, device, {"kind": "locate_now"})
    stranger = await make_enrolled(db, TRAFFIC_POLICE)
    assert (await send(client, traffic_admin, device, {"kind": "locate_now"})).status_code == 404
    for method, url in [
        ("GET", f"{API}/commands/{created['id']}"),
        ("POST", f"{API}/commands/{created['id']}/cancel"),
        ("GET", f"{API}/{device.identity.device_id}/commands"),
        ("GET", f"{API}/commands/{uuid.uuid4()}"),
    ]:
        response = await client.request(method, url, headers=traffic_admin.headers)
        assert response.status_code == 404, url
    foreign = await ack(client, stranger, created["id"], "acknowledged")
    assert (foreign.status_code, foreign.json()["error"]) == (404, "command_not_found")
    polled = await client.get(f"{API}/self/commands", headers=stranger.headers)
    assert polled.json() == {"items": []}
    assert (await read(client, ps_operator, created["id"]))["state"] == "pending"


async def test_recorders_that_cannot_take_commands_are_409(
    db: Database, client: httpx.AsyncClient, ps_operator: Actor, settings: Settings
) -> None:
    bare = await make_recorder(db)
    response = await client.post(
        f"{API}/{bare.id}/commands", json={"kind": "locate_now"}, headers=ps_operator.headers
    )
    assert (response.status_code, response.json()["error"]) == (409, "recorder_not_enrolled")

    device = await make_enrolled(db)
    settings.devices.commands.max_open_per_recorder = 2
    await issue(client, ps_operator, device, {"kind": "locate_now"})
    await issue(client, ps_operator, device, {"kind": "locate_now"})
    third = await send(client, ps_operator, device, {"kind": "locate_now"})
    assert (third.status_code, third.json()["error"]) == (409, "too_many_open_commands")
