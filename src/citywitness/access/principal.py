"""Who is asking: the user, their clearance and their permissions per department."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from citywitness.access.levels import Classification, Role
from citywitness.access.permissions import Permission, permissions_for


@dataclass(frozen=True)
class Principal:
    """An authenticated caller.

    `roles` maps department id to the roles held there.  A platform admin holds every
    permission in every department.  `scopes` limits an API token to a subset of
    permissions (None: a console session, limited only by roles).
    """

    user_id: uuid.UUID
    username: str
    clearance: Classification
    roles: dict[uuid.UUID, frozenset[Role]] = field(default_factory=dict)
    scopes: frozenset[Permission] | None = None
    auth_method: str = "session"

    @property
    def is_platform_admin(self) -> bool:
        return any(Role.PLATFORM_ADMIN in roles for roles in self.roles.values())

    def _allowed(self, permission: Permission) -> bool:
        return self.scopes is None or permission in self.scopes

    def departments_with(self, permission: Permission) -> frozenset[uuid.UUID] | None:
        """Departments where the caller holds `permission`; None means every department."""
        if not self._allowed(permission):
            return frozenset()
        if self.is_platform_admin:
            return None
        return frozenset(
            dept
            for dept, roles in self.roles.items()
            if any(permission in permissions_for(role) for role in roles)
        )

    def has_anywhere(self, permission: Permission) -> bool:
        depts = self.departments_with(permission)
        return depts is None or len(depts) > 0

    def has_in(self, permission: Permission, department_id: uuid.UUID | None) -> bool:
        depts = self.departments_with(permission)
        if depts is None:
            return True
        return department_id is not None and department_id in depts

    def all_permissions(self) -> frozenset[Permission]:
        return frozenset(p for p in Permission if self.has_anywhere(p))
