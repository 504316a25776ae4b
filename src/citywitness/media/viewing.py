"""Live view for consoles: who may watch, one audited view per viewer, signed segment URLs.

- `media:live` in the recorder's department (and a clearance of at least the item's
  classification); anyone else gets 404, as if the session did not exist.
- A viewer's first request (playlist, init or segment, authenticated as a user) starts a
  *view*: a `media_live_views` row and one audit event `media.live_view`.  Requests by the
  same user on the same session continue it (no new event) while they keep coming at
  least every `media.view_idle_seconds`.
- The playlist's URLs carry a view token (media/tokens.py) valid for
  `media.view_token_ttl_seconds`: a player fetches segments with it, no credentials and no
  database lookup of the caller needed.  Each playlist reload by the user re-checks the
  permission and mints a fresh token.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from citywitness.access.permissions import Permission
from citywitness.access.principal import Principal
from citywitness.access.service import ensure_visible
from citywitness.audit.service import Auditor
from citywitness.evidence.models import EvidenceItem
from citywitness.media import playlist, tokens
from citywitness.media.errors import SegmentNotFound, SessionNotFound
from citywitness.media.models import LiveSession, LiveView, Segment, SegmentFormat, SessionState

OBJECT = "media_session"
CONTINUE_WRITE_SECONDS = 10  # a continued view's last_seen_at is written at most this often


@dataclass(frozen=True)
class ViewPolicy:
    key: bytes
    token_ttl: timedelta
    view_idle: timedelta
    window: int


async def visible_session(
    session: AsyncSession, principal: Principal, session_id: uuid.UUID, permission: Permission
) -> LiveSession:
    """The session if the caller may see it with `permission` (else 404, audited)."""
    row = (
        await session.execute(
            select(LiveSession, EvidenceItem.classification)
            .join(EvidenceItem, EvidenceItem.id == LiveSession.evidence_id)
            .where(LiveSession.id == session_id)
        )
    ).first()
    ensure_visible(
        principal,
        permission,
        department_id=row[0].department_id if row is not None else None,
        classification=row[1] if row is not None else 0,
        object_type=OBJECT,
        object_id=session_id,
    )
    if row is None:  # only a platform admin gets here for a session that does not exist
        raise SessionNotFound(fields={"session_id": str(session_id)})
    live: LiveSession = row[0]
    return live


async def session_for_token(session: AsyncSession, session_id: uuid.UUID) -> LiveSession:
    live = await session.get(LiveSession, session_id)
    if live is None:
        raise SessionNotFound(fields={"session_id": str(session_id)})
    return live


async def start_view(
    session: AsyncSession,
    *,
    auditor: Auditor,
    principal: Principal,
    live: LiveSession,
    policy: ViewPolicy,
    now: datetime,
) -> str:
    """Continue the caller's view of `live` or start (and audit) one; a fresh view token."""
    view = await session.scalar(
        select(LiveView)
        .where(
            LiveView.session_id == live.id,
            LiveView.user_id == principal.user_id,
            LiveView.last_seen_at > now - policy.view_idle,
        )
        .order_by(LiveView.last_seen_at.desc())
        .limit(1)
    )
    if view is None:
        view = LiveView(
            id=uuid.uuid4(),
            session_id=live.id,
            user_id=principal.user_id,
            department_id=live.department_id,
            last_seen_at=now,
        )
        session.add(view)
        await session.flush()
        await auditor.record(
            "media.live_view",
            object_type="evidence",
            object_id=live.evidence_id,
            department_id=live.department_id,
            details={"session_id": str(live.id), "view_id": str(view.id)},
        )
    elif now - view.last_seen_at > timedelta(seconds=CONTINUE_WRITE_SECONDS):
        view.last_seen_at = now
        await session.flush()
    expires = int((now + policy.token_ttl).timestamp())
    return tokens.issue(policy.key, tokens.ViewToken(view.id, live.id, expires))


async def render_playlist(session: AsyncSession, live: LiveSession, token: str, window: int) -> str:
    query = select(Segment.seq, Segment.duration_seconds).where(Segment.session_id == live.id)
    if window:
        query = query.where(Segment.seq > live.max_seq - window)
    rows = (await session.execute(query)).all()
    return playlist.render(
        fmt=SegmentFormat(live.format),
        target_duration=live.target_duration,
        segments=[playlist.Listed(seq, duration) for seq, duration in rows],
        max_seq=live.max_seq,
        ended=live.state != SessionState.LIVE,
        token=token,
        window=window,
    )


async def segment_sha(session: AsyncSession, live: LiveSession, name: str) -> str:
    """The stored object of `name` (`<seq>.m4s`, `<seq>.ts` or `init.mp4`) in `live`."""
    fmt = SegmentFormat(live.format)
    if name == "init.mp4" and live.init_sha256 is not None:
        return live.init_sha256
    stem, _, ext = name.partition(".")
    if ext != playlist.EXTENSIONS[fmt] or not stem.isdigit() or len(stem) > 9:
        raise SegmentNotFound(fields={"segment": name})
    sha = await session.scalar(
        select(Segment.sha256).where(Segment.session_id == live.id, Segment.seq == int(stem))
    )
    if sha is None:
        raise SegmentNotFound(fields={"segment": name})
    return sha
