"""Evidence errors: each a stable machine code and an HTTP status."""

from __future__ import annotations

from citywitness.kit.errors import AppError, BadRequest, Conflict, NotFound, ValidationFailed


class EmptyFile(ValidationFailed):
    """Zero-byte files are not evidence."""

    code = "empty_file"


class MediaTypeMismatch(AppError):
    """The file is not the media type it claims to be (or not media of a known kind)."""

    code = "media_type_mismatch"
    status = 415


class InvalidMetadata(ValidationFailed):
    """Some evidence metadata is not valid (see `fields`)."""

    code = "invalid_metadata"


class UnknownCategory(ValidationFailed):
    """No evidence category has this code."""

    code = "unknown_category"


class CategoryNotFound(NotFound):
    """No evidence category has this id."""

    code = "category_not_found"


class UnknownOfficer(ValidationFailed):
    """No officer with this id or badge number exists in the item's department."""

    code = "unknown_officer"


class ObjectNotStored(Conflict):
    """The content is not (or no longer) in the store: it cannot become evidence."""

    code = "object_not_stored"


class ClassificationAboveClearance(AppError):
    """An item cannot be classified above the caller's own clearance."""

    code = "classification_above_clearance"
    status = 403


class EvidenceNotActive(Conflict):
    """The item is pending deletion or destroyed: it cannot be changed or played."""

    code = "evidence_not_active"


class EvidenceLive(Conflict):
    """The item is a recording session still growing: watch it live, or play it once sealed."""

    code = "evidence_live"


class EvidenceDestroyed(AppError):
    """The item was destroyed (crypto-shredded); its content can never be read again."""

    code = "evidence_destroyed"
    status = 410


class ReasonRequired(ValidationFailed):
    """This department requires a reason (`?reason=`) to play or download evidence."""

    code = "reason_required"


class RangeNotSatisfiable(AppError):
    """The requested byte range lies outside the content."""

    code = "range_not_satisfiable"
    status = 416


class MalformedRange(BadRequest):
    """The Range header is not a single `bytes=` range."""

    code = "malformed_range"


class DerivativeNotReady(NotFound):
    """The thumbnail or proxy has not been made (yet, or the media has none)."""

    code = "derivative_not_ready"


class InvalidSearch(ValidationFailed):
    """The search filters do not fit together (see `fields`)."""

    code = "invalid_search"
