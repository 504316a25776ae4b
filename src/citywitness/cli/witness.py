"""`citywitness witness`: run an independent witness of a CityWitness ledger.

    citywitness witness keygen --name NAME --key FILE       (prints the cosignature vkey)
    citywitness witness --log URL --key FILE [--state FILE] [--name NAME] [--log-key VKEY]
                        [--interval S] [--once] [--token TOKEN]

Needs no database and no platform settings: only the platform's URL, an API token with
`ledger:read`, and the witness's own key.  Exit status: 0 fine, 1 a failed round (with
--once) or a bad argument, 3 a fork of the log was detected (the witness stops).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from citywitness.cli.core import app

witness_app = typer.Typer(
    help="Witness a CityWitness ledger: check it only grows, and cosign its checkpoints.",
    invoke_without_command=True,
)
app.add_typer(witness_app, name="witness")

stdout = Console(highlight=False, soft_wrap=True)
stderr = Console(stderr=True, highlight=False, soft_wrap=True)

FORK_EXIT = 3


@witness_app.command("keygen")
def keygen(
    name: Annotated[
        str, typer.Option("--name", help="The witness's key name (e.g. court.example/w1).")
    ],
    key: Annotated[Path, typer.Option("--key", help="Key file (PKCS#8 PEM, created 0600).")],
) -> None:
    """Create the witness key (or reuse an existing one) and print its cosignature vkey."""
    from citywitness.ledger.note import (  # noqa: PLC0415 - keep `--help` fast
        CosignatureSigner,
        KeyFileError,
        NoteError,
        load_or_create_key,
    )

    try:
        signer = CosignatureSigner(name, load_or_create_key(key))
    except (KeyFileError, NoteError, OSError) as exc:
        stderr.print(f"[red]error:[/red] {escape(str(exc))}")
        raise typer.Exit(1) from exc
    typer.echo(signer.verifier_key())


@witness_app.callback()
def witness(  # noqa: PLR0917 - a Typer command: its options are positional
    ctx: typer.Context,
    log_url: Annotated[
        str | None, typer.Option("--log", help="The platform's URL (https://host[:port]).")
    ] = None,
    key: Annotated[Path | None, typer.Option("--key", help="The witness's key file.")] = None,
    state: Annotated[
        Path | None,
        typer.Option("--state", help="State file (default: <key file>.state.json)."),
    ] = None,
    name: Annotated[
        str | None, typer.Option("--name", help="Key name (default: from the state file).")
    ] = None,
    log_key: Annotated[
        str | None,
        typer.Option("--log-key", help="The log's vkey (default: fetched once, then pinned)."),
    ] = None,
    interval: Annotated[
        float, typer.Option("--interval", min=1.0, help="Seconds between rounds.")
    ] = 60.0,
    once: Annotated[bool, typer.Option("--once", help="One round, then exit.")] = False,
    token: Annotated[
        str | None,
        typer.Option(
            "--token",
            envvar="CITYWITNESS_TOKEN",
            help="API token with ledger:read.",
            show_envvar=True,
        ),
    ] = None,
) -> None:
    """Run the witness (every --interval seconds, or --once)."""
    if ctx.invoked_subcommand is not None:
        return
    if log_url is None or key is None:
        stderr.print("[red]error:[/red] --log and --key are required (or use `keygen`)")
        raise typer.Exit(2)
    state_file = state or key.with_name(key.name + ".state.json")
    code = asyncio.run(
        _run(log_url, key, state_file, name, log_key, interval=interval, once=once, token=token)
    )
    raise typer.Exit(code)


async def _run(
    log_url: str,
    key: Path,
    state_file: Path,
    name: str | None,
    log_key: str | None,
    *,
    interval: float,
    once: bool,
    token: str | None,
) -> int:
    import httpx  # noqa: PLC0415 - keep `--help` fast

    from citywitness.ledger.note import (  # noqa: PLC0415
        CosignatureSigner,
        KeyFileError,
        NoteError,
        load_private_key,
    )
    from citywitness.ledger.witness_client import (  # noqa: PLC0415
        ForkDetected,
        LogClient,
        Witness,
        WitnessError,
        WitnessState,
    )

    try:
        remembered = WitnessState.load(state_file)
        name = name or (remembered.name if remembered else None)
        if name is None:
            raise WitnessError("--name is required on the first run")
        signer = CosignatureSigner(name, load_private_key(key))
    except (KeyFileError, NoteError, WitnessError) as exc:
        stderr.print(f"[red]error:[/red] {escape(str(exc))}")
        return 1
    async with httpx.AsyncClient(timeout=30.0, follow_redirects=False) as http:
        witness = Witness(
            name=name,
            signer=signer,
            state_file=state_file,
            client=LogClient(http, log_url, token),
            log_vkey=log_key,
        )
        while True:
            try:
                result = await witness.run_once()
                stdout.print(f"{escape(result.message)} (root {result.root})")
            except ForkDetected as exc:
                reported = "reported to the platform" if exc.reported else "NOT reported"
                stderr.print(f"[bold red]CRITICAL:[/bold red] {escape(str(exc))} ({reported})")
                return FORK_EXIT
            except WitnessError as exc:
                stderr.print(f"[red]round failed:[/red] {escape(str(exc))}")
                if once:
                    return 1
            if once:
                return 0
            await asyncio.sleep(interval)
