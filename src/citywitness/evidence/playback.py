"""Playing and downloading evidence: HTTP byte ranges served by decrypting on the fly.

`open_content` decides everything before a byte is sent: who may (evidence:play for
`inline`, evidence:download for `attachment`; the proxy needs play, the thumbnail read),
whether the department's policy wants a reason, which range, and records the audit event
in the request's transaction (committed before the body streams).  Every request is
audited, ranged or not: a browser seeking through a video leaves one event per range.

HEAD answers the same headers without the body, with the same permission checks but no
reason needed (nothing is played): it is audited as `evidence.read` (details name the range
and the derivative), not as a play or download.  `If-Range` with the ETag (the content's
sha256 in quotes) honours the Range; any other value (another ETag, a date) sends the whole
content with 200.
"""

from __future__ import annotations

import base64
import re
import urllib.parse
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from citywitness.access.permissions import Permission
from citywitness.access.principal import Principal
from citywitness.access.service import ensure_permitted
from citywitness.agencies.models import Department
from citywitness.audit.service import Auditor
from citywitness.evidence import custody
from citywitness.evidence.derivative_models import Derivative, DerivativeKind
from citywitness.evidence.errors import (
    DerivativeNotReady,
    EvidenceDestroyed,
    EvidenceLive,
    MalformedRange,
    RangeNotSatisfiable,
    ReasonRequired,
)
from citywitness.evidence.ingest import EVIDENCE
from citywitness.evidence.models import EvidenceItem, EvidenceState
from citywitness.evidence.schemas import safe_filename
from citywitness.evidence.service import is_granted, visible_item
from citywitness.storage import ContentStore

P = Permission
RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


class Disposition(StrEnum):
    INLINE = "inline"  # play in the browser: evidence:play
    ATTACHMENT = "attachment"  # save a copy: evidence:download


@dataclass(frozen=True)
class Content:
    """What to send: bytes [start, end) of the object `sha256`, and the headers."""

    sha256: str
    size: int
    start: int
    end: int
    status: int
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def length(self) -> int:
        return self.end - self.start


def parse_range(header: str | None, size: int, max_open_ended: int) -> tuple[int, int] | None:
    """[start, end) of a single `bytes=` range, or None for the whole content.

    `bytes=a-` is served up to `max_open_ended` bytes (a 206 the client continues from).
    """
    if header is None:
        return None
    match = RANGE.match(header.strip().replace(" ", ""))
    if match is None or match.group(1) == match.group(2) == "":
        raise MalformedRange(fields={"range": "one range: bytes=a-b, bytes=a- or bytes=-n"})
    first, last = match.group(1), match.group(2)
    if first == "":  # a suffix: the last n bytes
        length = int(last)
        if length == 0 or size == 0:
            raise _unsatisfiable(size)
        return max(0, size - length), size
    start = int(first)
    if start >= size:
        raise _unsatisfiable(size)
    if last == "":
        return start, min(size, start + max_open_ended)
    end = int(last) + 1
    if end <= start:
        raise MalformedRange(fields={"range": "the last byte comes before the first"})
    return start, min(end, size)


def _unsatisfiable(size: int) -> RangeNotSatisfiable:
    return RangeNotSatisfiable(fields={"size": size}, headers={"Content-Range": f"bytes */{size}"})


def content_disposition(disposition: Disposition, filename: str) -> str:
    try:
        name = safe_filename(filename)
    except ValueError:
        name = "evidence"
    ascii_name = name.encode("ascii", "replace").decode().replace('"', "_").replace("?", "_")
    quoted = urllib.parse.quote(name, safe="")
    return f"{disposition.value}; filename=\"{ascii_name}\"; filename*=UTF-8''{quoted}"


async def _check_reason(session: AsyncSession, item: EvidenceItem, reason: str | None) -> None:
    required = await session.scalar(
        select(Department.reason_required_for_playback).where(Department.id == item.department_id)
    )
    if required and not (reason and reason.strip()):
        raise ReasonRequired(fields={"reason": "this department requires a reason"})


def _headers(
    sha256: str, size: int, span: tuple[int, int] | None, media_type: str, disposition: str
) -> dict[str, str]:
    headers = {
        "Accept-Ranges": "bytes",
        "Content-Type": media_type,
        "Content-Disposition": disposition,
        "ETag": f'"{sha256}"',
        "Cache-Control": "private, no-store",
        "X-Content-Type-Options": "nosniff",
    }
    if span is None:
        digest = base64.b64encode(bytes.fromhex(sha256)).decode()
        headers["Repr-Digest"] = f"sha-256=:{digest}:"
    else:
        headers["Content-Range"] = f"bytes {span[0]}-{span[1] - 1}/{size}"
    return headers


@dataclass(frozen=True)
class ContentRequest:
    disposition: Disposition = Disposition.INLINE
    reason: str | None = None
    range_header: str | None = None
    max_open_ended: int = 16 * 1024 * 1024
    if_range: str | None = None
    head: bool = False  # HEAD: the headers only; audited as a metadata read, not a play

    def range_for(self, sha256: str) -> str | None:
        """The Range to honour: dropped (whole content) when If-Range names another ETag."""
        if self.if_range is not None and self.if_range.strip() != f'"{sha256}"':
            return None
        return self.range_header


async def open_content(
    session: AsyncSession,
    principal: Principal,
    auditor: Auditor,
    evidence_id: uuid.UUID,
    request: ContentRequest,
) -> Content:
    """The original's bytes to send for a play (inline) or a download (attachment)."""
    permission = (
        P.EVIDENCE_PLAY if request.disposition is Disposition.INLINE else P.EVIDENCE_DOWNLOAD
    )
    item = await _permitted_item(session, principal, evidence_id, permission)
    _ensure_readable(item)
    if not request.head:
        await _check_reason(session, item, request.reason)
    span = parse_range(request.range_for(item.sha256), item.size_bytes, request.max_open_ended)
    action = "evidence.play" if request.disposition is Disposition.INLINE else "evidence.download"
    await _audit(auditor, action, item, request, span, item.size_bytes, None)
    disposition = content_disposition(request.disposition, item.original_filename)
    return _content(item.sha256, item.size_bytes, span, item.media_type, disposition)


async def _permitted_item(
    session: AsyncSession, principal: Principal, evidence_id: uuid.UUID, permission: Permission
) -> EvidenceItem:
    """404 unless the caller sees the item (evidence:read); 403 unless `permission` too."""
    item = await visible_item(session, principal, evidence_id)
    if permission is not P.EVIDENCE_READ:
        ensure_permitted(
            principal,
            permission,
            department_id=item.department_id,
            object_type=EVIDENCE,
            object_id=item.id,
            granted=await is_granted(session, principal, permission, item),
        )
    return item


def _ensure_readable(item: EvidenceItem) -> None:
    if item.state == EvidenceState.DESTROYED:
        raise EvidenceDestroyed(fields={"evidence_id": str(item.id)})
    if item.state == EvidenceState.LIVE:
        raise EvidenceLive(fields={"evidence_id": str(item.id)})


def _content(
    sha256: str, size: int, span: tuple[int, int] | None, media_type: str, disposition: str
) -> Content:
    start, end = span if span is not None else (0, size)
    status = 206 if span is not None else 200
    return Content(
        sha256, size, start, end, status, _headers(sha256, size, span, media_type, disposition)
    )


async def _audit(  # noqa: PLR0917 - one event's fields, private
    auditor: Auditor,
    action: str,
    item: EvidenceItem,
    request: ContentRequest,
    span: tuple[int, int] | None,
    size: int,
    derivative: DerivativeKind | None,
) -> None:
    """One event per request; a HEAD sends no bytes, so it is a read of the metadata."""
    details: dict[str, object] = {"range": f"{span[0]}-{span[1] - 1}" if span else None}
    details["bytes"] = (span[1] - span[0]) if span else size
    if derivative is not None:
        details["derivative"] = derivative.value
    if request.head:
        details["head"] = action
        action = "evidence.read"
    await custody.record(
        auditor,
        action,
        object_type=EVIDENCE,
        object_id=item.id,
        department_id=item.department_id,
        reason=request.reason.strip() if request.reason else None,
        details=details,
    )


async def open_derivative(
    session: AsyncSession,
    principal: Principal,
    auditor: Auditor,
    evidence_id: uuid.UUID,
    *,
    kind: DerivativeKind,
    request: ContentRequest,
) -> Content:
    """A thumbnail (evidence:read) or the browser proxy (evidence:play, reason policy)."""
    permission = P.EVIDENCE_READ if kind is DerivativeKind.THUMBNAIL else P.EVIDENCE_PLAY
    item = await _permitted_item(session, principal, evidence_id, permission)
    _ensure_readable(item)
    found = await session.scalar(
        select(Derivative).where(Derivative.evidence_id == item.id, Derivative.kind == kind.value)
    )
    if found is None:
        raise DerivativeNotReady(fields={"kind": kind.value})
    if kind is DerivativeKind.PROXY and not request.head:
        await _check_reason(session, item, request.reason)
    span = parse_range(request.range_for(found.sha256), found.size_bytes, request.max_open_ended)
    action = "evidence.thumbnail" if kind is DerivativeKind.THUMBNAIL else "evidence.play"
    await _audit(auditor, action, item, request, span, found.size_bytes, kind)
    disposition = content_disposition(Disposition.INLINE, f"{item.id}-{kind.value}")
    return _content(found.sha256, found.size_bytes, span, found.media_type, disposition)


async def stream(store: ContentStore, content: Content) -> AsyncIterator[bytes]:
    """The plaintext of `content`, decrypted chunk by chunk as it is sent."""
    async for piece in store.read_range(content.sha256, content.start, content.end):
        yield piece
