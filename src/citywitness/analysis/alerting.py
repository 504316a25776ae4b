"""Findings that warrant an early warning: an `analysis.alert` event recorded in the same
transaction as the finding (the alerts consumer turns it into an alert).

The payload carries everything the alert shows: the kind and severity the analyzer hinted,
the evidence, the recorder and officer, where the recorder was at that moment (its newest
position at or before the finding, within `POSITION_MAX_AGE`) and the snapshot's SHA-256
(a JPEG of the finding, already in the content store). Ids only: no plate text or names.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from citywitness.analysis.contracts import AlertHint
from citywitness.analysis.models import StoredFinding
from citywitness.devices.models import DevicePosition, Recorder
from citywitness.kit import events

TOPIC = "analysis.alert"
POSITION_MAX_AGE = timedelta(minutes=5)


@dataclass(frozen=True)
class Context:
    """Who and when: the recorder and officer of the media and when its time 0 was."""

    recorder_id: uuid.UUID | None
    officer_id: uuid.UUID | None
    media_start: datetime | None


async def recorder_by_serial(session: AsyncSession, serial: str | None) -> uuid.UUID | None:
    if not serial:
        return None
    return await session.scalar(select(Recorder.id).where(Recorder.serial == serial))


async def position_at(
    session: AsyncSession, recorder_id: uuid.UUID, at: datetime
) -> tuple[float, float] | None:
    """The recorder's newest position at or before `at` (not older than the maximum age)."""
    row = (
        await session.execute(
            select(DevicePosition.lat, DevicePosition.lon)
            .where(
                DevicePosition.recorder_id == recorder_id,
                DevicePosition.at <= at,
                DevicePosition.at >= at - POSITION_MAX_AGE,
            )
            .order_by(DevicePosition.at.desc())
            .limit(1)
        )
    ).first()
    return None if row is None else (float(row[0]), float(row[1]))


async def record_alert(
    session: AsyncSession,
    finding: StoredFinding,
    hint: AlertHint,
    context: Context,
    *,
    snapshot_sha256: str | None,
    now: datetime,
) -> None:
    """Record the `analysis.alert` event of a stored finding (the caller's transaction)."""
    occurred = (
        context.media_start + timedelta(seconds=finding.offset_s)
        if context.media_start is not None
        else now
    )
    where = (
        await position_at(session, context.recorder_id, occurred)
        if context.recorder_id is not None
        else None
    )
    watch = finding.attributes.get("watchlist")
    entry = watch.get("entry_id") if isinstance(watch, dict) else None
    await events.record(
        session,
        TOPIC,
        str(finding.id),
        {
            "finding_id": finding.id,
            "kind": hint.kind,
            "severity": hint.severity,
            "title": hint.title[:200],
            "analyzer": finding.analyzer,
            "label": finding.label,
            "evidence_id": str(finding.evidence_id),
            "department_id": str(finding.department_id),
            "offset_s": finding.offset_s,
            "segment_sha256": finding.segment_sha256,
            "recorder_id": None if context.recorder_id is None else str(context.recorder_id),
            "officer_id": None if context.officer_id is None else str(context.officer_id),
            "at": occurred.isoformat(),
            "lat": None if where is None else where[0],
            "lon": None if where is None else where[1],
            "snapshot_sha256": snapshot_sha256,
            "watchlist_entry_id": None if entry is None else str(entry),
        },
    )
