"""Suggested mute ranges for a redaction: spoken numbers in the item's transcript.

Phone, ID, card and plate numbers are personal data a released video should not carry.
The speech analyzer's ``speech`` findings hold each segment's words with their times; a run
of consecutive words that together hold at least ``MIN_DIGITS`` digits (written as digits,
"555-0123", or spoken one by one, "five five five ...") becomes a suggestion covering those
words, padded by ``PAD_S`` on each side.  A segment without word times is suggested whole
when its text holds that many digits.  Suggestions are only proposals: the reviewer applies
them with ``PUT /redactions/{id}/mute`` (nothing is muted by itself).  Names are not found
(no shipped model tells a name from other words); years and other numbers are suggested too.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from citywitness.access.principal import Principal
from citywitness.analysis.findings import findings_for
from citywitness.analysis.models import StoredFinding
from citywitness.analysis.redaction_service import visible_redaction
from citywitness.analysis.speech import KIND as SPEECH
from citywitness.audit.service import Auditor

MIN_DIGITS = 4
PAD_S = 0.25
SPOKEN_DIGITS = frozenset(
    {"zero", "oh", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"}
)


@dataclass(frozen=True, slots=True)
class MuteSuggestion:
    start_s: float
    end_s: float
    finding_id: int  # the speech finding (transcript segment) it comes from
    digits: int


def digits_in(word: str) -> int:
    """How many digits a word says: its digit characters, or 1 for a spoken digit."""
    written = sum(ch.isdigit() for ch in word)
    if written:
        return written
    return 1 if word.strip(" .,;:!?-'\"").lower() in SPOKEN_DIGITS else 0


def _padded(finding_id: int, start: float, end: float, digits: int) -> MuteSuggestion:
    return MuteSuggestion(
        round(max(0.0, start - PAD_S), 3), round(end + PAD_S, 3), finding_id, digits
    )


def _from_words(finding_id: int, words: Sequence[dict[str, Any]]) -> list[MuteSuggestion]:
    found: list[MuteSuggestion] = []
    run: list[dict[str, Any]] = []
    count = 0
    for word in [*words, {"word": ""}]:  # the sentinel ends the last run
        said = digits_in(str(word.get("word", "")))
        if said:
            run.append(word)
            count += said
            continue
        if count >= MIN_DIGITS:
            found.append(_padded(finding_id, float(run[0]["start"]), float(run[-1]["end"]), count))
        run, count = [], 0
    return found


def suggest(segments: Iterable[StoredFinding]) -> list[MuteSuggestion]:
    """Mute suggestions for the given ``speech`` findings, in time order."""
    found: list[MuteSuggestion] = []
    for segment in segments:
        words = segment.attributes.get("words") or []
        if words:
            found += _from_words(segment.id, words)
            continue
        count = sum(digits_in(w) for w in str(segment.attributes.get("text", "")).split())
        if count >= MIN_DIGITS:
            end = segment.offset_s + (segment.duration_s or 0.0)
            found.append(MuteSuggestion(segment.offset_s, end, segment.id, count))
    return sorted(found, key=lambda s: (s.start_s, s.finding_id))


async def mute_suggestions(
    session: AsyncSession, principal: Principal, auditor: Auditor, redaction_id: uuid.UUID
) -> list[MuteSuggestion]:
    """Suggested mute ranges for a redaction (redaction:review on its item; audited)."""
    redaction = await visible_redaction(session, principal, redaction_id)
    segments = await findings_for(session, redaction.evidence_id, analyzer=SPEECH, label="speech")
    found = suggest(segments)
    await auditor.record(
        "evidence.redaction.mute_suggestions",
        object_type="evidence",
        object_id=redaction.evidence_id,
        department_id=redaction.department_id,
        details={"redaction_id": str(redaction.id), "suggestions": len(found)},
    )
    return found
