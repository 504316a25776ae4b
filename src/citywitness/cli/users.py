"""`citywitness users`: create, list, disable, enable and reset passwords from the shell.

For operators with access to the database (first admin, recovery): each command is one
transaction through the identity services, audited with actor kind `cli`.
"""

from __future__ import annotations

import asyncio
import secrets
import sys
import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from citywitness.access.levels import Classification, Role
from citywitness.agencies.models import Department
from citywitness.audit.service import Auditor
from citywitness.cli.core import app, settings_from
from citywitness.identity import service as identity
from citywitness.identity.models import User
from citywitness.kit.db import Database
from citywitness.kit.errors import AppError
from citywitness.runtime import database_url
from citywitness.settings import Settings

users_app = typer.Typer(help="User accounts.", no_args_is_help=True)
app.add_typer(users_app, name="users")

stdout = Console(highlight=False, soft_wrap=True)
stderr = Console(stderr=True, highlight=False, soft_wrap=True)

T = TypeVar("T")
Work = Callable[[AsyncSession, Auditor], Awaitable[T]]


class CommandFailed(Exception):
    """A problem worth one line on stderr and exit status 1."""


def _run(settings: Settings, work: Work[T]) -> T:
    """Run `work` in one transaction on the configured (or embedded) database."""
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


async def _departments_by_code(session: AsyncSession, codes: list[str]) -> dict[str, uuid.UUID]:
    rows = await session.execute(
        select(Department.code, Department.id).where(Department.code.in_(codes))
    )
    found: dict[str, uuid.UUID] = dict(rows.all())
    missing = [c for c in codes if c not in found]
    if missing:
        raise CommandFailed(f"unknown department {missing[0]!r}")
    return found


async def _user(session: AsyncSession, username: str) -> User:
    user = await identity.get_user_by_username(session, username)
    if user is None:
        raise CommandFailed(f"no user named {username!r}")
    return user


def _password_from(password_stdin: bool, *, confirm: bool) -> str:
    if password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=confirm))


def _clearance(value: str) -> Classification:
    try:
        return Classification.parse(value)
    except KeyError as exc:
        names = ", ".join(c.label for c in Classification)
        raise typer.BadParameter(f"one of {names}", param_hint="--clearance") from exc


@users_app.command("create")
def create(
    ctx: typer.Context,
    *,
    username: Annotated[str, typer.Option(help="3-80 characters of a-z 0-9 . _ -")],
    display_name: Annotated[str, typer.Option(help="Name shown in the console.")],
    department: Annotated[
        list[str] | None,
        typer.Option(help="Department code, e.g. public-security; repeat, one per --role."),
    ] = None,
    role: Annotated[
        list[Role] | None, typer.Option(help="Role in the --department at the same position.")
    ] = None,
    clearance: Annotated[
        str, typer.Option(help="public, internal, sensitive or secret.")
    ] = "internal",
    email: Annotated[str | None, typer.Option(help="E-mail address.")] = None,
    password_stdin: Annotated[
        bool, typer.Option(help="Read the password from the first line of stdin.")
    ] = False,
    no_password: Annotated[
        bool, typer.Option(help="No password: the user logs in through OIDC only.")
    ] = False,
) -> None:
    """Create a user with roles: `--department public-security --role investigator ...`."""
    departments, roles = department or [], role or []
    if len(departments) != len(roles):
        raise typer.BadParameter("give exactly one --role per --department", param_hint="--role")
    level = _clearance(clearance)
    settings = settings_from(ctx)
    password = None if no_password else _password_from(password_stdin, confirm=True)

    async def work(session: AsyncSession, auditor: Auditor) -> User:
        dept_ids = await _departments_by_code(session, departments)
        user = await identity.create_user(
            session,
            username=username,
            display_name=display_name,
            password=password,
            clearance=level,
            email=email,
            min_length=settings.auth.password_min_length,
        )
        for code, wanted in zip(departments, roles, strict=True):
            await identity.add_membership(
                session, user_id=user.id, department_id=dept_ids[code], role=wanted
            )
        await auditor.record(
            "users.create",
            object_type="user",
            object_id=user.id,
            details={
                "via": "cli",
                "username": user.username,
                "clearance": level.label,
                "memberships": [
                    {"department": c, "role": r.value}
                    for c, r in zip(departments, roles, strict=True)
                ],
                "password_set": password is not None,
            },
        )
        return user

    user = _run(settings, work)
    stdout.print(f"created user {escape(user.username)} ({user.id})")


@users_app.command("list")
def list_users(
    ctx: typer.Context,
    department: Annotated[
        str | None, typer.Option(help="Only members of this department (code).")
    ] = None,
) -> None:
    """Print every user (or a department's members) with their roles."""

    async def work(session: AsyncSession, _auditor: Auditor) -> list[tuple[User, list[str]]]:
        codes = dict((await session.execute(select(Department.id, Department.code))).all())
        dept_id = None
        if department is not None:
            dept_id = (await _departments_by_code(session, [department]))[department]
        found = await identity.users_with_memberships(session, department_id=dept_id)
        return [
            (user, [f"{codes.get(m.department_id, m.department_id)}:{m.role}" for m in ms])
            for user, ms in found
        ]

    rows = _run(settings_from(ctx), work)
    table = Table("username", "display name", "clearance", "active", "locked until")
    table.add_column("roles", overflow="fold")
    for user, memberships in rows:
        table.add_row(
            escape(user.username),
            escape(user.display_name),
            Classification(user.clearance).label,
            "yes" if user.is_active else "no",
            user.locked_until.isoformat(timespec="seconds") if user.locked_until else "",
            escape("\n".join(memberships)),
        )
    stdout.print(table)


@users_app.command("disable")
def disable(
    ctx: typer.Context, username: Annotated[str, typer.Argument(help="The user to disable.")]
) -> None:
    """Disable a user; their console sessions and API tokens are revoked."""

    async def work(session: AsyncSession, auditor: Auditor) -> None:
        user = await _user(session, username)
        await identity.disable_user(session, user=user)
        await auditor.record(
            "users.disable", object_type="user", object_id=user.id, details={"via": "cli"}
        )

    _run(settings_from(ctx), work)
    stdout.print(f"disabled {escape(username)}; its sessions and API tokens are revoked")


@users_app.command("enable")
def enable(
    ctx: typer.Context, username: Annotated[str, typer.Argument(help="The user to enable.")]
) -> None:
    """Enable a disabled (or locked-out) user again."""

    async def work(session: AsyncSession, auditor: Auditor) -> None:
        user = await _user(session, username)
        await identity.enable_user(session, user=user)
        await auditor.record(
            "users.enable", object_type="user", object_id=user.id, details={"via": "cli"}
        )

    _run(settings_from(ctx), work)
    stdout.print(f"enabled {escape(username)}")


@users_app.command("reset-password")
def reset_password(
    ctx: typer.Context,
    username: Annotated[str, typer.Argument(help="The user whose password to set.")],
    password_stdin: Annotated[
        bool, typer.Option(help="Read the new password from stdin instead of generating one.")
    ] = False,
) -> None:
    """Set a new password (printed unless --password-stdin); ends sessions, clears lockout."""
    settings = settings_from(ctx)
    length = max(16, settings.auth.password_min_length)
    generated = not password_stdin
    password = (
        secrets.token_urlsafe(length)[:length] if generated else _password_from(True, confirm=False)
    )

    async def work(session: AsyncSession, auditor: Auditor) -> None:
        user = await _user(session, username)
        await identity.set_password(
            session, user=user, password=password, min_length=settings.auth.password_min_length
        )
        await auditor.record(
            "users.password.reset",
            object_type="user",
            object_id=user.id,
            details={"via": "cli", "generated": generated},
        )

    _run(settings, work)
    if generated:
        stderr.print(f"one-time password for {escape(username)} (shown only now):")
        stdout.print(password)
    else:
        stderr.print(f"password of {escape(username)} changed")
