"""Queries of the agencies domain, and the translation of constraint violations."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from sqlalchemy import ColumnElement, or_, select, tuple_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from citywitness.agencies.models import Department, Officer, Unit
from citywitness.kit.cursor import InvalidCursor, decode_cursor, encode_cursor
from citywitness.kit.errors import AppError


def _constraint(exc: IntegrityError) -> str | None:
    diag = getattr(exc.orig, "diag", None)
    name = getattr(diag, "constraint_name", None)
    return name if isinstance(name, str) else None


@asynccontextmanager
async def mapped_violations(
    session: AsyncSession, errors: dict[str, Callable[[], AppError]]
) -> AsyncIterator[None]:
    """Run the changes made inside in a savepoint; a named constraint violation becomes an error.

    Make the changes inside the block: anything dirty before it is flushed outside the
    savepoint.  A violation not named in `errors` is re-raised (a bug, not client input).
    """
    try:
        async with session.begin_nested():
            yield
            await session.flush()
    except IntegrityError as exc:
        make = errors.get(_constraint(exc) or "")
        if make is None:
            raise
        raise make() from exc


async def department(session: AsyncSession, department_id: uuid.UUID) -> Department | None:
    return await session.get(Department, department_id)


async def unit_in(
    session: AsyncSession, department_id: uuid.UUID, unit_id: uuid.UUID
) -> Unit | None:
    unit = await session.get(Unit, unit_id)
    return unit if unit is not None and unit.department_id == department_id else None


async def unit_lineage(session: AsyncSession, unit_id: uuid.UUID) -> set[uuid.UUID]:
    """The unit and every unit above it (UNION, not UNION ALL: a cycle cannot loop forever)."""
    chain = select(Unit.id, Unit.parent_id).where(Unit.id == unit_id).cte("chain", recursive=True)
    chain = chain.union(select(Unit.id, Unit.parent_id).join(chain, Unit.id == chain.c.parent_id))
    return set((await session.execute(select(chain.c.id))).scalars())


def officer_search(q: str) -> ColumnElement[bool]:
    """Badge number or name starting with `q` (case-insensitive; wildcards taken literally)."""
    pattern = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    return or_(
        Officer.badge_number.ilike(pattern, escape="\\"),
        Officer.display_name.ilike(pattern, escape="\\"),
    )


async def officer_page(
    session: AsyncSession,
    where: list[ColumnElement[bool]],
    *,
    cursor: str | None,
    limit: int,
) -> tuple[list[Officer], str | None]:
    """One page of officers ordered by badge number, and the cursor of the next page."""
    conditions = list(where)
    if cursor is not None:
        badge, last_id = decode_cursor(cursor, 2)
        try:
            after = uuid.UUID(last_id)
        except ValueError as exc:
            raise InvalidCursor(fields={"cursor": "not a cursor"}) from exc
        conditions.append(tuple_(Officer.badge_number, Officer.id) > tuple_(badge, after))
    rows = await session.scalars(
        select(Officer)
        .where(*conditions)
        .order_by(Officer.badge_number, Officer.id)
        .limit(limit + 1)
    )
    found = list(rows)
    if len(found) <= limit:
        return found, None
    last = found[limit - 1]
    return found[:limit], encode_cursor([last.badge_number, str(last.id)])
