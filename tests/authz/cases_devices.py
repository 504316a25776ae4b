"""Authorization cases for recorders (see matrix.py).

A recorder belongs to HOME; reading needs devices:read there (else 404), positions need
devices:track (else 404), changing needs devices:manage and binding devices:bind (403 for
a caller who can see the recorder).  The recorder-side routes take a device credential
(`Authorization: Device ...`), never a user's: every user caller gets 401.
"""

from __future__ import annotations

import uuid

from citywitness.access.permissions import Permission
from citywitness.devices.enrollment import code_hash
from citywitness.devices.models import EnrollmentCode, RecorderBinding
from citywitness.kit.clock import utcnow
from citywitness.kit.db import Database
from tests.authz.matrix import (
    HOME,
    Actor,
    Caller,
    Case,
    Prepared,
    department_case,
    object_case,
    public_case,
)
from tests.devices.helpers import make_officer, make_recorder, new_serial, now, telemetry_body

P = Permission
CODE = "ABCDE-FGHJK"


async def new_recorder(_db: Database, _caller: Actor | None) -> Prepared:
    return Prepared(json={"serial": new_serial(), "department_id": str(HOME)})


async def home_recorder(db: Database, _caller: Actor | None) -> Prepared:
    recorder = await make_recorder(db, HOME)
    return Prepared(path={"recorder_id": str(recorder.id)})


async def patch_recorder(db: Database, caller: Actor | None) -> Prepared:
    found = await home_recorder(db, caller)
    return Prepared(path=found.path, json={"notes": "checked"})


async def bind_recorder(db: Database, caller: Actor | None) -> Prepared:
    found = await home_recorder(db, caller)
    return Prepared(path=found.path, json={"officer_id": str(await make_officer(db, HOME))})


async def bound_recorder(db: Database, _caller: Actor | None) -> Prepared:
    recorder = await make_recorder(db, HOME)
    officer = await make_officer(db, HOME)
    async with db.transaction() as session:
        session.add(
            RecorderBinding(recorder_id=recorder.id, officer_id=officer, started_at=utcnow())
        )
    return Prepared(path={"recorder_id": str(recorder.id)}, json={})


async def pending_enrollment(db: Database, _caller: Actor | None) -> Prepared:
    recorder = await make_recorder(db, HOME)
    async with db.transaction() as session:
        session.add(
            EnrollmentCode(
                id=uuid.uuid4(),
                recorder_id=recorder.id,
                code_hash=code_hash(recorder.id, CODE),
                expires_at=utcnow().replace(year=utcnow().year + 1),
                failed_attempts=0,
            )
        )
    return Prepared(json={"serial": recorder.serial, "code": CODE})


async def telemetry(_db: Database, _caller: Actor | None) -> Prepared:
    return Prepared(json=telemetry_body())


async def event(_db: Database, _caller: Actor | None) -> Prepared:
    return Prepared(json={"msg_id": "e1", "kind": "sos", "at": now().isoformat()})


async def status(_db: Database, _caller: Actor | None) -> Prepared:
    return Prepared(json={"msg_id": "s1", "state": "online"})


def device_case(route: str, prepare: object) -> Case:
    """A recorder-side route: user credentials are not device credentials."""
    expect = {Caller.ANONYMOUS: 401, Caller.OTHER_DEPARTMENT: 401, Caller.WITH_PERMISSION: 401}
    return Case("POST", route, None, expect, prepare, "needs Authorization: Device")  # type: ignore[arg-type]


ONE = "/api/v1/devices/{recorder_id}"

CASES: list[Case] = [
    department_case(
        "GET",
        "/api/v1/devices",
        P.DEVICES_READ,
        other=200,
        note="the list holds only recorders in scope (tests/devices/test_registry.py)",
    ),
    department_case("POST", "/api/v1/devices", P.DEVICES_MANAGE, new_recorder, success=201),
    object_case("GET", ONE, P.DEVICES_READ, home_recorder, without=404),
    object_case("PATCH", ONE, P.DEVICES_MANAGE, patch_recorder),
    object_case("POST", ONE + "/enrollment-code", P.DEVICES_MANAGE, home_recorder, success=201),
    object_case("POST", ONE + "/revoke", P.DEVICES_MANAGE, home_recorder),
    object_case("POST", ONE + "/binding", P.DEVICES_BIND, bind_recorder, success=201),
    object_case("POST", ONE + "/unbind", P.DEVICES_BIND, bound_recorder),
    object_case("GET", ONE + "/bindings", P.DEVICES_READ, home_recorder, without=404),
    object_case("GET", ONE + "/positions", P.DEVICES_TRACK, home_recorder, without=404),
    object_case("GET", ONE + "/events", P.DEVICES_READ, home_recorder, without=404),
    public_case(
        "POST",
        "/api/v1/devices/enroll",
        pending_enrollment,
        note="no caller credentials; the code is the proof",
    ),
    device_case("/api/v1/devices/self/telemetry", telemetry),
    device_case("/api/v1/devices/self/events", event),
    device_case("/api/v1/devices/self/status", status),
]
