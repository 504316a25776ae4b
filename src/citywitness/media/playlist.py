"""The live HLS media playlist of a session (RFC 8216; pure function, tested to the byte).

- fMP4 sessions: `#EXT-X-VERSION:7` and `#EXT-X-MAP` naming the init segment; MPEG-TS:
  version 3, no map.
- Media sequence numbers are the session's `seq`: a segment that has not arrived (a gap)
  is listed with `#EXT-X-GAP` (players skip it) so later numbers keep their place, and a
  late segment later fills it in.
- Whole session as an `EVENT` playlist (default), or a sliding window of the last N.
- `#EXT-X-TARGETDURATION` is the session's declared target, raised to the longest
  segment (rounded up) if one is longer; `#EXT-X-ENDLIST` once the session has ended.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import quote

from citywitness.media.models import SegmentFormat

EXTENSIONS = {SegmentFormat.FMP4: "m4s", SegmentFormat.TS: "ts"}


@dataclass(frozen=True)
class Listed:
    seq: int
    duration: float


def render(
    *,
    fmt: SegmentFormat,
    target_duration: int,
    segments: Sequence[Listed],
    max_seq: int,
    ended: bool,
    token: str,
    window: int = 0,
) -> str:
    """The playlist text; `segments` are the received ones, in any order."""
    by_seq = {s.seq: s.duration for s in segments}
    first = max(0, max_seq - window + 1) if window else 0
    listed = range(first, max_seq + 1)
    longest = max((by_seq.get(seq, 0.0) for seq in listed), default=0.0)
    target = max(target_duration, math.ceil(longest - 1e-6))
    query = f"?vt={quote(token, safe='')}"
    lines = [
        "#EXTM3U",
        f"#EXT-X-VERSION:{7 if fmt is SegmentFormat.FMP4 else 3}",
        f"#EXT-X-TARGETDURATION:{target}",
        f"#EXT-X-MEDIA-SEQUENCE:{first}",
    ]
    if not window:
        lines.append("#EXT-X-PLAYLIST-TYPE:EVENT")
    if fmt is SegmentFormat.FMP4:
        lines.append(f'#EXT-X-MAP:URI="init.mp4{query}"')
    for seq in listed:
        duration = by_seq.get(seq)
        if duration is None:
            lines.append("#EXT-X-GAP")
        lines.append(f"#EXTINF:{duration if duration is not None else target:.3f},")
        lines.append(f"segments/{seq}.{EXTENSIONS[fmt]}{query}")
    if ended:
        lines.append("#EXT-X-ENDLIST")
    return "\n".join(lines) + "\n"
