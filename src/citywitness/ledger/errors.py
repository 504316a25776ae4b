"""Ledger errors: each a stable machine code and an HTTP status."""

from __future__ import annotations

from citywitness.kit.errors import BadRequest, NotFound


class CheckpointNotFound(NotFound):
    """The log has no checkpoint of this size."""

    code = "checkpoint_not_found"


class EntryNotFound(NotFound):
    """No log entry has this index (or you may not see the object it is about)."""

    code = "entry_not_found"


class TileNotFound(NotFound):
    """No such tile in the log's latest tree."""

    code = "tile_not_found"


class InvalidProofRequest(BadRequest):
    """The sizes or the index do not name a proof in the log's latest tree."""

    code = "invalid_proof_request"
