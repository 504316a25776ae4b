"""Errors of the storage engine; each carries a stable machine code and an HTTP status."""

from __future__ import annotations

from citywitness.kit.errors import AppError, BadRequest, Conflict, NotFound


class ObjectNotFound(NotFound):
    """No stored object has this SHA-256."""

    code = "storage_object_not_found"


class KeyDestroyed(AppError):
    """The object was crypto-shredded: its data key is destroyed and it can never be read."""

    code = "storage_key_destroyed"
    status = 410


class ObjectDestroyed(Conflict):
    """Content with this SHA-256 was destroyed here before; it is not stored again."""

    code = "storage_object_destroyed"


class HashMismatch(AppError):
    """The SHA-256 of the received bytes differs from the digest the sender declared."""

    code = "storage_hash_mismatch"
    status = 422


class RangeNotSatisfiable(AppError):
    """The requested byte range lies outside the object."""

    code = "storage_range_not_satisfiable"
    status = 416


class InsufficientStorage(AppError):
    """There is not enough storage for this write; nothing was written."""

    code = "insufficient_storage"
    status = 507


class IntegrityFailure(AppError):
    """Stored bytes failed authentication or re-hashing: they were changed at rest."""

    code = "storage_integrity_failed"
    status = 500


class KeyUnavailable(AppError):
    """The data key could not be unwrapped (unknown or wrong key-encryption key)."""

    code = "storage_key_unavailable"
    status = 500


class UploadNotFound(NotFound):
    """No partial upload has this id."""

    code = "storage_upload_not_found"


class InvalidUploadId(BadRequest):
    """An upload id is 8 to 64 characters of letters, digits, '-' and '_'."""

    code = "storage_invalid_upload_id"


class WriterClosed(Conflict):
    """This upload is already finished, sealed or aborted."""

    code = "storage_writer_closed"


class UploadExists(Conflict):
    """A partial upload with this id already exists."""

    code = "storage_upload_exists"


class KekFileUnsafe(Exception):
    """The key-encryption key file or its directory has unsafe permissions (startup error)."""
