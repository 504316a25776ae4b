"""`citywitness camera pull`: a fixed camera joins as a recorder (RTSP/RTMP/file pull adapter).

The camera is registered and enrolled like any recorder (`citywitness devices add`, then
`POST /devices/enroll`); this command holds its credential, reads the stream with PyAV,
remuxes it into ~2 s fMP4 (or MPEG-TS) segments at keyframes without transcoding, and sends
them to the platform as one live session, ended when the stream ends (docs/media.md).
"""

from __future__ import annotations

import asyncio
import os
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console

from citywitness.cli.core import app
from citywitness.media.client import UploadFailed, pull
from citywitness.media.models import SegmentFormat

SECRET_ENV = "CITYWITNESS_DEVICE_SECRET"  # noqa: S105 - the variable's name, not a secret
stderr = Console(stderr=True, highlight=False, soft_wrap=True)
camera_app = typer.Typer(help="Fixed cameras that join as recorders.", no_args_is_help=True)
app.add_typer(camera_app, name="camera")


@camera_app.command("pull")
def camera_pull(  # noqa: PLR0917 - Typer options, passed by name
    url: Annotated[str, typer.Option(help="Stream to pull: rtsp://, rtmp://, a file, any URL.")],
    serial: Annotated[str, typer.Option(help="The camera's recorder serial (enrolled).")],
    platform: Annotated[
        str, typer.Option(help="The platform's base URL.")
    ] = "http://127.0.0.1:8000",
    fmt: Annotated[SegmentFormat, typer.Option("--format", help="Segment format.")] = (
        SegmentFormat.FMP4
    ),
    segment_seconds: Annotated[
        float, typer.Option(min=1.0, max=10.0, help="Target segment length (cut at keyframes).")
    ] = 2.0,
    rtsp_transport: Annotated[str, typer.Option(help="RTSP transport (tcp or udp).")] = "tcp",
) -> None:
    """Pull a camera's stream and send it as one live session.

    The device secret comes from $CITYWITNESS_DEVICE_SECRET (never a command-line argument).
    """
    secret = os.environ.get(SECRET_ENV, "")
    if not secret:
        stderr.print(f"[red]set {SECRET_ENV} to the camera's device secret[/red]")
        raise typer.Exit(2)
    options = {"rtsp_transport": rtsp_transport} if url.startswith("rtsp") else {}

    def show(answer: dict[str, Any]) -> None:
        flags = " late" if answer["late"] else ""
        flags += f" gap {answer['gap']}" if answer["gap"] else ""
        stderr.print(f"segment {answer['seq']}: {answer['duration_seconds']:.2f} s{flags}")

    async def run() -> int:
        headers = {"Authorization": f"Device {serial}:{secret}"}
        async with httpx.AsyncClient(base_url=platform, headers=headers, timeout=30) as client:
            try:
                result = await pull(
                    url,
                    client,
                    fmt=fmt,
                    target_seconds=segment_seconds,
                    input_options=options,
                    on_segment=show,
                )
            except UploadFailed as exc:
                stderr.print(f"[red]{exc}[/red]")
                return 1
        stderr.print(
            f"session {result.session_id}: {result.segments} segments, {result.bytes} bytes, "
            f"{result.state}, sha256 {result.final_sha256}, evidence {result.evidence_id}"
        )
        return 0

    raise typer.Exit(asyncio.run(run()))
