"""Errors of the alerts domain."""

from __future__ import annotations

from citywitness.kit.errors import Conflict


class TransitionNotAllowed(Conflict):
    """This action is not allowed from the alert's current state."""

    code = "alert_transition_not_allowed"
