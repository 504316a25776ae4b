"""Enrollment codes, enrollment, device credentials and revocation, through the API."""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx
from sqlalchemy import select, update

from citywitness.audit.models import AuditEvent
from citywitness.devices.credentials import authenticate_device
from citywitness.devices.enrollment import normalize_code
from citywitness.devices.models import DeviceCredential, EnrollmentCode
from citywitness.kit.db import Database
from citywitness.kit.hashing import sha256_hex
from tests.devices.helpers import make_recorder, telemetry_body
from tests.factories import Actor


async def _code(client: httpx.AsyncClient, admin: Actor, recorder_id: uuid.UUID) -> str:
    r = await client.post(f"/api/v1/devices/{recorder_id}/enrollment-code", headers=admin.headers)
    assert r.status_code == 201, r.text
    code: str = r.json()["code"]
    return code


async def _enroll(client: httpx.AsyncClient, serial: str, code: str) -> httpx.Response:
    return await client.post("/api/v1/devices/enroll", json={"serial": serial, "code": code})


async def test_enroll_happy_path(client: httpx.AsyncClient, db: Database, ps_admin: Actor) -> None:
    recorder = await make_recorder(db)
    code = await _code(client, ps_admin, recorder.id)
    assert len(code) == 11 and code[5] == "-"
    r = await _enroll(client, recorder.serial, code.lower().replace("-", " "))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["recorder_id"] == str(recorder.id)
    assert body["department_code"] == "public-security"
    assert body["mqtt_username"] == recorder.serial
    assert body["topic_prefix"] == f"cw/public-security/{recorder.serial}/"
    secret = body["secret"]
    assert body["http_authorization"] == f"Device {recorder.serial}:{secret}"
    async with db.transaction() as session:
        creds = list(
            await session.scalars(
                select(DeviceCredential).where(DeviceCredential.recorder_id == recorder.id)
            )
        )
        assert [c.secret_hash for c in creds] == [sha256_hex(secret)]  # only the hash is kept
        stored = await session.scalar(
            select(EnrollmentCode.code_hash).where(EnrollmentCode.recorder_id == recorder.id)
        )
        assert stored is not None and normalize_code(code) not in stored
        identity = await authenticate_device(session, recorder.serial, secret)
        assert identity is not None and identity.device_id == recorder.id
        assert identity.department_code == "public-security"
        assert await authenticate_device(session, recorder.serial, secret + "x") is None
        assert await authenticate_device(session, "NOPE", secret) is None
    # The credential works over HTTPS at once.
    r = await client.post(
        "/api/v1/devices/self/telemetry",
        headers={"Authorization": body["http_authorization"]},
        json=telemetry_body(),
    )
    assert r.status_code == 200, r.text


async def test_every_failure_is_the_same_401(
    client: httpx.AsyncClient, db: Database, ps_admin: Actor
) -> None:
    recorder = await make_recorder(db)
    no_code = await _enroll(client, recorder.serial, "AAAAA-AAAAA")  # no pending code
    unknown = await _enroll(client, "UNKNOWN-SERIAL", "AAAAA-AAAAA")
    code = await _code(client, ps_admin, recorder.id)
    wrong = await _enroll(client, recorder.serial, "00000-00000")
    assert (await _enroll(client, recorder.serial, code)).status_code == 200
    used = await _enroll(client, recorder.serial, code)
    responses = [no_code, unknown, wrong, used]
    assert {r.status_code for r in responses} == {401}
    assert {r.json()["error"] for r in responses} == {"enrollment_failed"}
    assert len({r.json()["detail"] for r in responses}) == 1
    async with db.transaction() as session:
        reasons = list(
            await session.scalars(
                select(AuditEvent.details["reason"].astext)
                .where(
                    AuditEvent.action == "devices.enroll",
                    AuditEvent.outcome == "failure",
                    AuditEvent.details["serial"].astext.in_([recorder.serial, "UNKNOWN-SERIAL"]),
                )
                .order_by(AuditEvent.id)
            )
        )
    assert reasons == ["no_pending_code", "unknown_serial", "wrong_code", "no_pending_code"]


async def test_expired_code_fails(client: httpx.AsyncClient, db: Database, ps_admin: Actor) -> None:
    recorder = await make_recorder(db)
    code = await _code(client, ps_admin, recorder.id)
    async with db.transaction() as session:
        await session.execute(
            update(EnrollmentCode)
            .where(EnrollmentCode.recorder_id == recorder.id)
            .values(expires_at=EnrollmentCode.created_at - timedelta(seconds=1))
        )
    r = await _enroll(client, recorder.serial, code)
    assert (r.status_code, r.json()["error"]) == (401, "enrollment_failed")


async def test_wrong_codes_burn_the_pending_code(
    client: httpx.AsyncClient, db: Database, ps_admin: Actor
) -> None:
    recorder = await make_recorder(db)
    code = await _code(client, ps_admin, recorder.id)
    for _ in range(5):  # devices.enrollment_max_attempts
        assert (await _enroll(client, recorder.serial, "00000-00000")).status_code == 401
    async with db.transaction() as session:
        attempts = await session.scalar(
            select(EnrollmentCode.failed_attempts).where(EnrollmentCode.recorder_id == recorder.id)
        )
    assert attempts == 5  # counted although each attempt answered 401
    assert (await _enroll(client, recorder.serial, code)).status_code == 401  # burned
    fresh = await _code(client, ps_admin, recorder.id)  # a new code replaces it
    assert (await _enroll(client, recorder.serial, fresh)).status_code == 200


async def test_reenrollment_replaces_and_revoke_cuts_off(
    client: httpx.AsyncClient, db: Database, ps_admin: Actor
) -> None:
    recorder = await make_recorder(db)
    first = (
        await _enroll(client, recorder.serial, await _code(client, ps_admin, recorder.id))
    ).json()
    second = (
        await _enroll(client, recorder.serial, await _code(client, ps_admin, recorder.id))
    ).json()
    old = {"Authorization": first["http_authorization"]}
    new = {"Authorization": second["http_authorization"]}
    r = await client.post("/api/v1/devices/self/status", headers=old, json={"msg_id": "s1"})
    assert (r.status_code, r.json()["error"]) == (401, "device_auth_failed")
    assert r.headers["www-authenticate"].startswith("Device")
    r = await client.post("/api/v1/devices/self/status", headers=new, json={"msg_id": "s1"})
    assert r.status_code == 200, r.text

    r = await client.post(f"/api/v1/devices/{recorder.id}/revoke", headers=ps_admin.headers)
    assert r.json() == {"recorder_id": str(recorder.id), "revoked": 1}
    r = await client.post("/api/v1/devices/self/status", headers=new, json={"msg_id": "s2"})
    assert r.status_code == 401
    async with db.transaction() as session:
        assert await authenticate_device(session, recorder.serial, second["secret"]) is None
    r = await client.post(f"/api/v1/devices/{recorder.id}/revoke", headers=ps_admin.headers)
    assert r.json()["revoked"] == 0


async def test_bad_device_authorization_headers(client: httpx.AsyncClient, db: Database) -> None:
    body = {"msg_id": "s1"}
    for header in [
        None,
        "Bearer abc",
        "Device",
        "Device nocolon",
        "Device :secret",
        "Device BWC-1:",
    ]:
        headers = {"Authorization": header} if header else {}
        r = await client.post("/api/v1/devices/self/status", headers=headers, json=body)
        assert (r.status_code, r.json()["error"]) == (401, "device_auth_failed"), header


async def test_retired_recorder_gets_no_code(
    client: httpx.AsyncClient, db: Database, ps_admin: Actor
) -> None:
    recorder = await make_recorder(db)
    r = await client.patch(
        f"/api/v1/devices/{recorder.id}", headers=ps_admin.headers, json={"state": "retired"}
    )
    assert r.status_code == 200
    r = await client.post(
        f"/api/v1/devices/{recorder.id}/enrollment-code", headers=ps_admin.headers
    )
    assert (r.status_code, r.json()["error"]) == (409, "recorder_retired")
