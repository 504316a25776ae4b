"""Agencies errors: each a stable machine code."""

from __future__ import annotations

from citywitness.kit.errors import Conflict, NotFound, ValidationFailed


class DepartmentNotFound(NotFound):
    """No such department."""

    code = "not_found"


class DepartmentCodeTaken(Conflict):
    """Another department already uses this code."""

    code = "department_code_taken"


class UnknownDepartment(ValidationFailed):
    """The department named in the body does not exist."""

    code = "unknown_department"


class UnitCodeTaken(Conflict):
    """The department already has a unit with this code."""

    code = "unit_code_taken"


class UnitNotInDepartment(ValidationFailed):
    """The unit does not exist in that department."""

    code = "unit_not_in_department"


class UnitCycle(ValidationFailed):
    """A unit cannot be nested under itself or under one of its own sub-units."""

    code = "unit_cycle"


class BadgeTaken(Conflict):
    """Another officer already has this badge number."""

    code = "badge_taken"


class UserAlreadyLinked(Conflict):
    """That user account is already linked to another officer."""

    code = "user_already_linked"


class UnknownUser(ValidationFailed):
    """No such user account."""

    code = "unknown_user"


class UnitNotFound(NotFound):
    """No such unit in this department."""

    code = "not_found"
