"""Errors of the media domain: each a stable code and an HTTP status (docs/media.md)."""

from __future__ import annotations

from citywitness.kit.errors import AppError, BadRequest, Conflict, NotAuthenticated, NotFound


class SessionNotFound(NotFound):
    """No such live session for this recorder."""

    code = "session_not_found"


class SessionEnded(Conflict):
    """The session has ended; open a new one."""

    code = "session_ended"


class SessionIdTaken(Conflict):
    """A session with this id exists with other parameters (or for another recorder)."""

    code = "session_id_taken"


class InvalidSegmentHeader(BadRequest):
    """A segment header is missing or malformed (CW-Segment-SHA256, CW-Prev-SHA256: 64 hex)."""

    code = "invalid_segment_header"


class SegmentTooLarge(AppError):
    """The segment is larger than media.max_segment_bytes."""

    code = "segment_too_large"
    status = 413


class InitTooLarge(AppError):
    """The init segment is larger than media.max_init_bytes."""

    code = "init_segment_too_large"
    status = 413


class SegmentRejected(AppError):
    """A segment refused for what it is (not how it was sent); a report is recorded."""


class SegmentDigestMismatch(SegmentRejected):
    """The segment's bytes do not hash to the SHA-256 it declares (altered in transit?)."""

    code = "segment_digest_mismatch"
    status = 422


class SegmentConflict(SegmentRejected):
    """Another segment with different bytes already holds this sequence number."""

    code = "segment_conflict"
    status = 409


class SegmentChainBroken(SegmentRejected):
    """The previous-segment hash does not link this segment into the session's chain."""

    code = "segment_chain_broken"
    status = 409


class SegmentNotMedia(SegmentRejected):
    """The bytes are not a video segment of the session's format."""

    code = "segment_not_media"
    status = 415


class SegmentTooLong(SegmentRejected):
    """The segment holds more media time than media.max_segment_seconds."""

    code = "segment_too_long"
    status = 422


class InitNotMedia(AppError):
    """The init segment is not an fMP4 init segment (ftyp + moov) with a video track."""

    code = "init_segment_not_media"
    status = 415


class ViewTokenInvalid(NotAuthenticated):
    """The live view token is missing, malformed, expired or not for this session."""

    code = "view_token_invalid"


class SegmentNotFound(NotFound):
    """No such segment in this session (a gap, or not yet received)."""

    code = "segment_not_found"


class SessionContentDuplicate(Conflict):
    """The sealed content already is another evidence item of the department."""

    code = "session_content_duplicate"
