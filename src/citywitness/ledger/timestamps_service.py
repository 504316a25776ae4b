"""Time-stamping checkpoints: stamp the latest one when it is newer than the last stamped
one and the interval has passed; keep the TSA's token (append-only)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from citywitness.kit.clock import utcnow
from citywitness.kit.db import Database
from citywitness.kit.jobs import insert_once
from citywitness.ledger.anchors_models import CheckpointTimestamp
from citywitness.ledger.models import LedgerCheckpoint
from citywitness.ledger.note import SignedNote
from citywitness.ledger.timestamps import load_trust_roots, request_timestamp, verify_token
from citywitness.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StampOutcome:
    """What one run did: `stamped` a checkpoint of `size`, or why not (`skipped`)."""

    stamped: bool
    size: int | None
    skipped: str | None = None


def trust_roots_path(settings: Settings) -> Path:
    configured = settings.ledger.timestamps.trust_roots_file
    if configured is None:
        raise ValueError("ledger.timestamps.trust_roots_file is not set")
    return configured if configured.is_absolute() else settings.data_dir / configured


async def latest_checkpoint(session: AsyncSession) -> LedgerCheckpoint | None:
    return await session.scalar(
        select(LedgerCheckpoint).order_by(LedgerCheckpoint.size.desc()).limit(1)
    )


async def _due(
    session: AsyncSession, interval: timedelta, now: datetime
) -> tuple[LedgerCheckpoint | None, str | None]:
    latest = await latest_checkpoint(session)
    if latest is None:
        return None, "no checkpoint yet"
    last = await session.execute(
        select(func.max(CheckpointTimestamp.size), func.max(CheckpointTimestamp.created_at))
    )
    last_size, last_at = last.one()
    if last_size is not None and latest.size <= last_size:
        return None, "the latest checkpoint is stamped"
    if last_at is not None and now - last_at < interval:
        return None, "not due yet"
    return latest, None


async def stamp_latest(
    db: Database, settings: Settings, client: httpx.AsyncClient, *, now: datetime | None = None
) -> StampOutcome:
    """One run of the time-stamping job (raises `TimestampError` when the TSA fails)."""
    config = settings.ledger.timestamps
    if not config.tsa_url:
        return StampOutcome(False, None, "off")
    now = now or utcnow()
    async with db.transaction() as session:
        checkpoint, why = await _due(session, timedelta(minutes=config.interval_minutes), now)
    if checkpoint is None:
        return StampOutcome(False, None, why)
    roots = load_trust_roots(trust_roots_path(settings))
    body = SignedNote.decode(bytes(checkpoint.note)).body
    token = await request_timestamp(client, config.tsa_url, body, roots)
    async with db.transaction() as session:
        await insert_once(
            session,
            CheckpointTimestamp,
            {
                "size": checkpoint.size,
                "root": bytes(checkpoint.root),
                "tsa_url": config.tsa_url[:500],
                "token": token.response,
                "gen_time": token.gen_time,
                "serial_number": str(token.serial_number),
                "policy": token.policy,
            },
        )
    log.info("checkpoint time-stamped", extra={"size": checkpoint.size})
    return StampOutcome(True, checkpoint.size)


async def timestamp_for(session: AsyncSession, size: int) -> CheckpointTimestamp | None:
    return await session.scalar(
        select(CheckpointTimestamp).where(CheckpointTimestamp.size == size).limit(1)
    )


async def verify_stored(session: AsyncSession, settings: Settings, size: int) -> bool:
    """Re-verify the stored token of checkpoint `size` against the configured roots."""
    stored = await timestamp_for(session, size)
    checkpoint = await session.scalar(select(LedgerCheckpoint).where(LedgerCheckpoint.size == size))
    if stored is None or checkpoint is None:
        return False
    body = SignedNote.decode(bytes(checkpoint.note)).body
    verify_token(bytes(stored.token), body, load_trust_roots(trust_roots_path(settings)))
    return True
