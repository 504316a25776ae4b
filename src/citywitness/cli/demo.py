"""`citywitness demo` (what `make demo` runs): the platform on embedded defaults.

Starts the database (embedded unless configured), migrates it, makes sure a platform
administrator `admin` exists, prints the URL (and, on the first start only, the one-time
password), then serves exactly like `citywitness serve`.
"""

from __future__ import annotations

import asyncio
import secrets

import typer
from pydantic import SecretStr
from rich.console import Console

from citywitness.access.levels import Classification, Role
from citywitness.agencies import service as agencies
from citywitness.audit.service import Auditor
from citywitness.cli.core import app, settings_from
from citywitness.identity import service as identity
from citywitness.kit.db import Database
from citywitness.kit.logs import configure_logging
from citywitness.runtime import database_url
from citywitness.settings import Settings

DEMO_ADMIN = "admin"
# A platform admin's membership must live somewhere; the role grants every permission in
# every department.  The seeded public-security department, where the demo officers are.
HOME_DEPARTMENT = agencies.DEMO_DEPARTMENT

stdout = Console(highlight=False, soft_wrap=True)


async def bootstrap_demo(url: str, password_min_length: int) -> str | None:
    """On the first start: the platform administrator `admin` (audited as the system) and
    the demo patrol unit with its officers.

    Returns the new one-time password, or None when the user already existed.
    """
    db = Database(url, pool_size=1, max_overflow=0)
    try:
        async with db.transaction() as session:
            if await identity.get_user_by_username(session, DEMO_ADMIN) is not None:
                return None
            password = secrets.token_urlsafe(max(15, password_min_length))
            user = await identity.create_user(
                session,
                username=DEMO_ADMIN,
                display_name="Demo administrator",
                password=password,
                clearance=Classification.SECRET,
                min_length=password_min_length,
            )
            await identity.add_membership(
                session, user_id=user.id, department_id=HOME_DEPARTMENT, role=Role.PLATFORM_ADMIN
            )
            await Auditor(session=session, actor=None, actor_kind="system").record(
                "user.created",
                object_type="user",
                object_id=user.id,
                department_id=HOME_DEPARTMENT,
                details={"via": "demo", "role": Role.PLATFORM_ADMIN.value},
            )
            await agencies.seed_demo(session)  # a patrol unit and three officers
        return password
    finally:
        await db.dispose()


def print_banner(settings: Settings, password: str | None) -> None:
    url = settings.server.public_url
    stdout.print()
    stdout.print(f"[bold]CityWitness[/bold] is starting at [bold cyan]{url}[/bold cyan]")
    if password is not None:
        stdout.print(
            f"  sign in as [bold]{DEMO_ADMIN}[/bold] with the one-time password "
            f"[bold yellow]{password}[/bold yellow]"
        )
        stdout.print("  (shown only now; it is not stored anywhere in clear text)")
    else:
        stdout.print(
            f"  the credentials of [bold]{DEMO_ADMIN}[/bold] were shown on the first start; "
            f"to set a new password run: citywitness users reset-password {DEMO_ADMIN}"
        )
    stdout.print(f"  data: {settings.data_dir.resolve()}   stop: Ctrl-C")
    stdout.print()


@app.command("demo")
def demo(ctx: typer.Context) -> None:
    """Run the platform on embedded defaults with a demo administrator (`make demo`)."""
    from citywitness.server import run_server  # noqa: PLC0415

    settings = settings_from(ctx)
    configure_logging(settings.logging.level, settings.logging.json_output)
    with database_url(settings) as url:
        password = asyncio.run(bootstrap_demo(url, settings.auth.password_min_length))
        print_banner(settings, password)
        # The database is up and migrated: serve on it; it is stopped when this block ends.
        database = settings.database.model_copy(update={"url": SecretStr(url)})
        run_server(settings.model_copy(update={"database": database}))
