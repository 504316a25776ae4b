"""The ledger's outside checks on /readyz: forks, time stamps, anchors."""

from __future__ import annotations

from datetime import timedelta

from citywitness.kit.db import Database
from citywitness.kit.health import Readiness
from citywitness.ledger.anchors_status import TIMESTAMPS_JOB, anchor_job, status_readiness
from citywitness.ledger.witness_forks import forks_readiness
from citywitness.settings import Settings


def add_ledger_checks(readiness: Readiness, settings: Settings, db: Database) -> None:
    """ledger_forks fails while a fork incident is unacknowledged; ledger_timestamps and
    ledger_anchors say "ok: off" when unconfigured and "ok: degraded" while failing, and
    fail once their staleness (`stale_after_minutes`) has passed."""
    stamps = settings.ledger.timestamps
    anchors = settings.ledger.anchors
    readiness.add("ledger_forks", forks_readiness(db))
    readiness.add(
        "ledger_timestamps",
        status_readiness(
            db,
            lambda: [TIMESTAMPS_JOB] if stamps.tsa_url else [],
            stale_after=timedelta(minutes=stamps.stale_after_minutes),
            off_reason="no TSA configured",
        ),
    )
    readiness.add(
        "ledger_anchors",
        status_readiness(
            db,
            lambda: [anchor_job(a.name) for a in anchors.adapters],
            stale_after=timedelta(minutes=anchors.stale_after_minutes),
            off_reason="no anchor configured",
        ),
    )
