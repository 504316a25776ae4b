"""The alerts consumer: recorded events of other domains in, alerts out.

Topics (see `kit.events`): `devices.event` (every `device_events` row, recorded by a
trigger of the alerts migration), `ledger.incident` (every `ledger_incidents` row, same
way) and `geo.crossing` (recorded by the geofence evaluation).  A batch of events and the
alerts it raises commit together with the consumer's position.

- device `sos` -> `sos` (critical), `tamper` -> `tamper` (high), `low_battery` ->
  `low_battery` (low); each de-duplicated per recorder;
- device `offline` stamped with an officer (the recorder went offline during an open
  shift) -> `device_offline_on_shift` (medium), per recorder; the device's next `online`
  event resolves it (as the system: `service.resolve_automatically`);
- device `command_ack` -> the recorder delivery `details.command_id` is delivered;
- a geofence crossing that breaches its zone's rule -> `geofence_enter` (restricted area,
  default high) or `geofence_exit` (patrol area, default medium), per zone and recorder;
- ledger incident `fork` -> `ledger_fork` (critical, no department: platform-wide);
- `analysis.alert` (a finding with an alert hint) -> its kind (`watchlist_plate`,
  `watchlist_face`, `behaviour_cue`, `keyword`) with snapshot, evidence, recorder and place.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from citywitness.alerts.delivery import acknowledge_command
from citywitness.alerts.kinds import Severity
from citywitness.alerts.models import Alert, AlertDelivery, AlertEvent, AlertTrigger
from citywitness.alerts.service import NewAlert, raise_alert, resolve_automatically
from citywitness.kit.events import Consumer, Event

log = logging.getLogger(__name__)

CONSUMER = "alerts"
DEVICE_EVENT = "devices.event"
LEDGER_INCIDENT = "ledger.incident"
GEO_CROSSING = "geo.crossing"
ANALYSIS_ALERT = "analysis.alert"
TOPICS = (DEVICE_EVENT, LEDGER_INCIDENT, GEO_CROSSING, ANALYSIS_ALERT)

DEVICE_KINDS = {"sos": "sos", "tamper": "tamper", "low_battery": "low_battery"}


def _uuid(value: Any) -> uuid.UUID | None:
    return uuid.UUID(str(value)) if value else None


def _time(value: Any) -> datetime:
    return datetime.fromisoformat(str(value))


def _from_device(event: Event) -> NewAlert | None:
    p = event.payload
    kind = DEVICE_KINDS.get(str(p.get("kind")))
    if kind is None and p.get("kind") == "offline" and p.get("officer_id"):
        kind = "device_offline_on_shift"
    if kind is None:
        return None
    details = {"device_event": p.get("kind"), "source": p.get("source")}
    details.update({f"device.{k}": v for k, v in (p.get("details") or {}).items()})
    return NewAlert(
        kind=kind,
        source_kind="device_event",
        source_id=str(p["id"]),
        dedup_key=f"{kind}:{p['recorder_id']}",
        occurred_at=_time(p["at"]),
        department_id=_uuid(p.get("department_id")),
        recorder_id=_uuid(p.get("recorder_id")),
        officer_id=_uuid(p.get("officer_id")),
        lat=p.get("lat"),
        lon=p.get("lon"),
        details=details,
    )


def _from_incident(event: Event) -> NewAlert | None:
    p = event.payload
    if p.get("kind") != "fork":
        return None
    return NewAlert(
        kind="ledger_fork",
        source_kind="ledger_incident",
        source_id=str(p["id"]),
        dedup_key=f"ledger_fork:{p['id']}",
        occurred_at=_time(p.get("detected_at") or event.recorded_at.isoformat()),
        title=f"Custody ledger fork: {str(p.get('summary') or '')[:150]}",
        details={"incident_id": str(p["id"]), "size": p.get("size")},
    )


def _from_crossing(event: Event) -> NewAlert | None:
    p = event.payload
    if not p.get("breach"):
        return None
    kind = "geofence_enter" if p.get("direction") == "enter" else "geofence_exit"
    severity = Severity(p["severity"]) if p.get("severity") else None
    return NewAlert(
        kind=kind,
        source_kind="geofence_crossing",
        source_id=str(p["crossing_id"]),
        dedup_key=f"{kind}:{p['geofence_id']}:{p['recorder_id']}",
        occurred_at=_time(p["at"]),
        department_id=_uuid(p.get("department_id")),
        recorder_id=_uuid(p.get("recorder_id")),
        officer_id=_uuid(p.get("officer_id")),
        lat=p.get("lat"),
        lon=p.get("lon"),
        severity=severity,
        details={"geofence_id": p["geofence_id"], "geofence": p.get("geofence_name")},
    )


def _from_finding(event: Event) -> NewAlert | None:
    """A finding with an alert hint (analysis/alerting.py): one alert per watch-list entry
    (or analyzer and label) and recorder while it is open."""
    p = event.payload
    subject = p.get("watchlist_entry_id") or f"{p['analyzer']}:{p['label']}"
    return NewAlert(
        kind=str(p["kind"]),
        source_kind="analysis_finding",
        source_id=str(p["finding_id"]),
        dedup_key=f"{p['kind']}:{subject}:{p.get('recorder_id') or p['evidence_id']}"[:200],
        occurred_at=_time(p["at"]),
        department_id=_uuid(p.get("department_id")),
        recorder_id=_uuid(p.get("recorder_id")),
        officer_id=_uuid(p.get("officer_id")),
        lat=p.get("lat"),
        lon=p.get("lon"),
        severity=Severity(p["severity"]) if p.get("severity") else None,
        title=str(p.get("title") or "")[:200] or None,
        details={
            "finding_id": p["finding_id"],
            "analyzer": p.get("analyzer"),
            "label": p.get("label"),
            "offset_s": p.get("offset_s"),
            "segment_sha256": p.get("segment_sha256"),
            "watchlist_entry_id": p.get("watchlist_entry_id"),
        },
        evidence_ids=[uuid.UUID(str(p["evidence_id"]))],
        snapshot_sha256=p.get("snapshot_sha256"),
    )


async def _command_ack(session: AsyncSession, event: Event) -> None:
    p = event.payload
    command_id = str((p.get("details") or {}).get("command_id") or "")
    recorder_id = _uuid(p.get("recorder_id"))
    if recorder_id is None or not await acknowledge_command(
        session, command_id, recorder_id, _time(p["at"])
    ):
        return
    delivery = await session.get(AlertDelivery, uuid.UUID(command_id))
    alert = await session.get(Alert, delivery.alert_id) if delivery else None
    if alert is not None:
        session.add(
            AlertEvent(
                alert_id=alert.id,
                action="delivered",
                from_state=alert.state,
                to_state=alert.state,
                note="acknowledged by the recorder",
            )
        )


async def _back_online(session: AsyncSession, event: Event) -> None:
    p = event.payload
    if p.get("recorder_id"):
        await resolve_automatically(
            session,
            f"device_offline_on_shift:{p['recorder_id']}",
            cause_at=_time(p["at"]),
            note="recorder back online",
        )


async def handle(session: AsyncSession, events: list[Event]) -> None:
    """Raise the alerts `events` call for, in the consumer's transaction."""
    for event in events:
        if event.topic == DEVICE_EVENT and event.payload.get("kind") == "command_ack":
            await _command_ack(session, event)
            continue
        if event.topic == DEVICE_EVENT and event.payload.get("kind") == "online":
            await _back_online(session, event)
            continue
        build = {
            DEVICE_EVENT: _from_device,
            LEDGER_INCIDENT: _from_incident,
            GEO_CROSSING: _from_crossing,
            ANALYSIS_ALERT: _from_finding,
        }[event.topic]
        try:
            new = build(event)
        except (KeyError, ValueError, TypeError):
            log.warning("event not understood", extra={"topic": event.topic, "event": event.id})
            continue
        if new is not None:
            await raise_alert(session, new)


def consumer(batch_size: int = 100) -> Consumer:
    return Consumer(name=CONSUMER, topics=TOPICS, handle=handle, batch_size=batch_size)


async def source_alert(session: AsyncSession, source_kind: str, source_id: str) -> Alert | None:
    """The alert a source raised or repeated (tests and diagnostics)."""
    return (
        await session.execute(
            select(Alert)
            .join(AlertTrigger, AlertTrigger.alert_id == Alert.id)
            .where(AlertTrigger.source_kind == source_kind, AlertTrigger.source_id == source_id)
        )
    ).scalar_one_or_none()
