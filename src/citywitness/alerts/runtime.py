"""Alerts inside `serve`: the event consumers (alerts, and those the caller adds, such as
geofences) and the delivery of alerts to recorders over MQTT."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field

from citywitness.alerts import raising
from citywitness.alerts.delivery import RecorderDelivery
from citywitness.devices.commands_publisher import CommandPublisher
from citywitness.kit.db import Database
from citywitness.kit.events import Consumer, ConsumerRunner
from citywitness.settings.sections import AlertsSettings


@dataclass
class AlertsRuntime:
    runner: ConsumerRunner
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)

    async def readiness(self) -> str | None:
        if any(task.done() for task in self.tasks):
            return "alerts consumers stopped"
        return None


def start_alerts(
    settings: AlertsSettings,
    db: Database,
    *,
    publisher: CommandPublisher | None,
    consumers: Sequence[Consumer] = (),
) -> AlertsRuntime:
    """Start the consumers (the alerts one first) and, with a publisher, recorder delivery."""
    runner = ConsumerRunner(
        db,
        [raising.consumer(settings.batch_size), *consumers],
        poll_seconds=settings.poll_seconds,
    )
    runtime = AlertsRuntime(runner)
    runtime.tasks.append(asyncio.create_task(runner.run(), name="event-consumers"))
    if publisher is not None:
        delivery = RecorderDelivery(
            db,
            publisher,
            retry_seconds=settings.recorder_retry_seconds,
            timeout_seconds=settings.recorder_timeout_seconds,
        )
        runtime.tasks.append(asyncio.create_task(delivery.run(), name="alerts-recorders"))
    return runtime
