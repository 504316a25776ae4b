"""Access errors.  The two denials carry what was refused so the API can audit them."""

from __future__ import annotations

from citywitness.kit.errors import Conflict, NotFound, PermissionDenied, ValidationFailed


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


class UnknownObjectType(ValidationFailed):
    """Grants cannot name this object type."""

    code = "unknown_object_type"


class PermissionNotGrantable(ValidationFailed):
    """This permission cannot be granted on this object type."""

    code = "permission_not_grantable"


class UnknownGrantee(ValidationFailed):
    """The grantee user or department does not exist."""

    code = "unknown_grantee"


class ExpiryInPast(ValidationFailed):
    """A grant must expire in the future."""

    code = "expiry_in_past"


class GrantAlreadyRevoked(Conflict):
    """The grant was already revoked."""

    code = "grant_revoked"
