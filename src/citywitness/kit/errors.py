"""One error type that carries its HTTP status and renders one way.

Services raise specific subclasses; the API's single handler renders
`{"error": code, "detail": ..., "fields": ...}`.
"""

from __future__ import annotations

from typing import Any, ClassVar


class AppError(Exception):
    """An error a client can understand: a stable machine code, a status and a message."""

    code: ClassVar[str] = "error"
    status: ClassVar[int] = 400

    def __init__(
        self,
        detail: str | None = None,
        *,
        fields: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.detail = detail or self.__class__.__doc__ or self.code
        self.fields = fields
        self.headers = headers or {}
        super().__init__(self.detail)

    def body(self) -> dict[str, Any]:
        return {"error": self.code, "detail": self.detail, "fields": self.fields}


class BadRequest(AppError):
    """The request is not valid."""

    code = "bad_request"
    status = 400


class ValidationFailed(AppError):
    """Some fields are not valid."""

    code = "validation_failed"
    status = 422


class NotAuthenticated(AppError):
    """Authentication is required."""

    code = "not_authenticated"
    status = 401


class PermissionDenied(AppError):
    """You may not do this."""

    code = "permission_denied"
    status = 403


class NotFound(AppError):
    """No such object."""

    code = "not_found"
    status = 404


class Conflict(AppError):
    """The request conflicts with the current state."""

    code = "conflict"
    status = 409


class PayloadTooLarge(AppError):
    """The request body is too large."""

    code = "payload_too_large"
    status = 413


class TooManyRequests(AppError):
    """Too many attempts; try again later."""

    code = "too_many_requests"
    status = 429
