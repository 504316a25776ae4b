"""Errors of the devices domain."""

from __future__ import annotations

from citywitness.kit.errors import AppError, Conflict, NotAuthenticated, ValidationFailed


class InvalidDeviceMessage(ValidationFailed):
    """The device message is not valid; see fields."""

    code = "invalid_device_message"
    status = 422


class SerialTaken(Conflict):
    """A recorder with this serial number already exists."""

    code = "serial_taken"


class RecorderRetired(Conflict):
    """The recorder is retired; reactivate it first."""

    code = "recorder_retired"


class RecorderAlreadyBound(Conflict):
    """The recorder already has an open shift binding; unbind it first."""

    code = "recorder_already_bound"


class OfficerAlreadyBound(Conflict):
    """The officer already wears another recorder in an open shift binding."""

    code = "officer_already_bound"


class OfficerNotInDepartment(AppError):
    """The officer does not belong to the recorder's department, or is inactive."""

    code = "officer_not_in_department"
    status = 422


class NotBound(Conflict):
    """The recorder has no open shift binding."""

    code = "not_bound"


class EnrollmentFailed(NotAuthenticated):
    """Unknown serial, wrong, used or expired code (one answer for all, on purpose)."""

    code = "enrollment_failed"


class DeviceAuthFailed(NotAuthenticated):
    """Missing, unknown or revoked credential; send Authorization: Device <serial>:<secret>."""

    code = "device_auth_failed"
