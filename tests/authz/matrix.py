"""The authorization matrix: every /api/v1 endpoint, tried by five kinds of caller.

Each endpoint declares one `Case` in a `tests/authz/cases_<domain>.py` module (exported as
`CASES`).  `test_matrix.py` runs every case with each caller kind and asserts the exact
status, and that a denied call changed nothing in the database (every table but the audit
trail and the job queue is fingerprinted before and after).  `test_every_route_has_a_case`
fails when an endpoint is added without a case.

Caller kinds (HOME is the department that owns the target object):
- ANONYMOUS: no credentials.
- OTHER_DEPARTMENT: every non-admin role, but in another department (TRAFFIC_POLICE).
- WITHOUT_PERMISSION: roles in HOME none of which carries `permission` (when every role
  carries it, an API token whose scopes leave it out).
- WITH_PERMISSION: every non-admin role in HOME that carries `permission`, clearance SECRET.
- LOW_CLEARANCE: as WITH_PERMISSION but clearance PUBLIC (only for classified targets).

`prepare(db, caller)` creates what the call needs (committed into the test's transaction),
owned by HOME, and returns the path parameters, query and body.  It runs once per caller,
so a successful call never affects the next caller's attempt.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from citywitness.access.levels import Classification, Role
from citywitness.access.permissions import ROLE_PERMISSIONS, Permission
from citywitness.kit.db import Database
from tests.factories import PUBLIC_SECURITY, TRAFFIC_POLICE, Actor, make_actor

HOME = PUBLIC_SECURITY
OTHER = TRAFFIC_POLICE


class Caller(enum.StrEnum):
    ANONYMOUS = "anonymous"
    OTHER_DEPARTMENT = "other_department"
    WITHOUT_PERMISSION = "without_permission"
    WITH_PERMISSION = "with_permission"
    LOW_CLEARANCE = "low_clearance"


@dataclass(frozen=True)
class Prepared:
    path: dict[str, str] = field(default_factory=dict)
    json: Any = None
    params: dict[str, str] | None = None
    headers: dict[str, str] | None = None  # protocol headers (e.g. tus), beside the caller's
    content: bytes | None = None  # a raw body instead of `json`


Prepare = Callable[[Database, Actor | None], Awaitable[Prepared]]


async def nothing(_db: Database, _caller: Actor | None) -> Prepared:
    return Prepared()


@dataclass(frozen=True)
class Case:
    """One endpoint: what it needs and the exact status each caller kind gets.

    `expect` maps a caller kind to its status; kinds left out are not tried (say why in
    `note`, e.g. a target without classification has no LOW_CLEARANCE row).
    """

    method: str
    route: str
    permission: Permission | None
    expect: dict[Caller, int]
    prepare: Prepare = nothing
    note: str = ""
    # A 404 that means "nothing there", not "not yours": no denial is audited for it.
    absent_is_not_denial: bool = False

    @property
    def id(self) -> str:
        return f"{self.method} {self.route}"


def roles_with(permission: Permission) -> list[Role]:
    return [r for r in Role if r is not Role.PLATFORM_ADMIN and permission in ROLE_PERMISSIONS[r]]


def roles_without(permission: Permission) -> list[Role]:
    return [
        r for r in Role if r is not Role.PLATFORM_ADMIN and permission not in ROLE_PERMISSIONS[r]
    ]


NON_ADMIN_ROLES = [r for r in Role if r is not Role.PLATFORM_ADMIN]


async def make_caller(db: Database, kind: Caller, permission: Permission | None) -> Actor | None:
    if kind is Caller.ANONYMOUS:
        return None
    if kind is Caller.OTHER_DEPARTMENT:
        return await make_actor(db, roles={OTHER: NON_ADMIN_ROLES})
    if permission is None:
        roles = NON_ADMIN_ROLES
    elif kind is Caller.WITHOUT_PERMISSION:
        roles = roles_without(permission)
        if not roles:
            everything = [p for p in Permission if p is not permission]
            held = {p for r in NON_ADMIN_ROLES for p in ROLE_PERMISSIONS[r]}
            return await make_actor(
                db, roles={HOME: NON_ADMIN_ROLES}, scopes=[p for p in everything if p in held]
            )
    else:
        roles = roles_with(permission)
    clearance = Classification.PUBLIC if kind is Caller.LOW_CLEARANCE else Classification.SECRET
    return await make_actor(db, roles={HOME: roles}, clearance=clearance)


def object_case(
    method: str,
    route: str,
    permission: Permission,
    prepare: Prepare,
    *,
    success: int = 200,
    without: int = 403,
    classified: bool = False,
    note: str = "",
) -> Case:
    """An endpoint on one object owned by HOME: out of scope is 404."""
    expect = {
        Caller.ANONYMOUS: 401,
        Caller.OTHER_DEPARTMENT: 404,
        Caller.WITHOUT_PERMISSION: without,
        Caller.WITH_PERMISSION: success,
    }
    if classified:
        expect[Caller.LOW_CLEARANCE] = 404
    return Case(method, route, permission, expect, prepare, note)


def department_case(
    method: str,
    route: str,
    permission: Permission,
    prepare: Prepare = nothing,
    *,
    success: int = 200,
    other: int = 403,
    without: int = 403,
    note: str = "",
) -> Case:
    """An endpoint acting in HOME (named in the path or body), or listing what is in scope."""
    expect = {
        Caller.ANONYMOUS: 401,
        Caller.OTHER_DEPARTMENT: other,
        Caller.WITHOUT_PERMISSION: without,
        Caller.WITH_PERMISSION: success,
    }
    return Case(method, route, permission, expect, prepare, note)


def any_user_case(
    method: str,
    route: str,
    prepare: Prepare = nothing,
    *,
    success: int = 200,
    note: str = "",
    absent_is_not_denial: bool = False,
) -> Case:
    """An endpoint any authenticated user may call, about themselves."""
    expect = {
        Caller.ANONYMOUS: 401,
        Caller.OTHER_DEPARTMENT: success,
        Caller.WITH_PERMISSION: success,
    }
    return Case(method, route, None, expect, prepare, note, absent_is_not_denial)


def public_case(
    method: str, route: str, prepare: Prepare = nothing, *, success: int = 200, note: str = ""
) -> Case:
    """An endpoint open to anyone (login, health); it still gets its anonymous row."""
    return Case(method, route, None, {Caller.ANONYMOUS: success}, prepare, note)


def new_id() -> str:
    return str(uuid.uuid4())
