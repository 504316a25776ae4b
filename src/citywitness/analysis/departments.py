"""Departments named by watch-list requests: an unknown one is a client error, never a
foreign-key failure (a platform admin may name any department, existing or not)."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from citywitness.agencies.errors import DepartmentNotFound, UnknownDepartment
from citywitness.agencies.models import Department


async def ensure_known(session: AsyncSession, department_id: uuid.UUID, *, in_path: bool) -> None:
    """404 (a department in the URL) or 422 `unknown_department` (in the body or query)."""
    if await session.get(Department, department_id) is None:
        if in_path:
            raise DepartmentNotFound
        raise UnknownDepartment(fields={"department_id": "no such department"})
