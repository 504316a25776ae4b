"""Alerts: raising, delivery, webhooks."""

from __future__ import annotations

from pydantic import Field

from citywitness.settings.sections.base import Section


class AlertsSettings(Section):
    """Alerts: the event consumers that raise them, and delivery to recorders."""

    consumers_enabled: bool = Field(
        default=True,
        description=(
            "Run the event consumers (alerts, geofences) and the recorder delivery inside "
            "`serve`; several processes may run them (one handles a batch at a time)."
        ),
    )
    poll_seconds: float = Field(
        default=2.0,
        gt=0,
        le=60,
        description="How often consumers look for events when no NOTIFY woke them (fallback).",
    )
    batch_size: int = Field(
        default=100, ge=1, le=5000, description="Most events a consumer handles per transaction."
    )
    recorder_retry_seconds: float = Field(
        default=10.0,
        gt=0,
        le=3600,
        description="Time between two sends of an alert to a recorder that has not acknowledged.",
    )
    recorder_timeout_seconds: float = Field(
        default=120.0,
        gt=0,
        le=86_400,
        description="An alert a recorder has not acknowledged after this long is `expired`.",
    )
    events_retention_hours: float = Field(
        default=72.0,
        ge=1,
        le=24 * 366,
        description=(
            "Recorded events (`event_outbox`) older than this that every consumer of their "
            "topic has passed are deleted by the hourly job `alerts:purge_events`."
        ),
    )
    events_purge_batch: int = Field(
        default=5000,
        ge=100,
        le=100_000,
        description="Events deleted per transaction by the retention job.",
    )
