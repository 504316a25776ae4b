"""What consoles do with alerts: list, read, act on them; manage webhooks.  Scoped, audited.

Alerts of a department need alerts:read there (404 otherwise); acting needs alerts:act
(403 for a caller who can see the alert).  Alerts without a department (a ledger fork)
belong to the platform: only holders of the permission platform-wide see them.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from citywitness.access.permissions import Permission
from citywitness.access.principal import Principal
from citywitness.access.service import (
    ensure_permitted,
    require,
    require_global,
    visible_filter,
    visible_or_404,
)
from citywitness.agencies.errors import UnknownDepartment
from citywitness.agencies.models import Department
from citywitness.alerts.errors import SnapshotNotFound, TransitionNotAllowed
from citywitness.alerts.kinds import Action, AlertState, Severity
from citywitness.alerts.models import Alert, AlertDelivery, AlertEvent, Webhook
from citywitness.alerts.schemas import WebhookCreate, WebhookUpdate
from citywitness.alerts.service import ALERT, transition
from citywitness.alerts.signing import new_secret
from citywitness.audit.service import Auditor
from citywitness.kit.cursor import InvalidCursor, decode_cursor, encode_cursor

WEBHOOK = "alert_webhook"


@dataclass(frozen=True)
class AlertFilters:
    state: AlertState | None = None
    kind: str | None = None
    severity: Severity | None = None
    department_id: uuid.UUID | None = None
    since: datetime | None = None
    until: datetime | None = None


def _where(principal: Principal, f: AlertFilters) -> list[ColumnElement[bool]]:
    where = [
        visible_filter(principal, Permission.ALERTS_READ, department_column=Alert.department_id)
    ]
    if f.state is not None:
        where.append(Alert.state == f.state.value)
    if f.kind is not None:
        where.append(Alert.kind == f.kind)
    if f.severity is not None:
        where.append(Alert.severity == f.severity.value)
    if f.department_id is not None:
        where.append(Alert.department_id == f.department_id)
    if f.since is not None:
        where.append(Alert.occurred_at >= f.since)
    if f.until is not None:
        where.append(Alert.occurred_at < f.until)
    return where


def _after(cursor: str) -> ColumnElement[bool]:
    at, alert_id = decode_cursor(cursor, 2)
    try:
        key = (datetime.fromisoformat(at), uuid.UUID(alert_id))
    except ValueError as exc:
        raise InvalidCursor(fields={"cursor": "not a cursor"}) from exc
    if key[0].tzinfo is None:
        raise InvalidCursor(fields={"cursor": "not a cursor"})
    return tuple_(Alert.occurred_at, Alert.id) < tuple_(*key)


async def list_alerts(
    session: AsyncSession,
    principal: Principal,
    auditor: Auditor,
    filters: AlertFilters,
    *,
    cursor: str | None,
    limit: int,
) -> tuple[list[Alert], str | None]:
    """Alerts in scope, newest first (occurred_at, id), keyset-paged."""
    require(principal, Permission.ALERTS_READ, action="alerts.list")
    where = _where(principal, filters)
    if cursor is not None:
        where.append(_after(cursor))
    query = (
        select(Alert)
        .where(*where)
        .order_by(Alert.occurred_at.desc(), Alert.id.desc())
        .limit(limit + 1)
    )
    rows = list((await session.execute(query)).scalars())
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1]
        next_cursor = encode_cursor([last.occurred_at.isoformat(), str(last.id)])
    rows = rows[:limit]
    await auditor.record("alerts.list", object_type=ALERT, details={"count": len(rows)})
    return rows, next_cursor


async def visible_alert(
    session: AsyncSession,
    principal: Principal,
    alert_id: uuid.UUID,
    *,
    for_update: bool = False,
) -> Alert:
    query = select(Alert).where(Alert.id == alert_id)
    if for_update:
        query = query.with_for_update()
    alert = (await session.execute(query)).scalar_one_or_none()
    return visible_or_404(
        alert, principal, Permission.ALERTS_READ, object_type=ALERT, object_id=alert_id
    )


@dataclass(frozen=True)
class AlertView:
    alert: Alert
    events: list[AlertEvent]
    deliveries: list[AlertDelivery]


async def get_alert(
    session: AsyncSession, principal: Principal, auditor: Auditor, alert_id: uuid.UUID
) -> AlertView:
    alert = await visible_alert(session, principal, alert_id)
    await auditor.record(
        "alerts.read", object_type=ALERT, object_id=alert.id, department_id=alert.department_id
    )
    return await view(session, alert)


async def snapshot_of(
    session: AsyncSession, principal: Principal, auditor: Auditor, alert_id: uuid.UUID
) -> str:
    """The SHA-256 of the alert's snapshot (the frame a finding was seen in), audited."""
    alert = await visible_alert(session, principal, alert_id)
    if alert.snapshot_sha256 is None:
        raise SnapshotNotFound(fields={"alert_id": str(alert_id)})
    await auditor.record(
        "alerts.snapshot_read",
        object_type=ALERT,
        object_id=alert.id,
        department_id=alert.department_id,
        details={"snapshot_sha256": alert.snapshot_sha256},
    )
    return alert.snapshot_sha256


async def view(session: AsyncSession, alert: Alert) -> AlertView:
    events = (
        await session.execute(
            select(AlertEvent).where(AlertEvent.alert_id == alert.id).order_by(AlertEvent.id)
        )
    ).scalars()
    deliveries = (
        await session.execute(
            select(AlertDelivery)
            .where(AlertDelivery.alert_id == alert.id)
            .order_by(AlertDelivery.created_at, AlertDelivery.id)
        )
    ).scalars()
    return AlertView(alert, list(events), list(deliveries))


async def act(
    session: AsyncSession,
    principal: Principal,
    auditor: Auditor,
    alert_id: uuid.UUID,
    *,
    action: Action,
    note: str | None,
) -> AlertView:
    """Acknowledge, dispatch, resolve or call a false alarm; 409 from the wrong state."""
    alert = await visible_alert(session, principal, alert_id, for_update=True)
    ensure_permitted(
        principal,
        Permission.ALERTS_ACT,
        department_id=alert.department_id,
        object_type=ALERT,
        object_id=alert.id,
    )
    previous = alert.state
    if await transition(session, alert, action, actor=principal.user_id, note=note) is None:
        raise TransitionNotAllowed(
            f"cannot {action.value} an alert that is {previous}", fields={"action": previous}
        )
    await auditor.record(
        f"alerts.{action.value}",
        object_type=ALERT,
        object_id=alert.id,
        department_id=alert.department_id,
        details={"from": previous, "to": alert.state},
    )
    return await view(session, alert)


def _require_manage(principal: Principal, department_id: uuid.UUID | None, action: str) -> None:
    if department_id is None:
        require_global(principal, Permission.ALERTS_MANAGE, action=action)
    else:
        require(principal, Permission.ALERTS_MANAGE, action=action)
        ensure_permitted(
            principal,
            Permission.ALERTS_MANAGE,
            department_id=department_id,
            object_type=WEBHOOK,
            object_id="new",
        )


async def create_webhook(
    session: AsyncSession, principal: Principal, auditor: Auditor, body: WebhookCreate
) -> Webhook:
    """A new receiver; department-wide needs alerts:manage there, platform-wide everywhere."""
    _require_manage(principal, body.department_id, "alerts.webhook_create")
    if body.department_id is not None and await session.get(Department, body.department_id) is None:
        raise UnknownDepartment(fields={"department_id": "no such department"})
    hook = Webhook(
        id=uuid.uuid4(),
        name=body.name,
        url=str(body.url),
        secret=new_secret(),
        department_id=body.department_id,
        min_severity=body.min_severity.value,
        active=True,
        created_by=principal.user_id,
    )
    session.add(hook)
    await session.flush()
    await session.refresh(hook)
    await auditor.record(
        "alerts.webhook_create",
        object_type=WEBHOOK,
        object_id=hook.id,
        department_id=hook.department_id,
    )
    return hook


async def list_webhooks(
    session: AsyncSession, principal: Principal, auditor: Auditor
) -> list[Webhook]:
    require(principal, Permission.ALERTS_MANAGE, action="alerts.webhook_list")
    where = visible_filter(
        principal, Permission.ALERTS_MANAGE, department_column=Webhook.department_id
    )
    rows = list(
        (
            await session.execute(select(Webhook).where(where).order_by(Webhook.name, Webhook.id))
        ).scalars()
    )
    await auditor.record("alerts.webhook_list", object_type=WEBHOOK, details={"count": len(rows)})
    return rows


async def update_webhook(
    session: AsyncSession,
    principal: Principal,
    auditor: Auditor,
    webhook_id: uuid.UUID,
    body: WebhookUpdate,
) -> Webhook:
    hook = visible_or_404(
        await session.get(Webhook, webhook_id, with_for_update=True),
        principal,
        Permission.ALERTS_MANAGE,
        object_type=WEBHOOK,
        object_id=webhook_id,
    )
    changes = body.model_dump(exclude_unset=True, exclude_none=True)
    for name, value in changes.items():
        setattr(hook, name, str(value) if name in ("url", "min_severity") else value)
    await session.flush()
    await auditor.record(
        "alerts.webhook_update",
        object_type=WEBHOOK,
        object_id=hook.id,
        department_id=hook.department_id,
        details={"changed": sorted(changes)},
    )
    return hook
