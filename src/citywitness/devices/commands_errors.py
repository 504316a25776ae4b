"""Errors of commands to recorders."""

from __future__ import annotations

from citywitness.kit.errors import AppError, Conflict, NotFound, ValidationFailed


class InvalidCommand(ValidationFailed):
    """The command's kind, params or reason are not valid; see fields."""

    code = "invalid_command"


class InvalidCommandAck(ValidationFailed):
    """This acknowledgement does not fit the command (e.g. rejected without consent asked)."""

    code = "invalid_command_ack"


class CommandNotFound(NotFound):
    """No such command for this recorder."""

    code = "command_not_found"


class CommandClosed(Conflict):
    """The command is finished (succeeded, failed, rejected, timed out or cancelled)."""

    code = "command_closed"


class RecorderNotEnrolled(Conflict):
    """The recorder has no live credential, so it cannot receive commands; enroll it."""

    code = "recorder_not_enrolled"


class TooManyOpenCommands(AppError):
    """The recorder has too many unfinished commands; wait or cancel some."""

    code = "too_many_open_commands"
    status = 409
