"""Errors of witnesses, cosignatures and fork reports: each a stable code and a status."""

from __future__ import annotations

from citywitness.kit.errors import Conflict, NotFound, ValidationFailed


class InvalidWitnessKey(ValidationFailed):
    """The witness key is not a cosignature/v1 verifier key (<name>+<key id>+<key>)."""

    code = "invalid_witness_key"


class WitnessExists(Conflict):
    """A witness with this name or key is already registered."""

    code = "witness_exists"


class InvalidNote(ValidationFailed):
    """The note is not a C2SP signed checkpoint."""

    code = "invalid_note"


class NotThisLog(ValidationFailed):
    """The checkpoint is not signed by this log's key (or names another origin)."""

    code = "not_this_log"


class InvalidCosignature(ValidationFailed):
    """No signature on the note is a valid cosignature by a registered witness."""

    code = "invalid_cosignature"


class ForkNotProven(ValidationFailed):
    """The checkpoints reported are all part of this log's tree: they show no fork."""

    code = "fork_not_proven"


class NoCosignedCheckpoint(NotFound):
    """No checkpoint of this size (or none at all) has been cosigned yet."""

    code = "no_cosigned_checkpoint"


class IncidentNotFound(NotFound):
    """No such ledger incident."""

    code = "incident_not_found"


class IncidentAlreadyAcknowledged(Conflict):
    """This incident has already been acknowledged."""

    code = "incident_acknowledged"
