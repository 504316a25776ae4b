"""Alert jobs: `alerts:deliver_webhook` POSTs one alert event to one webhook, signed.

The body is JSON (`{"id", "type": "alert.<action>", "created", "alert": {...}}`), signed
in `CW-Signature` (see `alerts.signing`).  A 2xx answer delivers it; anything else (an
error status, a refused connection, a timeout) is a failed attempt, recorded, and the job
fails so that Procrastinate retries it with exponential backoff (2, 4, 8, 16, 32 s).  The
last attempt marks the delivery `failed`.  A delivery already delivered is not sent again
(a job run twice after a worker died sends at most once more).

`alerts:purge_events` (hourly) deletes recorded events older than
`alerts.events_retention_hours` that every consumer of their topic has passed
(`kit.events.purge`), `alerts.events_purge_batch` per transaction.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from datetime import datetime, timedelta
from typing import Any

import httpx
from procrastinate import JobContext
from sqlalchemy import select

from citywitness.alerts.delivery import record_attempt
from citywitness.alerts.models import Alert, AlertDelivery, AlertEvent, Webhook
from citywitness.alerts.signing import DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, sign
from citywitness.kit.clock import utcnow
from citywitness.kit.db import Database
from citywitness.kit.events import purge
from citywitness.kit.jobs import PLATFORM_RETRY, Queue, TaskBlueprint, backoff, resources
from citywitness.settings.sections import AlertsSettings

log = logging.getLogger(__name__)

blueprint = TaskBlueprint("alerts")

WEBHOOK_RETRIES = 5
WEBHOOK_TIMEOUT_SECONDS = 10.0
PURGE_CRON = "23 * * * *"
PURGE_MAX_BATCHES = 1000  # per run: a backlog larger than this goes at the next runs


class WebhookFailed(RuntimeError):
    """The receiver did not take the delivery; the job is retried."""


def webhook_body(delivery: AlertDelivery, alert: Alert, event: AlertEvent) -> bytes:
    body: dict[str, Any] = {
        "id": str(delivery.id),
        "type": f"alert.{event.action}",
        "created": event.at.isoformat(),
        "alert": {
            "id": str(alert.id),
            "kind": alert.kind,
            "severity": alert.severity,
            "state": event.to_state,
            "title": alert.title,
            "department_id": str(alert.department_id) if alert.department_id else None,
            "recorder_id": str(alert.recorder_id) if alert.recorder_id else None,
            "officer_id": str(alert.officer_id) if alert.officer_id else None,
            "lat": alert.lat,
            "lon": alert.lon,
            "occurred_at": alert.occurred_at.isoformat(),
            "occurrences": alert.occurrences,
            "evidence_ids": [str(e) for e in alert.evidence_ids],
            "snapshot_sha256": alert.snapshot_sha256,
            "details": alert.details,
        },
    }
    return json.dumps(body, separators=(",", ":"), sort_keys=True).encode()


async def _post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int | None, str | None]:
    try:
        async with httpx.AsyncClient(timeout=WEBHOOK_TIMEOUT_SECONDS) as client:
            answer = await client.post(url, content=body, headers=headers)
    except httpx.HTTPError as exc:
        return None, type(exc).__name__
    if 200 <= answer.status_code < 300:
        return answer.status_code, None
    return answer.status_code, f"HTTP {answer.status_code}"


@blueprint.task(
    name="deliver_webhook",
    queue=Queue.DEFAULT,
    pass_context=True,
    retry=backoff(retries=WEBHOOK_RETRIES),
)
async def deliver_webhook(context: JobContext, delivery_id: str) -> str:
    """POST one alert event to one webhook; raise (and be retried) if it was not taken."""
    found = resources(context)
    async with found.db.transaction() as session:
        row = (
            await session.execute(
                select(AlertDelivery, Alert, AlertEvent, Webhook)
                .join(Alert, Alert.id == AlertDelivery.alert_id)
                .join(AlertEvent, AlertEvent.id == AlertDelivery.alert_event_id)
                .join(Webhook, Webhook.id == AlertDelivery.target_id)
                .where(AlertDelivery.id == uuid.UUID(delivery_id))
            )
        ).first()
        if row is None or row[0].state != "pending" or not row[3].active:
            return "skipped"
        delivery, alert, event, hook = row
        body = webhook_body(delivery, alert, event)
        url, secret, action = hook.url, hook.secret, event.action
    headers = {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: sign(secret, int(time.time()), body),
        EVENT_HEADER: f"alert.{action}",
        DELIVERY_HEADER: delivery_id,
    }
    started = time.monotonic()
    status, error = await _post(url, body, headers)
    elapsed = int((time.monotonic() - started) * 1000)
    last = (context.job.attempts or 0) >= WEBHOOK_RETRIES
    async with found.db.transaction() as session:
        locked = await session.get(AlertDelivery, uuid.UUID(delivery_id), with_for_update=True)
        if locked is None or locked.state != "pending":
            return "skipped"
        await record_attempt(
            session,
            locked,
            ok=error is None,
            status_code=status,
            error=error,
            duration_ms=elapsed,
        )
        if error is None:
            locked.state, locked.delivered_at, locked.next_attempt_at = "delivered", utcnow(), None
        elif last:
            locked.state, locked.next_attempt_at = "failed", None
    if error is not None and not last:
        log.info("webhook delivery failed", extra={"delivery": delivery_id, "error": error})
        raise WebhookFailed(error)
    return "delivered" if error is None else "failed"


async def purge_events(db: Database, settings: AlertsSettings, now: datetime) -> int:
    """Delete the events past retention that no consumer needs, a batch per transaction."""
    cutoff = now - timedelta(hours=settings.events_retention_hours)
    total = 0
    for _ in range(PURGE_MAX_BATCHES):
        async with db.transaction() as session:
            deleted = await purge(session, cutoff=cutoff, limit=settings.events_purge_batch)
        total += deleted
        if deleted < settings.events_purge_batch:
            break
    return total


@blueprint.periodic(cron=PURGE_CRON)
@blueprint.task(
    name="purge_events",
    queue=Queue.MAINTENANCE,
    queueing_lock="alerts:purge_events",
    pass_context=True,
    retry=PLATFORM_RETRY,
)
async def purge_events_job(context: JobContext, timestamp: int | None = None) -> dict[str, int]:
    """Hourly: recorded events past retention that every consumer has passed."""
    found = resources(context)
    purged = await purge_events(found.db, found.settings.alerts, utcnow())
    if purged:
        log.info("recorded events purged", extra={"count": purged, "tick": timestamp})
    return {"purged": purged}
