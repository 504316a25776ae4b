"""Authorization cases for commands to recorders (see matrix.py).

A command belongs to its recorder's department (HOME): reading needs devices:read there
(else 404), issuing and cancelling devices:command (403 for a caller who can see the
recorder), the department's consent policy is read with devices:read and set with
devices:manage.  The recorder-side routes take a device credential: user callers get 401.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from citywitness.access.permissions import Permission
from citywitness.devices.commands_models import DeviceCommand
from citywitness.kit.clock import utcnow
from citywitness.kit.db import Database
from tests.authz.matrix import HOME, Caller, Case, Prepared, object_case
from tests.devices.helpers import make_enrolled
from tests.factories import Actor

P = Permission
ONE = "/api/v1/devices/{recorder_id}/commands"
COMMAND = "/api/v1/devices/commands/{command_id}"
POLICY = "/api/v1/devices/command-policies/{department_id}"


async def enrolled_recorder(db: Database, _caller: Actor | None) -> Prepared:
    device = await make_enrolled(db, HOME)
    return Prepared(path={"recorder_id": str(device.identity.device_id)})


async def new_command(db: Database, caller: Actor | None) -> Prepared:
    found = await enrolled_recorder(db, caller)
    return Prepared(path=found.path, json={"kind": "locate_now", "reason": "check in"})


async def pending_command(db: Database, _caller: Actor | None) -> Prepared:
    device = await make_enrolled(db, HOME)
    now = utcnow()
    command_id = uuid.uuid4()
    async with db.transaction() as session:
        session.add(
            DeviceCommand(
                id=command_id,
                recorder_id=device.identity.device_id,
                department_id=HOME,
                kind="start_recording",
                params={},
                consent_required=False,
                state="pending",
                created_at=now,
                updated_at=now,
                expires_at=now + timedelta(minutes=5),
                attempts=0,
            )
        )
    return Prepared(path={"command_id": str(command_id)}, json={"status": "acknowledged"})


async def home_policy(_db: Database, _caller: Actor | None) -> Prepared:
    return Prepared(path={"department_id": str(HOME)}, json={"live_view_consent": "never"})


def device_case(method: str, route: str, prepare: object) -> Case:
    """A recorder-side route: user credentials are not device credentials."""
    expect = {Caller.ANONYMOUS: 401, Caller.OTHER_DEPARTMENT: 401, Caller.WITH_PERMISSION: 401}
    return Case(method, route, None, expect, prepare, "needs Authorization: Device")  # type: ignore[arg-type]


CASES: list[Case] = [
    object_case("POST", ONE, P.DEVICES_COMMAND, new_command, success=202),
    object_case("GET", ONE, P.DEVICES_READ, enrolled_recorder, without=404),
    object_case("GET", COMMAND, P.DEVICES_READ, pending_command, without=404),
    object_case("POST", COMMAND + "/cancel", P.DEVICES_COMMAND, pending_command),
    object_case("GET", POLICY, P.DEVICES_READ, home_policy, without=404),
    object_case("PUT", POLICY, P.DEVICES_MANAGE, home_policy),
    device_case("GET", "/api/v1/devices/self/commands", enrolled_recorder),
    device_case("POST", "/api/v1/devices/self/commands/{command_id}/ack", pending_command),
]
