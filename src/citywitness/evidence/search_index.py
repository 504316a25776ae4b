"""The full-text index of an item (`search_vector`), maintained by the service on every
write of tags or notes, and the query side of it.

Analysis adds what its analyzers found (transcripts, plate text) through `set_analysis_text`.

The `simple` configuration is language-neutral (no stemming): the platform holds notes in
several languages, and tags are codes more than words.  Tags weigh more than notes.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import ColumnElement, func, literal, literal_column, select
from sqlalchemy.ext.asyncio import AsyncSession

from citywitness.evidence.models import EvidenceItem

CONFIG: ColumnElement[Any] = literal_column("'simple'::regconfig")


def vector(tags: list[str], notes: str, analysis_text: str = "") -> ColumnElement[Any]:
    """SQL: the tsvector of an item with these tags, notes and analysis text (weakest)."""
    tag_text = func.to_tsvector(CONFIG, literal(" ".join(tags)))
    note_text = func.to_tsvector(CONFIG, literal(notes))
    found_text = func.to_tsvector(CONFIG, literal(analysis_text))
    return (
        func.setweight(tag_text, literal_column("'A'"))
        .op("||")(func.setweight(note_text, literal_column("'B'")))
        .op("||")(func.setweight(found_text, literal_column("'C'")))
    )


def query(text: str) -> ColumnElement[Any]:
    """SQL: a tsquery from what a person typed (quotes, OR and -negation understood)."""
    return func.websearch_to_tsquery(CONFIG, literal(text))


async def set_analysis_text(session: AsyncSession, evidence_id: uuid.UUID, text: str) -> None:
    """Replace an item's analysis text and recompute its search vector (no change: no write)."""
    item = await session.scalar(
        select(EvidenceItem).where(EvidenceItem.id == evidence_id).with_for_update()
    )
    if item is None or item.analysis_text == text:
        return
    item.analysis_text = text
    item.search_vector = vector(item.tags, item.notes, text)
    await session.flush()
