"""The full-text index of an item (`search_vector`), maintained by the service on every
write of tags or notes, and the query side of it.

The `simple` configuration is language-neutral (no stemming): the platform holds notes in
several languages, and tags are codes more than words.  Tags weigh more than notes.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, func, literal, literal_column

CONFIG: ColumnElement[Any] = literal_column("'simple'::regconfig")


def vector(tags: list[str], notes: str) -> ColumnElement[Any]:
    """SQL: the tsvector of an item with these tags and notes."""
    tag_text = func.to_tsvector(CONFIG, literal(" ".join(tags)))
    note_text = func.to_tsvector(CONFIG, literal(notes))
    return func.setweight(tag_text, literal_column("'A'")).op("||")(
        func.setweight(note_text, literal_column("'B'"))
    )


def query(text: str) -> ColumnElement[Any]:
    """SQL: a tsquery from what a person typed (quotes, OR and -negation understood)."""
    return func.websearch_to_tsquery(CONFIG, literal(text))
