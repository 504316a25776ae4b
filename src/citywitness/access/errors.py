"""Access errors.  Both carry what was refused so the API can audit the denial."""

from __future__ import annotations

from citywitness.kit.errors import NotFound, PermissionDenied


class Denied:
    """Mixin: what was refused (action, object), recorded in the audit trail."""

    action: str = ""
    object_type: str | None = None
    object_id: str | None = None

    def refusing(self, action: str, object_type: str | None, object_id: str | None) -> None:
        self.action = action
        self.object_type = object_type
        self.object_id = object_id


class ObjectNotVisible(NotFound, Denied):
    """No such object."""

    code = "not_found"


class ActionForbidden(PermissionDenied, Denied):
    """You may not do this."""

    code = "permission_denied"
