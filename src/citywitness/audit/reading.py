"""Reading the audit trail: who may see which events, filters, pages and the CSV export.

Scope (kept deliberately simple):
- A caller holding audit:read platform-wide (a platform admin) sees every event.
- A department auditor sees the events whose `department_id` is one of the departments
  where they hold audit:read, plus the events whose actor is *currently* a member of one
  of those departments (so a member's logins, denials and work elsewhere are visible to
  their own department's auditors).  Events with neither (e.g. an anonymous failed login)
  are visible only platform-wide.
Every read of the trail is itself recorded: `audit.read` per page, `audit.export` per file.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator
from datetime import datetime

from sqlalchemy import ColumnElement, Select, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from citywitness.access.permissions import Permission
from citywitness.access.principal import Principal
from citywitness.access.service import require, visible_filter
from citywitness.audit.cursor import decode_event_cursor, encode_event_cursor
from citywitness.audit.models import AuditEvent
from citywitness.audit.schemas import AuditQuery
from citywitness.audit.service import Auditor
from citywitness.identity.models import Membership
from citywitness.kit.db import Database

CSV_COLUMNS = (
    "id",
    "occurred_at",
    "actor_user_id",
    "actor_kind",
    "department_id",
    "action",
    "object_type",
    "object_id",
    "outcome",
    "client_address",
    "request_id",
    "reason",
    "details",
)
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
STREAM_BATCH = 500


def scope_filter(principal: Principal) -> ColumnElement[bool]:
    """The events the caller may read (see the module docstring)."""
    in_department = visible_filter(
        principal, Permission.AUDIT_READ, department_column=AuditEvent.department_id
    )
    members = select(Membership.user_id).where(
        visible_filter(principal, Permission.AUDIT_READ, department_column=Membership.department_id)
    )
    return or_(in_department, AuditEvent.actor_user_id.in_(members))


def _conditions(query: AuditQuery) -> list[ColumnElement[bool]]:
    e = AuditEvent
    where: list[ColumnElement[bool]] = []
    if query.since is not None:
        where.append(e.occurred_at >= query.since)
    if query.until is not None:
        where.append(e.occurred_at < query.until)
    equal = {
        e.actor_user_id: query.actor_user_id,
        e.department_id: query.department_id,
        e.action: query.action,
        e.object_type: query.object_type,
        e.object_id: query.object_id,
        e.outcome: query.outcome.value if query.outcome else None,
        e.client_address: query.client_address,
    }
    where.extend(column == value for column, value in equal.items() if value is not None)
    if query.action_prefix is not None:
        where.append(e.action.startswith(query.action_prefix, autoescape=True))
    return where


def events_query(principal: Principal, query: AuditQuery) -> Select[AuditEvent]:
    """Matching events in scope, newest first (occurred_at desc, id desc)."""
    return (
        select(AuditEvent)
        .where(scope_filter(principal), *_conditions(query))
        .order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc())
    )


async def list_events(
    session: AsyncSession,
    principal: Principal,
    auditor: Auditor,
    query: AuditQuery,
    *,
    cursor: str | None,
    limit: int,
) -> tuple[list[AuditEvent], str | None]:
    require(principal, Permission.AUDIT_READ, action="audit.read")
    statement = events_query(principal, query)
    if cursor is not None:
        occurred_at, last_id = decode_event_cursor(cursor)
        statement = statement.where(
            tuple_(AuditEvent.occurred_at, AuditEvent.id) < tuple_(occurred_at, last_id)
        )
    found = list(await session.scalars(statement.limit(limit + 1)))
    next_cursor = None
    if len(found) > limit:
        found = found[:limit]
        next_cursor = encode_event_cursor(found[-1].occurred_at, found[-1].id)
    await auditor.record(
        "audit.read",
        details={"filters": query.used(), "count": len(found), "page": cursor is not None},
    )
    return found, next_cursor


async def start_export(
    principal: Principal, auditor: Auditor, query: AuditQuery, *, max_rows: int
) -> Select[AuditEvent]:
    """Check and record an export; returns the statement that `csv_lines` streams."""
    require(principal, Permission.AUDIT_READ, action="audit.export")
    await auditor.record("audit.export", details={"filters": query.used(), "max_rows": max_rows})
    return events_query(principal, query).limit(max_rows)


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    text = str(value)
    # A spreadsheet would run a cell starting with these as a formula: neutralize.
    return "'" + text if text.startswith(FORMULA_START) else text


def csv_row(event: AuditEvent) -> list[str]:
    return [_cell(getattr(event, column)) for column in CSV_COLUMNS]


async def csv_lines(db: Database, statement: Select[AuditEvent]) -> AsyncIterator[bytes]:
    """The header, then the rows in batches, read through a server-side cursor."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    async with db.transaction() as session:
        result = await session.stream_scalars(statement.execution_options(yield_per=STREAM_BATCH))
        async for partition in result.partitions():
            writer.writerows(csv_row(event) for event in partition)
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue().encode()
