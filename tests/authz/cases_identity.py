"""Authorization cases for login, sessions, API tokens, OIDC and users admin (see matrix.py).

The finer rules (own tokens, several departments, clearance, platform admins, CSRF) are
tested in tests/identity/.
"""

from __future__ import annotations

from citywitness.access.levels import Classification, Role
from citywitness.access.permissions import Permission
from citywitness.identity.models import Membership
from citywitness.identity.principals import load_principal
from citywitness.identity.tokens import issue_token
from citywitness.kit.db import Database
from tests.authz.matrix import (
    HOME,
    Actor,
    Case,
    Prepared,
    any_user_case,
    department_case,
    new_id,
    object_case,
    public_case,
)
from tests.factories import PASSWORD, make_user

P = Permission
NO_PROVIDERS = "the matrix app configures no OIDC provider: every name is unknown (404, audited)"


async def login_body(db: Database, _caller: Actor | None) -> Prepared:
    async with db.transaction() as session:
        user = await make_user(session)
    return Prepared(json={"username": user.username, "password": PASSWORD})


async def new_token(_db: Database, _caller: Actor | None) -> Prepared:
    return Prepared(json={"name": "t", "scopes": ["departments:read"], "expires_in_days": 1})


async def home_users_token(db: Database, _caller: Actor | None) -> Prepared:
    async with db.transaction() as session:
        owner = await make_user(session, roles={HOME: [Role.OFFICER]})
        principal = await load_principal(session, owner)
        issued = await issue_token(
            session, principal, name="t", scopes=["evidence:read"], expires_in_days=1
        )
    return Prepared(path={"token_id": str(issued.token.id)})


async def new_user(_db: Database, _caller: Actor | None) -> Prepared:
    return Prepared(
        json={
            "username": f"new-{new_id()[:8]}",
            "display_name": "New User",
            "password": "a long enough password",
            "clearance": "internal",
            "memberships": [{"department_id": str(HOME), "role": "officer"}],
        }
    )


async def _home_user(db: Database) -> tuple[str, str]:
    async with db.transaction() as session:
        user = await make_user(
            session, roles={HOME: [Role.OFFICER]}, clearance=Classification.INTERNAL
        )
        membership = Membership(user_id=user.id, department_id=HOME, role=Role.OPERATOR.value)
        session.add(membership)
        await session.flush()
    return str(user.id), str(membership.id)


async def home_user(db: Database, _caller: Actor | None) -> Prepared:
    user_id, _ = await _home_user(db)
    return Prepared(path={"user_id": user_id})


async def home_user_password(db: Database, _caller: Actor | None) -> Prepared:
    user_id, _ = await _home_user(db)
    return Prepared(path={"user_id": user_id}, json={"password": "a new long password"})


async def home_user_new_role(db: Database, _caller: Actor | None) -> Prepared:
    user_id, _ = await _home_user(db)
    return Prepared(
        path={"user_id": user_id}, json={"department_id": str(HOME), "role": "investigator"}
    )


async def home_membership(db: Database, _caller: Actor | None) -> Prepared:
    user_id, membership_id = await _home_user(db)
    return Prepared(path={"user_id": user_id, "membership_id": membership_id})


async def unknown_provider(_db: Database, _caller: Actor | None) -> Prepared:
    return Prepared(path={"provider": "nope"}, params={"code": "c", "state": "s"})


USER = "/api/v1/users/{user_id}"

CASES: list[Case] = [
    public_case("POST", "/api/v1/auth/login", login_body),
    any_user_case("POST", "/api/v1/auth/logout", success=204),
    any_user_case("GET", "/api/v1/auth/me"),
    any_user_case("GET", "/api/v1/auth/tokens", note="lists only the caller's own tokens"),
    any_user_case("POST", "/api/v1/auth/tokens", new_token, success=201),
    object_case(
        "DELETE",
        "/api/v1/auth/tokens/{token_id}",
        P.USERS_MANAGE,
        home_users_token,
        success=204,
        without=404,
        note="another user's token exists only for users:manage holders in the owner's "
        "departments; revoking your own needs no permission (tests/identity)",
    ),
    department_case(
        "GET",
        "/api/v1/users",
        P.USERS_READ,
        other=200,
        note="the list is filtered: another department's reader sees only their own users",
    ),
    department_case("POST", "/api/v1/users", P.USERS_MANAGE, new_user, success=201),
    object_case("GET", USER, P.USERS_READ, home_user),
    object_case("POST", f"{USER}/disable", P.USERS_MANAGE, home_user),
    object_case("POST", f"{USER}/enable", P.USERS_MANAGE, home_user),
    object_case("POST", f"{USER}/password", P.USERS_MANAGE, home_user_password, success=204),
    object_case("POST", f"{USER}/memberships", P.USERS_MANAGE, home_user_new_role, success=201),
    object_case(
        "DELETE",
        f"{USER}/memberships/{{membership_id}}",
        P.USERS_MANAGE,
        home_membership,
        success=204,
    ),
    public_case("GET", "/api/v1/auth/oidc/providers"),
    public_case(
        "GET",
        "/api/v1/auth/oidc/{provider}/login",
        unknown_provider,
        success=404,
        note=NO_PROVIDERS,
    ),
    public_case(
        "GET",
        "/api/v1/auth/oidc/{provider}/callback",
        unknown_provider,
        success=404,
        note=NO_PROVIDERS,
    ),
]
