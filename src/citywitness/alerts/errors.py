"""Errors of the alerts domain."""

from __future__ import annotations

from citywitness.kit.errors import Conflict, NotFound


class TransitionNotAllowed(Conflict):
    """This action is not allowed from the alert's current state."""

    code = "alert_transition_not_allowed"


class SnapshotNotFound(NotFound):
    """The alert has no snapshot (only alerts raised by analysis findings carry one)."""

    code = "alerts.snapshot_not_found"
