"""Anchoring checkpoints: deposit the latest checkpoint's hash with each configured anchor
when it is newer than the last one anchored there and the interval has passed."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from citywitness.kit.clock import utcnow
from citywitness.kit.db import Database
from citywitness.kit.jobs import insert_once
from citywitness.ledger.anchors import Anchor, AnchorReceipt
from citywitness.ledger.anchors_models import AnchorReceiptRecord
from citywitness.ledger.models import LedgerCheckpoint

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AnchorOutcome:
    anchor: str
    anchored: bool
    size: int | None
    skipped: str | None = None


async def _due(
    session: AsyncSession, anchor: str, interval: timedelta, now: datetime
) -> tuple[LedgerCheckpoint | None, str | None]:
    latest = await session.scalar(
        select(LedgerCheckpoint).order_by(LedgerCheckpoint.size.desc()).limit(1)
    )
    if latest is None:
        return None, "no checkpoint yet"
    last = await session.execute(
        select(func.max(AnchorReceiptRecord.size), func.max(AnchorReceiptRecord.created_at)).where(
            AnchorReceiptRecord.anchor == anchor
        )
    )
    last_size, last_at = last.one()
    if last_size is not None and latest.size <= last_size:
        return None, "the latest checkpoint is anchored"
    if last_at is not None and now - last_at < interval:
        return None, "not due yet"
    return latest, None


async def anchor_latest(
    db: Database, anchor: Anchor, *, interval: timedelta, now: datetime | None = None
) -> AnchorOutcome:
    """One run for one anchor (raises `AnchorError` when the service fails)."""
    now = now or utcnow()
    async with db.transaction() as session:
        checkpoint, why = await _due(session, anchor.name, interval, now)
    if checkpoint is None:
        return AnchorOutcome(anchor.name, False, None, why)
    receipt = await anchor.submit(bytes(checkpoint.note))
    async with db.transaction() as session:
        await insert_once(
            session,
            AnchorReceiptRecord,
            {
                "anchor": anchor.name,
                "size": checkpoint.size,
                "root": bytes(checkpoint.root),
                "reference": receipt.reference,
                "anchored_at": receipt.anchored_at,
                "details": receipt.details,
            },
        )
    log.info("checkpoint anchored", extra={"anchor": anchor.name, "size": checkpoint.size})
    return AnchorOutcome(anchor.name, True, checkpoint.size)


async def receipts_for(session: AsyncSession, size: int) -> list[AnchorReceiptRecord]:
    rows = await session.scalars(
        select(AnchorReceiptRecord)
        .where(AnchorReceiptRecord.size == size)
        .order_by(AnchorReceiptRecord.anchor)
    )
    return list(rows)


def as_receipt(record: AnchorReceiptRecord) -> AnchorReceipt:
    return AnchorReceipt(record.reference, record.anchored_at, dict(record.details))
