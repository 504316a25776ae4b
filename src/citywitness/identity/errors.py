"""Identity errors."""

from __future__ import annotations

from citywitness.access.errors import ActionForbidden, ObjectNotVisible
from citywitness.kit.errors import (
    AppError,
    BadRequest,
    Conflict,
    NotAuthenticated,
    PermissionDenied,
    TooManyRequests,
    ValidationFailed,
)


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


class InvalidUsername(ValidationFailed):
    """Usernames are 3 to 80 characters of a-z, 0-9, '.', '_' and '-'."""

    code = "invalid_username"


class UnknownDepartment(ValidationFailed):
    """No such department."""

    code = "unknown_department"


class TokenLifetimeTooLong(ValidationFailed):
    """The token would live longer than auth.token_max_days allows."""

    code = "token_lifetime_too_long"


class CannotDisableSelf(Conflict):
    """You cannot disable your own account."""

    code = "cannot_disable_self"


class ClearanceAboveOwn(ActionForbidden):
    """You cannot give anyone a clearance above your own."""

    code = "clearance_above_own"


class PlatformAdminRequired(ActionForbidden):
    """Only a platform admin may do this to a platform admin role or account."""

    code = "platform_admin_required"


class AccountDisabled(PermissionDenied):
    """This account is disabled."""

    code = "account_disabled"


class InvalidReturnTo(ValidationFailed):
    """return_to must be a path on this site (starting with a single '/')."""

    code = "invalid_return_to"


class OidcProviderUnknown(ObjectNotVisible):
    """No such identity provider."""

    code = "oidc_provider_unknown"


class OidcStateInvalid(BadRequest):
    """The login is unknown, expired or already used; start again."""

    code = "oidc_state_invalid"


class OidcLoginRefused(NotAuthenticated):
    """The identity provider refused the login."""

    code = "oidc_login_refused"


class OidcCodeRejected(NotAuthenticated):
    """The identity provider did not accept the authorization code."""

    code = "oidc_code_rejected"


class OidcTokenInvalid(NotAuthenticated):
    """The ID token failed validation (signature, issuer, audience, expiry or nonce)."""

    code = "oidc_token_invalid"


class OidcUserUnknown(PermissionDenied):
    """This external identity is not linked to a CityWitness user."""

    code = "oidc_user_unknown"


class OidcUsernameTaken(Conflict):
    """A different user already has the username this identity would get."""

    code = "oidc_username_taken"


class OidcProviderUnavailable(AppError):
    """The identity provider could not be reached or answered nonsense."""

    code = "oidc_provider_unavailable"
    status = 502


OIDC_LOGIN_ERRORS = (
    OidcStateInvalid,
    OidcLoginRefused,
    OidcCodeRejected,
    OidcTokenInvalid,
    OidcUserUnknown,
    OidcUsernameTaken,
    OidcProviderUnavailable,
    AccountDisabled,
)
"""Errors that end an OIDC callback; each is audited as a failed login."""
