"""Every branch of the access checks that need no database (see test_filters.py for SQL)."""

from __future__ import annotations

import uuid

import pytest

from citywitness.access.errors import ActionForbidden, ObjectNotVisible
from citywitness.access.levels import Classification, Role
from citywitness.access.permissions import ROLE_PERMISSIONS, Permission
from citywitness.access.principal import Principal
from citywitness.access.service import (
    ensure_permitted,
    ensure_permitted_in_all,
    ensure_visible,
    ensure_visible_in_any,
    require,
    require_global,
)
from tests.factories import PUBLIC_SECURITY, TRAFFIC_POLICE, URBAN_MANAGEMENT

P = Permission
LEVELS = list(Classification)


def principal(
    roles: dict[uuid.UUID, list[Role]] | None = None,
    *,
    clearance: Classification = Classification.SECRET,
    scopes: list[Permission] | None = None,
) -> Principal:
    return Principal(
        user_id=uuid.uuid4(),
        username="someone",
        clearance=clearance,
        roles={d: frozenset(r) for d, r in (roles or {}).items()},
        scopes=frozenset(scopes) if scopes is not None else None,
    )


ADMIN = principal({URBAN_MANAGEMENT: [Role.PLATFORM_ADMIN]})
OFFICER_PS = principal({PUBLIC_SECURITY: [Role.OFFICER]})
MIXED = principal({PUBLIC_SECURITY: [Role.OFFICER], TRAFFIC_POLICE: [Role.DEPARTMENT_ADMIN]})


def test_platform_admin_holds_everything_everywhere() -> None:
    assert ADMIN.is_platform_admin
    assert all(ADMIN.departments_with(p) is None for p in Permission)
    assert ADMIN.has_in(P.DEVICES_MANAGE, TRAFFIC_POLICE)
    assert ADMIN.has_in(P.DEVICES_MANAGE, None)
    assert ADMIN.all_permissions() == frozenset(Permission)


def test_platform_admin_token_is_narrowed_by_its_scopes() -> None:
    token = principal({URBAN_MANAGEMENT: [Role.PLATFORM_ADMIN]}, scopes=[P.OFFICERS_READ])
    assert token.departments_with(P.OFFICERS_READ) is None
    assert token.departments_with(P.OFFICERS_MANAGE) == frozenset()
    assert not token.has_in(P.OFFICERS_MANAGE, URBAN_MANAGEMENT)
    assert not token.has_anywhere(P.OFFICERS_MANAGE)
    assert token.all_permissions() == frozenset({P.OFFICERS_READ})


def test_scoped_roles_give_permissions_only_where_held() -> None:
    assert not MIXED.is_platform_admin
    assert MIXED.departments_with(P.OFFICERS_READ) == {PUBLIC_SECURITY, TRAFFIC_POLICE}
    assert MIXED.departments_with(P.OFFICERS_MANAGE) == {TRAFFIC_POLICE}
    assert MIXED.departments_with(P.AUDIT_READ) == frozenset()
    assert MIXED.has_in(P.OFFICERS_MANAGE, TRAFFIC_POLICE)
    assert not MIXED.has_in(P.OFFICERS_MANAGE, PUBLIC_SECURITY)
    assert not MIXED.has_in(P.OFFICERS_READ, URBAN_MANAGEMENT)
    expected = ROLE_PERMISSIONS[Role.OFFICER] | ROLE_PERMISSIONS[Role.DEPARTMENT_ADMIN]
    assert MIXED.all_permissions() == expected


def test_has_in_with_no_department_is_false_unless_platform_wide() -> None:
    assert not MIXED.has_in(P.OFFICERS_READ, None)
    assert not principal().has_in(P.OFFICERS_READ, None)
    assert ADMIN.has_in(P.OFFICERS_READ, None)


def test_token_scopes_narrow_scoped_roles() -> None:
    token = principal({TRAFFIC_POLICE: [Role.DEPARTMENT_ADMIN]}, scopes=[P.OFFICERS_READ])
    assert token.departments_with(P.OFFICERS_READ) == {TRAFFIC_POLICE}
    assert token.departments_with(P.OFFICERS_MANAGE) == frozenset()
    assert not token.has_anywhere(P.OFFICERS_MANAGE)


def test_user_without_memberships_holds_nothing() -> None:
    nobody = principal()
    assert nobody.departments_with(P.OFFICERS_READ) == frozenset()
    assert nobody.all_permissions() == frozenset()


def test_require_passes_with_the_permission_anywhere() -> None:
    require(MIXED, P.OFFICERS_MANAGE)
    require(ADMIN, P.AUDIT_READ)


def test_require_refuses_and_names_the_action() -> None:
    with pytest.raises(ActionForbidden) as caught:
        require(MIXED, P.AUDIT_READ, action="audit.read")
    assert (caught.value.action, caught.value.object_type, caught.value.object_id) == (
        "audit.read",
        None,
        None,
    )
    assert caught.value.status == 403
    with pytest.raises(ActionForbidden) as default:
        require(principal(), P.OFFICERS_READ)
    assert default.value.action == "officers:read"


def test_require_global_needs_the_permission_platform_wide() -> None:
    require_global(ADMIN, P.DEPARTMENTS_MANAGE)
    with pytest.raises(ActionForbidden) as caught:
        require_global(MIXED, P.OFFICERS_READ, action="departments.create")
    assert caught.value.action == "departments.create"
    scoped_out = principal({URBAN_MANAGEMENT: [Role.PLATFORM_ADMIN]}, scopes=[P.OFFICERS_READ])
    with pytest.raises(ActionForbidden) as narrowed:
        require_global(scoped_out, P.DEPARTMENTS_MANAGE)
    assert narrowed.value.action == "departments:manage"


def _visible(
    who: Principal,
    department_id: uuid.UUID | None,
    classification: Classification = Classification.PUBLIC,
    *,
    granted: bool = False,
) -> bool:
    try:
        ensure_visible(
            who,
            P.OFFICERS_READ,
            department_id=department_id,
            classification=classification,
            object_type="thing",
            object_id="t-1",
            granted=granted,
        )
    except ObjectNotVisible as exc:
        assert (exc.action, exc.object_type, exc.object_id) == ("officers:read", "thing", "t-1")
        assert exc.status == 404
        return False
    return True


def test_ensure_visible_by_department() -> None:
    assert _visible(OFFICER_PS, PUBLIC_SECURITY)
    assert not _visible(OFFICER_PS, TRAFFIC_POLICE)
    assert not _visible(OFFICER_PS, None)
    assert _visible(ADMIN, TRAFFIC_POLICE)
    assert _visible(ADMIN, None)


def test_ensure_visible_by_grant() -> None:
    assert _visible(OFFICER_PS, TRAFFIC_POLICE, granted=True)
    assert _visible(principal(), None, granted=True)


@pytest.mark.parametrize("clearance", LEVELS, ids=[c.label for c in LEVELS])
@pytest.mark.parametrize("classification", LEVELS, ids=[c.label for c in LEVELS])
def test_ensure_visible_clearance_against_classification(
    clearance: Classification, classification: Classification
) -> None:
    who = principal({PUBLIC_SECURITY: [Role.OFFICER]}, clearance=clearance)
    admin = principal({PUBLIC_SECURITY: [Role.PLATFORM_ADMIN]}, clearance=clearance)
    expected = classification <= clearance
    assert _visible(who, PUBLIC_SECURITY, classification) is expected
    assert _visible(admin, PUBLIC_SECURITY, classification) is expected
    assert _visible(who, TRAFFIC_POLICE, classification, granted=True) is expected
    assert _visible(who, PUBLIC_SECURITY, int(classification)) is expected  # type: ignore[arg-type]


def _permitted(who: Principal, department_id: uuid.UUID | None, *, granted: bool = False) -> bool:
    try:
        ensure_permitted(
            who,
            P.OFFICERS_MANAGE,
            department_id=department_id,
            object_type="officer",
            object_id=uuid.UUID(int=7),
            granted=granted,
        )
    except ActionForbidden as exc:
        assert (exc.action, exc.object_type, exc.object_id) == (
            "officers:manage",
            "officer",
            str(uuid.UUID(int=7)),
        )
        return False
    return True


def test_ensure_permitted_branches() -> None:
    assert _permitted(MIXED, TRAFFIC_POLICE)
    assert not _permitted(MIXED, PUBLIC_SECURITY)
    assert _permitted(MIXED, PUBLIC_SECURITY, granted=True)
    assert not _permitted(MIXED, None)
    assert _permitted(ADMIN, None)


def _visible_in_any(who: Principal, departments: list[uuid.UUID]) -> bool:
    try:
        ensure_visible_in_any(
            who, P.USERS_READ, department_ids=departments, object_type="user", object_id="u"
        )
    except ObjectNotVisible as exc:
        assert (exc.action, exc.object_type, exc.object_id) == ("users:read", "user", "u")
        return False
    return True


def test_ensure_visible_in_any_branches() -> None:
    assert _visible_in_any(MIXED, [PUBLIC_SECURITY, TRAFFIC_POLICE])
    assert not _visible_in_any(MIXED, [PUBLIC_SECURITY])
    assert not _visible_in_any(MIXED, [])
    assert _visible_in_any(ADMIN, [])


def _permitted_in_all(who: Principal, departments: list[uuid.UUID]) -> bool:
    try:
        ensure_permitted_in_all(
            who, P.USERS_MANAGE, department_ids=departments, object_type="user", object_id="u"
        )
    except ActionForbidden as exc:
        assert (exc.action, exc.object_type, exc.object_id) == ("users:manage", "user", "u")
        return False
    return True


def test_ensure_permitted_in_all_branches() -> None:
    assert _permitted_in_all(MIXED, [TRAFFIC_POLICE])
    assert not _permitted_in_all(MIXED, [TRAFFIC_POLICE, PUBLIC_SECURITY])
    assert not _permitted_in_all(MIXED, [])
    assert _permitted_in_all(ADMIN, [])
    assert _permitted_in_all(ADMIN, [TRAFFIC_POLICE, PUBLIC_SECURITY])
