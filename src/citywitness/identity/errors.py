"""Identity errors."""

from __future__ import annotations

from citywitness.kit.errors import Conflict, NotAuthenticated, TooManyRequests, ValidationFailed


class UsernameTaken(Conflict):
    """That username is already in use."""

    code = "username_taken"


class WeakPassword(ValidationFailed):
    """The password is too short."""

    code = "weak_password"


class LoginFailed(NotAuthenticated):
    """Wrong username or password."""

    code = "login_failed"


class AccountLocked(TooManyRequests):
    """Too many failed logins; the account is locked for a while."""

    code = "account_locked"


class InvalidScopes(ValidationFailed):
    """A scope is not a permission, or not one you hold."""

    code = "invalid_scopes"
