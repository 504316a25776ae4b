"""`citywitness redact VIDEO -o OUT`: blur faces and plates in a video file, offline.

File to file: no server, no database, no settings.  Detection runs on every ``--every``-th
frame (CenterFace for faces, the text-line plate detector for plates), boxes are carried
between detections, and the result is an H.264 MP4 with the audio copied (or silenced in
the ``--mute`` ranges).  Faces are only covered, never identified.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated

import av.error
import typer
from rich.console import Console

from citywitness.analysis import redaction as core
from citywitness.analysis.redaction_render import render
from citywitness.cli.core import app

stdout = Console(highlight=False, soft_wrap=True)
stderr = Console(stderr=True, highlight=False, soft_wrap=True)


def _mute(ranges: list[str]) -> tuple[tuple[float, float], ...]:
    try:
        return core.merge_ranges(core.parse_range(r) for r in ranges)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--mute") from exc


@app.command("redact")
def redact(
    video: Annotated[
        Path, typer.Argument(help="The video to redact.", exists=True, dir_okay=False)
    ],
    *,
    out: Annotated[Path, typer.Option("-o", "--out", help="Where to write the MP4.")],
    mode: Annotated[str, typer.Option(help="blur, or solid (black boxes).")] = "blur",
    no_faces: Annotated[bool, typer.Option("--no-faces", help="Leave faces.")] = False,
    no_plates: Annotated[bool, typer.Option("--no-plates", help="Leave plates.")] = False,
    mute: Annotated[
        list[str] | None,
        typer.Option(help="Silence START-END seconds (repeatable), e.g. 12.5-14."),
    ] = None,
    every: Annotated[int, typer.Option(min=1, max=30, help="Detect on every n-th frame.")] = 2,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Blur (or black out) faces and licence plates in VIDEO, writing a new MP4."""
    if mode not in core.MODES:
        raise typer.BadParameter("use blur or solid", param_hint="--mode")
    if out.resolve() == video.resolve():
        raise typer.BadParameter("the output must not be the input", param_hint="--out")
    ranges = _mute(mute or [])
    started = time.perf_counter()
    try:
        found_by = core.detectors(faces=not no_faces, plates=not no_plates)
        detection = core.detect(video, found_by, every=every)
        plan = core.Plan(tuple(detection.tracks), ranges, mode)
        made = render(video, out, plan)
    except (ValueError, OSError, av.error.FFmpegError) as exc:
        stderr.print(f"[red]cannot redact:[/red] {exc}")
        raise typer.Exit(1) from exc
    seconds = time.perf_counter() - started
    tracks = {
        label: sum(1 for t in detection.tracks if t.label == label) for label in ("face", "plate")
    }
    summary = {
        "input": str(video),
        "output": str(out),
        "frames": made.frames,
        "sampled_frames": detection.sampled,
        "tracks": tracks,
        "boxes_drawn": made.covered,
        "audio": made.audio,
        "muted": [list(r) for r in ranges],
        "plan_sha256": plan.digest(),
        "seconds": round(seconds, 2),
        "fps": round(made.frames / seconds, 1) if seconds > 0 else None,
    }
    if as_json:
        typer.echo(json.dumps(summary))
        return
    stdout.print(
        f"{out}: {made.frames} frames, {tracks['face']} face and "
        f"{tracks['plate']} plate tracks, {made.covered} boxes drawn, audio "
        f"{made.audio}, {seconds:.1f} s ({summary['fps']} fps)"
    )
