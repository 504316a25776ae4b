"""`citywitness devices add|list|enrollment-code|revoke|maintain`: the registry from the shell.

For operators with access to the database (first set-up, bulk provisioning, recovery):
each command is one transaction through the devices services, audited with actor kind
`cli`.  The commands hang off the `devices` group that `cli/devices_mqtt.py` declares.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from citywitness.agencies.models import Department
from citywitness.audit.service import Auditor
from citywitness.cli.core import settings_from
from citywitness.cli.devices_mqtt import devices_app
from citywitness.devices import enrollment, service
from citywitness.devices.credentials import revoke_credentials
from citywitness.devices.models import DeviceStateRow, Recorder
from citywitness.devices.schemas import RecorderCreate
from citywitness.devices.tasks import upkeep
from citywitness.kit.clock import utcnow
from citywitness.kit.db import Database
from citywitness.kit.errors import AppError
from citywitness.runtime import database_url
from citywitness.settings import Settings

stdout = Console(highlight=False, soft_wrap=True)
stderr = Console(stderr=True, highlight=False, soft_wrap=True)

T = TypeVar("T")
Work = Callable[[AsyncSession, Auditor], Awaitable[T]]


class CommandFailed(Exception):
    """A problem worth one line on stderr and exit status 1."""


def _run(settings: Settings, work: Work[T]) -> T:
    try:
        with database_url(settings) as url:
            return asyncio.run(_in_transaction(url, work))
    except (AppError, CommandFailed) as exc:
        message = str(exc.detail if isinstance(exc, AppError) else exc)
        fields = exc.fields if isinstance(exc, AppError) and exc.fields else {}
        extra = "".join(f"; {k}: {v}" for k, v in fields.items() if str(v) != message)
        stderr.print(f"[red]error:[/red] {escape(message + extra)}")
        raise typer.Exit(1) from exc


async def _in_transaction(url: str, work: Work[T]) -> T:
    db = Database(url, pool_size=1, max_overflow=0)
    try:
        async with db.transaction() as session:
            return await work(session, Auditor(session=session, actor=None, actor_kind="cli"))
    finally:
        await db.dispose()


async def _recorder(session: AsyncSession, serial: str) -> Recorder:
    found = await session.scalar(select(Recorder).where(Recorder.serial == serial))
    if found is None:
        raise CommandFailed(f"no recorder with serial {serial!r}")
    return found


@devices_app.command("add")
def add(
    ctx: typer.Context,
    *,
    serial: Annotated[str, typer.Option(help="Serial number (the MQTT username).")],
    department: Annotated[str, typer.Option(help="Department code, e.g. public-security.")],
    model: Annotated[str | None, typer.Option(help="Model name.")] = None,
    imei: Annotated[str | None, typer.Option(help="15-digit IMEI.")] = None,
    iccid: Annotated[str | None, typer.Option(help="SIM ICCID.")] = None,
) -> None:
    """Register a recorder in a department."""

    async def work(session: AsyncSession, auditor: Auditor) -> Recorder:
        dept = await session.scalar(select(Department.id).where(Department.code == department))
        if dept is None:
            raise CommandFailed(f"unknown department {department!r}")
        try:
            body = RecorderCreate(
                serial=serial, department_id=dept, model=model, imei=imei, iccid=iccid
            )
        except ValueError as exc:
            raise CommandFailed(str(exc).splitlines()[0]) from exc
        recorder = await service.register(session, body)
        await auditor.record(
            "devices.create",
            object_type=service.RECORDER,
            object_id=recorder.id,
            department_id=dept,
            details={"serial": recorder.serial, "via": "cli"},
        )
        return recorder

    recorder = _run(settings_from(ctx), work)
    stdout.print(f"registered recorder {escape(recorder.serial)} ({recorder.id})")


@devices_app.command("list")
def list_recorders(
    ctx: typer.Context,
    department: Annotated[str | None, typer.Option(help="Only this department (code).")] = None,
) -> None:
    """Print every recorder with its department, state and presence."""

    async def work(session: AsyncSession, _auditor: Auditor) -> list[tuple[str, ...]]:
        query = (
            select(
                Recorder.serial,
                Department.code,
                Recorder.state,
                DeviceStateRow.online,
                DeviceStateRow.last_seen_at,
            )
            .join(Department, Department.id == Recorder.department_id)
            .outerjoin(DeviceStateRow, DeviceStateRow.recorder_id == Recorder.id)
            .order_by(Recorder.serial)
        )
        if department is not None:
            query = query.where(Department.code == department)
        return [
            (
                serial,
                code,
                state,
                "online" if online else "offline",
                seen.isoformat(timespec="seconds") if seen else "",
            )
            for serial, code, state, online, seen in (await session.execute(query)).all()
        ]

    table = Table("serial", "department", "state", "presence", "last seen")
    for row in _run(settings_from(ctx), work):
        table.add_row(*(escape(v) for v in row))
    stdout.print(table)


@devices_app.command("enrollment-code")
def enrollment_code(
    ctx: typer.Context,
    serial: Annotated[str, typer.Argument(help="The recorder's serial number.")],
) -> None:
    """Issue a one-time enrollment code (printed once) for a recorder."""
    settings = settings_from(ctx)
    ttl = timedelta(minutes=settings.devices.enrollment_code_ttl_minutes)

    async def work(session: AsyncSession, auditor: Auditor) -> enrollment.IssuedCode:
        recorder = await _recorder(session, serial)
        issued = await enrollment.issue_code(
            session, recorder, ttl=ttl, now=utcnow(), created_by=None
        )
        await auditor.record(
            "devices.enrollment_code",
            object_type=service.RECORDER,
            object_id=recorder.id,
            department_id=recorder.department_id,
            details={"expires_at": issued.expires_at.isoformat(), "via": "cli"},
        )
        return issued

    issued = _run(settings, work)
    stdout.print(f"{issued.code}  (expires {issued.expires_at.isoformat(timespec='seconds')})")


@devices_app.command("revoke")
def revoke(
    ctx: typer.Context,
    serial: Annotated[str, typer.Argument(help="The recorder's serial number.")],
) -> None:
    """Revoke a recorder's credential now; it must enroll again."""

    async def work(session: AsyncSession, auditor: Auditor) -> int:
        recorder = await _recorder(session, serial)
        revoked = await revoke_credentials(session, recorder.id)
        await auditor.record(
            "devices.credentials_revoke",
            object_type=service.RECORDER,
            object_id=recorder.id,
            department_id=recorder.department_id,
            details={"revoked": revoked, "via": "cli"},
        )
        return revoked

    revoked = _run(settings_from(ctx), work)
    stdout.print(f"revoked {revoked} credential(s) of {escape(serial)}")


@devices_app.command("maintain")
def maintain(ctx: typer.Context) -> None:
    """Create position partitions ahead, drop expired ones, purge old message ids now."""
    settings = settings_from(ctx)

    async def work(session: AsyncSession, _auditor: Auditor) -> dict[str, int]:
        return await upkeep(session, settings.devices, utcnow())

    done = _run(settings, work)
    stdout.print(", ".join(f"{k}: {v}" for k, v in done.items()))
