"""Console sessions: a random cookie token and a CSRF token, stored only as SHA-256."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import NamedTuple

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from citywitness.identity.models import ConsoleSession, User
from citywitness.kit.clock import utcnow
from citywitness.kit.hashing import new_secret, sha256_hex
from citywitness.settings import AuthSettings


class StartedSession(NamedTuple):
    """(console_session, session_token, csrf_token): the tokens exist only here."""

    console_session: ConsoleSession
    session_token: str
    csrf_token: str


async def start_session(
    session: AsyncSession,
    *,
    user: User,
    auth_method: str,
    client_address: str | None,
    settings: AuthSettings,
    now: datetime | None = None,
) -> StartedSession:
    """A new console session for `user`; the two tokens are returned once, never stored."""
    moment = now or utcnow()
    session_token = new_secret()
    csrf_token = new_secret()
    console_session = ConsoleSession(
        id=uuid.uuid4(),
        token_hash=sha256_hex(session_token),
        csrf_hash=sha256_hex(csrf_token),
        user_id=user.id,
        expires_at=moment + timedelta(seconds=settings.session_ttl_seconds),
        last_seen_at=moment,
        client_address=client_address,
        auth_method=auth_method[:40],
    )
    session.add(console_session)
    await session.flush()
    return StartedSession(console_session, session_token, csrf_token)


async def end_session(
    session: AsyncSession, *, console_session_id: uuid.UUID, now: datetime | None = None
) -> None:
    """Revoke a console session (logout); ending an ended session changes nothing."""
    await session.execute(
        update(ConsoleSession)
        .where(ConsoleSession.id == console_session_id, ConsoleSession.revoked_at.is_(None))
        .values(revoked_at=now or utcnow())
    )
