"""Deliveries of alert events beyond the consoles: webhooks and the source recorder.

`plan_deliveries` runs in the transaction that raised or changed the alert: one
`alert_deliveries` row per target, and for a webhook a job (`alerts:deliver_webhook`) in
the same transaction, so a delivery exists exactly when its alert event does.

To the recorder: an MQTT command on `cw/<department>/<serial>/command`
(`{"type": "alert", "command_id": <delivery id>, ...}`), published by `RecorderDelivery`
in the process that holds the MQTT bridge (`serve`), again every `recorder_retry_seconds`
until the recorder acknowledges it (a device event `command_ack` with
`details.command_id`, the same event the devices domain takes for its own commands;
handled by the alerts consumer) or `recorder_timeout_seconds` pass
(state `expired`).  Every try is a `alert_delivery_attempts` row.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from citywitness.agencies.models import Department
from citywitness.alerts.kinds import at_least
from citywitness.alerts.models import Alert, AlertDelivery, AlertEvent, DeliveryAttempt, Webhook
from citywitness.devices.commands_publisher import CommandPublisher
from citywitness.devices.models import Recorder
from citywitness.kit.clock import utcnow
from citywitness.kit.db import Database
from citywitness.kit.events import Waker
from citywitness.kit.jobs import defer

log = logging.getLogger(__name__)

WAKE_CHANNEL = "cw_alerts"


async def plan_deliveries(
    session: AsyncSession, alert: Alert, event: AlertEvent, *, recorder: bool
) -> list[AlertDelivery]:
    """Deliveries of `event` to matching webhooks and (if asked) to the source recorder."""
    from citywitness.alerts.tasks import deliver_webhook  # noqa: PLC0415 - tasks import us

    dept: ColumnElement[bool] = Webhook.department_id.is_(None)
    if alert.department_id is not None:
        dept = or_(dept, Webhook.department_id == alert.department_id)
    hooks = (await session.execute(select(Webhook).where(Webhook.active.is_(True), dept))).scalars()
    now = utcnow()
    planned: list[AlertDelivery] = []
    for hook in hooks:
        if at_least(alert.severity, hook.min_severity):
            planned.append(_delivery(alert, event, "webhook", hook.id, now))
    if recorder and alert.recorder_id is not None:
        planned.append(_delivery(alert, event, "recorder", alert.recorder_id, now))
    session.add_all(planned)
    await session.flush()
    for delivery in planned:
        if delivery.channel == "webhook":
            await defer(session, deliver_webhook, delivery_id=str(delivery.id))
    return planned


def _delivery(
    alert: Alert, event: AlertEvent, channel: str, target: uuid.UUID, now: datetime
) -> AlertDelivery:
    return AlertDelivery(
        id=uuid.uuid4(),
        alert_id=alert.id,
        alert_event_id=event.id,
        channel=channel,
        target_id=target,
        state="pending",
        attempts=0,
        next_attempt_at=now,
    )


async def record_attempt(
    session: AsyncSession,
    delivery: AlertDelivery,
    *,
    ok: bool,
    status_code: int | None = None,
    error: str | None = None,
    duration_ms: int | None = None,
) -> None:
    delivery.attempts += 1
    delivery.last_error = error[:500] if error else None
    session.add(
        DeliveryAttempt(
            delivery_id=delivery.id,
            attempt=delivery.attempts,
            ok=ok,
            status_code=status_code,
            error=error[:500] if error else None,
            duration_ms=duration_ms,
        )
    )


async def acknowledge_command(
    session: AsyncSession, command_id: str, recorder_id: uuid.UUID, at: datetime
) -> bool:
    """The recorder acknowledged an alert sent to it: the delivery is done (once).

    Only the recorder the alert was sent to can acknowledge it; other ids (the devices
    domain's own commands) are not ours.
    """
    try:
        delivery_id = uuid.UUID(command_id)
    except ValueError:
        return False
    delivery = (
        await session.execute(
            select(AlertDelivery)
            .where(
                AlertDelivery.id == delivery_id,
                AlertDelivery.channel == "recorder",
                AlertDelivery.target_id == recorder_id,
            )
            .with_for_update()
        )
    ).scalar_one_or_none()
    if delivery is None or delivery.state == "delivered":
        return False
    delivery.state = "delivered"
    delivery.delivered_at = at
    delivery.next_attempt_at = None
    return True


def command_payload(delivery: AlertDelivery, alert: Alert) -> bytes:
    body: dict[str, Any] = {
        "type": "alert",
        "command_id": str(delivery.id),
        "alert_id": str(alert.id),
        "kind": alert.kind,
        "severity": alert.severity,
        "title": alert.title,
        "occurred_at": alert.occurred_at.isoformat(),
    }
    return json.dumps(body, separators=(",", ":")).encode()


@dataclass
class RecorderDelivery:
    """Publishes due recorder deliveries; retries until acknowledged or timed out."""

    db: Database
    publisher: CommandPublisher
    retry_seconds: float = 10.0
    timeout_seconds: float = 120.0
    batch: int = 50

    async def run_once(self) -> int:
        """Handle the deliveries due now; how many were tried or expired."""
        now = utcnow()
        query = (
            select(AlertDelivery, Alert, Recorder.serial, Department.code)
            .join(Alert, Alert.id == AlertDelivery.alert_id)
            .join(Recorder, Recorder.id == AlertDelivery.target_id)
            .join(Department, Department.id == Recorder.department_id)
            .where(
                AlertDelivery.channel == "recorder",
                AlertDelivery.state == "pending",
                AlertDelivery.next_attempt_at <= now,
            )
            .order_by(AlertDelivery.next_attempt_at)
            .limit(self.batch)
            .with_for_update(of=AlertDelivery, skip_locked=True)
        )
        async with self.db.transaction() as session:
            rows = (await session.execute(query)).all()
            for delivery, alert, serial, code in rows:
                await self._try(session, delivery, alert, serial=serial, code=code, now=now)
        return len(rows)

    async def _try(
        self,
        session: AsyncSession,
        delivery: AlertDelivery,
        alert: Alert,
        *,
        serial: str,
        code: str,
        now: datetime,
    ) -> None:
        if delivery.created_at + timedelta(seconds=self.timeout_seconds) <= now:
            delivery.state = "expired"
            delivery.next_attempt_at = None
            return
        started = time.monotonic()
        try:
            await self.publisher.publish_command(
                code, serial, command_payload(delivery, alert), wait_seconds=5.0
            )
        except Exception as exc:  # noqa: BLE001 - any failure is one failed attempt
            await record_attempt(session, delivery, ok=False, error=type(exc).__name__)
        else:
            elapsed = int((time.monotonic() - started) * 1000)
            await record_attempt(session, delivery, ok=True, duration_ms=elapsed)
        delivery.next_attempt_at = now + timedelta(seconds=self.retry_seconds)

    async def run(self) -> None:
        """Until cancelled: woken by new alerts, and every second for retries."""
        waker = Waker(self.db.url, WAKE_CHANNEL)
        listener = asyncio.create_task(waker.run(), name="alerts-recorder-listen")
        try:
            while True:
                waker.event.clear()
                try:
                    await self.run_once()
                except Exception:
                    log.exception("recorder delivery failed")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(waker.event.wait(), 1.0)
        finally:
            listener.cancel()
            await asyncio.gather(listener, return_exceptions=True)
