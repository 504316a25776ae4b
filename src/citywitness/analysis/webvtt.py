"""WebVTT (W3C "WebVTT: The Web Video Text Tracks Format") for transcripts: write and parse.

Cue times are whole milliseconds: ``write`` rounds each time to the nearest millisecond once
and prints it as ``HH:MM:SS.mmm``; ``parse`` reads ``HH:MM:SS.mmm`` or ``MM:SS.mmm`` back to
the same value, so ``parse(write(cues))`` returns the cues exactly (times as milliseconds).
Cue text is escaped (``&``, ``<``, ``>``) and a cue's blank lines are collapsed, since a
blank line ends a cue. ``parse`` takes untrusted input: a malformed file is
``WebVttError`` (a ``ValueError``), never a partial result.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

MIME_TYPE = "text/vtt"
_MAX_MS = (100 * 3600 - 1) * 1000 + 999  # 99:59:59.999, the most two hour digits show
_TIMESTAMP = re.compile(r"^(?:(\d{2,}):)?([0-5]\d):([0-5]\d)\.(\d{3})$")
_TIMING = re.compile(r"^(\S+)[ \t]+-->[ \t]+(\S+)(?:[ \t]+.*)?$")
_HEADER = re.compile(r"^WEBVTT(?:[ \t].*)?$")
_ESCAPES = {"&amp;": "&", "&lt;": "<", "&gt;": ">", "&nbsp;": "\u00a0", "&lrm;": "\u200e"}
_ESCAPES["&rlm;"] = "\u200f"
_ENTITY = re.compile("|".join(re.escape(name) for name in _ESCAPES))
_TAG = re.compile(r"<[^>]*>")
_BLOCK_KEYWORDS = frozenset({"NOTE", "STYLE", "REGION"})


class WebVttError(ValueError):
    """The text is not a WebVTT file this parser accepts."""


@dataclass(frozen=True, slots=True)
class Cue:
    """One cue: start and end in milliseconds, the text (lines joined with newlines)."""

    start_ms: int
    end_ms: int
    text: str
    identifier: str | None = None

    @classmethod
    def from_seconds(
        cls, start_s: float, end_s: float, text: str, identifier: str | None = None
    ) -> Cue:
        return cls(to_ms(start_s), to_ms(end_s), text, identifier)

    @property
    def start_s(self) -> float:
        return self.start_ms / 1000

    @property
    def end_s(self) -> float:
        return self.end_ms / 1000


def to_ms(seconds: float) -> int:
    """Seconds to whole milliseconds, rounding the decimal value half up (1.0005 -> 1001)."""
    return int((Decimal(str(seconds)) * 1000).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def format_timestamp(ms: int) -> str:
    """``HH:MM:SS.mmm`` for a time in milliseconds."""
    if not 0 <= ms <= _MAX_MS:
        raise WebVttError(f"cue time {ms} ms is outside 0..{_MAX_MS}")
    seconds, millis = divmod(ms, 1000)
    minutes, secs = divmod(seconds, 60)
    hours, mins = divmod(minutes, 60)
    return f"{hours:02d}:{mins:02d}:{secs:02d}.{millis:03d}"


def parse_timestamp(text: str) -> int:
    """A WebVTT timestamp to milliseconds."""
    match = _TIMESTAMP.match(text)
    if match is None:
        raise WebVttError(f"bad timestamp {text!r} (expected HH:MM:SS.mmm or MM:SS.mmm)")
    hours, minutes, seconds, millis = match.groups()
    return ((int(hours or 0) * 60 + int(minutes)) * 60 + int(seconds)) * 1000 + int(millis)


def escape(text: str) -> str:
    """Cue text safe to write: entities escaped, no blank line, no ``-->``."""
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    lines = [line.strip() for line in escaped.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    return "\n".join(line for line in lines if line)


def unescape(text: str) -> str:
    """Cue text as plain text: markup tags dropped, entities decoded."""
    return _ENTITY.sub(lambda m: _ESCAPES[m.group(0)], _TAG.sub("", text))


def _check_identifier(identifier: str) -> str:
    """An identifier that reads back as itself (not a timing line, not a NOTE block...)."""
    first = identifier.split(maxsplit=1)[0] if identifier.split() else ""
    if (
        "-->" in identifier
        or "\n" in identifier
        or "\r" in identifier
        or first in _BLOCK_KEYWORDS
        or identifier != identifier.strip()
        or not identifier
    ):
        raise WebVttError(f"bad cue identifier {identifier!r}")
    return identifier


def write(cues: Iterable[Cue]) -> str:
    """A complete WebVTT file. A cue whose text is empty after escaping is left out."""
    parts = ["WEBVTT\n"]
    for cue in cues:
        if cue.end_ms < cue.start_ms:
            raise WebVttError(f"cue ends ({cue.end_ms} ms) before it starts ({cue.start_ms} ms)")
        text = escape(cue.text)
        if not text:
            continue
        block = f"{format_timestamp(cue.start_ms)} --> {format_timestamp(cue.end_ms)}\n{text}\n"
        if cue.identifier is not None:
            block = f"{_check_identifier(cue.identifier)}\n{block}"
        parts.append(block)
    return "\n".join(parts)


def _blocks(text: str) -> list[list[str]]:
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    blocks: list[list[str]] = []
    current: list[str] = []
    for line in lines:
        if line.strip():
            current.append(line)
        elif current:
            blocks.append(current)
            current = []
    if current:
        blocks.append(current)
    return blocks


def _cue(block: list[str]) -> Cue:
    identifier = None
    if "-->" not in block[0]:
        identifier, block = block[0], block[1:]
        if not block:
            raise WebVttError(f"cue {identifier!r} has no timing line")
    match = _TIMING.match(block[0].strip())
    if match is None:
        raise WebVttError(f"bad timing line {block[0]!r}")
    start, end = parse_timestamp(match.group(1)), parse_timestamp(match.group(2))
    if end < start:
        raise WebVttError(f"cue ends before it starts: {block[0]!r}")
    if any("-->" in line for line in block[1:]):
        raise WebVttError("a cue's text contains '-->' (a missing blank line?)")
    return Cue(start, end, unescape("\n".join(block[1:])), identifier)


def parse(text: str) -> list[Cue]:
    """The cues of a WebVTT file (NOTE, STYLE and REGION blocks are skipped)."""
    text = text.removeprefix("\ufeff")
    blocks = _blocks(text)
    if not blocks or _HEADER.match(blocks[0][0]) is None:
        raise WebVttError("not a WebVTT file (the first line must be 'WEBVTT')")
    if any("-->" in line for line in blocks[0][1:]):
        raise WebVttError("the header must be followed by a blank line")
    cues: list[Cue] = []
    for block in blocks[1:]:
        keyword = block[0].split(maxsplit=1)[0] if block[0].split() else ""
        if keyword in _BLOCK_KEYWORDS and "-->" not in block[0]:
            if keyword != "NOTE" and cues:
                raise WebVttError(f"{keyword} block after the first cue")
            continue
        cues.append(_cue(block))
    return cues
