"""Errors of the evidence lifecycle (retention, holds, deletion, quotas)."""

from __future__ import annotations

from citywitness.access.errors import ActionForbidden
from citywitness.kit.errors import AppError, Conflict, NotFound


class QuotaExceeded(AppError):
    """The department's storage quota would be exceeded; nothing was written."""

    code = "insufficient_storage"
    status = 507


class EvidenceOnLegalHold(Conflict):
    """The item is under a legal hold: it cannot be deleted until every hold is released."""

    code = "legal_hold"


class SecondApproverRequired(ActionForbidden):
    """A deletion must be approved by a different user than the one who requested it."""

    code = "second_approver_required"
    action = "evidence.deletion.approve"


class DeletionNotPending(Conflict):
    """The deletion request is not in a state that allows this."""

    code = "deletion_not_pending"


class DeletionAlreadyRequested(Conflict):
    """The item already has an open deletion request."""

    code = "deletion_already_requested"


class ItemNotDeletable(Conflict):
    """The item is already destroyed or queued for deletion."""

    code = "item_not_deletable"


class HoldNotActive(Conflict):
    """The legal hold was already released."""

    code = "hold_not_active"


class CertificateNotFound(NotFound):
    """The item has no destruction certificate (it was not destroyed)."""

    code = "certificate_not_found"
