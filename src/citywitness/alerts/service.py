"""Raising alerts (with de-duplication) and moving them through their lifecycle.

De-duplication: an alert has a `dedup_key` (kind and source, e.g. `sos:<recorder>`), unique
among open alerts (new, acknowledged, dispatched; a partial unique index).  A new trigger
with the key of an open alert does not raise a second one: it counts as a repetition
(`occurrences`, `last_occurred_at`, an alert event `repeated`, pushed to consoles, no new
delivery).  Once the alert is resolved or a false alarm, the next trigger raises a new one.
Every trigger is recorded once per source (`alert_triggers`, unique (source kind, source
id)), so handling the same source again changes nothing.

Every step is an append-only `alert_events` row, pushed to consoles with
`NOTIFY cw_alerts` in the same transaction, and handed to the deliveries
(`alerts.delivery.plan_deliveries`).

Some alerts end by themselves: `resolve_automatically` resolves the open alert of a key
when its cause is gone (a recorder offline during its shift came back online), as the
system: no actor on the alert event, the audit trail's actor kind `system`.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from citywitness.alerts.delivery import plan_deliveries
from citywitness.alerts.kinds import KINDS, OPEN, Action, AlertState, Severity, next_state
from citywitness.alerts.models import Alert, AlertEvent, AlertTrigger
from citywitness.analysis.findings import review_from_alert
from citywitness.audit.service import Auditor
from citywitness.kit.clock import utcnow

NOTIFY_CHANNEL = "cw_alerts"
ALERT = "alert"

SUMMARY_FIELDS = (
    "kind",
    "severity",
    "state",
    "title",
    "lat",
    "lon",
    "occurrences",
    "snapshot_sha256",
)


@dataclass
class NewAlert:
    """What a raiser knows: the source event, who, where, when."""

    kind: str
    source_kind: str
    source_id: str
    dedup_key: str
    occurred_at: datetime
    department_id: uuid.UUID | None = None
    recorder_id: uuid.UUID | None = None
    officer_id: uuid.UUID | None = None
    lat: float | None = None
    lon: float | None = None
    severity: Severity | None = None
    title: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    evidence_ids: list[uuid.UUID] = field(default_factory=list)
    snapshot_sha256: str | None = None


@dataclass(frozen=True)
class Raised:
    alert: Alert
    created: bool  # False: a repetition of an open alert


def summary(alert: Alert, event: str) -> dict[str, Any]:
    """The pushed form of an alert (small: a NOTIFY payload is at most 8000 bytes)."""
    body: dict[str, Any] = {name: getattr(alert, name) for name in SUMMARY_FIELDS}
    body.update(
        id=str(alert.id),
        department_id=str(alert.department_id) if alert.department_id else None,
        recorder_id=str(alert.recorder_id) if alert.recorder_id else None,
        officer_id=str(alert.officer_id) if alert.officer_id else None,
        occurred_at=alert.occurred_at.isoformat(),
        last_occurred_at=alert.last_occurred_at.isoformat(),
        evidence_ids=[str(e) for e in alert.evidence_ids or ()],
    )
    return {"type": "alert", "event": event, "alert": body}


async def _notify(session: AsyncSession, alert: Alert, event: str) -> None:
    payload = json.dumps(summary(alert, event), separators=(",", ":"))
    await session.execute(text("SELECT pg_notify(:c, :p)"), {"c": NOTIFY_CHANNEL, "p": payload})


async def _event(
    session: AsyncSession,
    alert: Alert,
    action: str,
    *,
    from_state: str | None,
    actor: uuid.UUID | None = None,
    note: str | None = None,
) -> AlertEvent:
    event = AlertEvent(
        alert_id=alert.id,
        action=action,
        from_state=from_state,
        to_state=alert.state,
        actor_user_id=actor,
        note=note,
    )
    session.add(event)
    await session.flush()
    return event


async def _claim_source(session: AsyncSession, alert_id: uuid.UUID, new: NewAlert) -> bool:
    inserted = await session.scalar(
        insert(AlertTrigger)
        .values(alert_id=alert_id, source_kind=new.source_kind, source_id=new.source_id)
        .on_conflict_do_nothing()
        .returning(AlertTrigger.id)
    )
    return inserted is not None


async def raise_alert(session: AsyncSession, new: NewAlert) -> Raised | None:
    """Raise `new`, or count it on the open alert with its key; None if its source was seen."""
    seen = await session.scalar(
        select(AlertTrigger.id).where(
            AlertTrigger.source_kind == new.source_kind, AlertTrigger.source_id == new.source_id
        )
    )
    if seen is not None:
        return None
    open_alert = (
        await session.execute(
            select(Alert)
            .where(Alert.dedup_key == new.dedup_key, Alert.state.in_([s.value for s in OPEN]))
            .with_for_update()
        )
    ).scalar_one_or_none()
    if open_alert is not None:
        await _claim_source(session, open_alert.id, new)
        open_alert.occurrences += 1
        open_alert.last_occurred_at = max(open_alert.last_occurred_at, new.occurred_at)
        open_alert.updated_at = utcnow()
        await _event(session, open_alert, "repeated", from_state=open_alert.state)
        await _notify(session, open_alert, "repeated")
        return Raised(open_alert, created=False)
    spec = KINDS[new.kind]
    alert = Alert(
        id=uuid.uuid4(),
        kind=new.kind,
        severity=(new.severity or spec.severity).value,
        state=AlertState.NEW.value,
        department_id=new.department_id,
        recorder_id=new.recorder_id,
        officer_id=new.officer_id,
        lat=new.lat,
        lon=new.lon,
        occurred_at=new.occurred_at,
        last_occurred_at=new.occurred_at,
        occurrences=1,
        title=new.title or spec.title,
        details=new.details,
        evidence_ids=new.evidence_ids,
        snapshot_sha256=new.snapshot_sha256,
        dedup_key=new.dedup_key,
    )
    session.add(alert)
    await session.flush()
    await _claim_source(session, alert.id, new)
    event = await _event(session, alert, "raised", from_state=None)
    await _notify(session, alert, "raised")
    await plan_deliveries(session, alert, event, recorder=spec.notify_recorder)
    return Raised(alert, created=True)


async def transition(
    session: AsyncSession,
    alert: Alert,
    action: Action,
    *,
    actor: uuid.UUID | None,
    note: str | None,
) -> AlertEvent | None:
    """Apply `action` to a locked alert; None when not allowed from its state (409)."""
    current = AlertState(alert.state)
    target = next_state(current, action)
    if target is None:
        return None
    alert.state = target.value
    alert.updated_at = utcnow()
    event = await _event(
        session, alert, action.value, from_state=current.value, actor=actor, note=note
    )
    await _notify(session, alert, action.value)
    await plan_deliveries(session, alert, event, recorder=False)
    finding_id = (alert.details or {}).get("finding_id")
    if finding_id is not None and target in {AlertState.RESOLVED, AlertState.FALSE}:
        await review_from_alert(
            session, int(finding_id), confirmed=target == AlertState.RESOLVED, actor=actor
        )
    return event


async def resolve_automatically(
    session: AsyncSession, dedup_key: str, *, cause_at: datetime, note: str
) -> Alert | None:
    """Resolve the open alert with `dedup_key`, if it last occurred no later than `cause_at`.

    The time guard keeps an old cause (an event handled again) from ending a newer alert.
    Recorded as an alert event without an actor, pushed to consoles, handed to webhooks,
    and audited as `alerts.resolve` by the system.  The alert, or None when none was open.
    """
    alert = (
        await session.execute(
            select(Alert)
            .where(Alert.dedup_key == dedup_key, Alert.state.in_([s.value for s in OPEN]))
            .with_for_update()
        )
    ).scalar_one_or_none()
    if alert is None or alert.last_occurred_at > cause_at:
        return None
    previous = alert.state
    await transition(session, alert, Action.RESOLVE, actor=None, note=note)
    await Auditor(session, None, actor_kind="system").record(
        f"alerts.{Action.RESOLVE.value}",
        object_type=ALERT,
        object_id=alert.id,
        department_id=alert.department_id,
        details={"from": previous, "to": alert.state, "automatic": True, "note": note},
    )
    return alert
