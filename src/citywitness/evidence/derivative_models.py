"""Derivatives of an evidence item (thumbnail, browser proxy, redacted videos): stored
objects of their own.

A derivative is made by a background job from the original, encrypted and stored through
the ContentStore like any object, and recorded here: one row per item and kind, except
redacted videos, of which an item has one per distinct content (several redactions; which
redaction made which is kept by analysis, `redactions.derivative_sha256`).  It is not
evidence: it never appears in search, has no retention of its own and is destroyed with
its item.  Originals are never altered.
"""

from __future__ import annotations

import enum
import uuid

from sqlalchemy import BigInteger, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from citywitness.kit.db import Base, CreatedAt, UUIDPrimaryKey


class DerivativeKind(enum.StrEnum):
    THUMBNAIL = "thumbnail"  # JPEG, settings.evidence.thumbnail_width wide
    PROXY = "proxy"  # low-bitrate H.264/AAC MP4 (fast start) for browser playback
    REDACTED = "redacted"  # a redaction's video (analysis/redaction_*.py); several per item


# Each kind once per item, except redacted videos: once per item and content.
_ONE_PER_KIND = text("kind <> 'redacted'")
_ONE_PER_CONTENT = text("kind = 'redacted'")


class Derivative(UUIDPrimaryKey, CreatedAt, Base):
    __tablename__ = "evidence_derivatives"
    __table_args__ = (
        Index(
            "uq_evidence_derivatives_evidence_id_kind",
            "evidence_id",
            "kind",
            unique=True,
            postgresql_where=_ONE_PER_KIND,
        ),
        Index(
            "uq_evidence_derivatives_redacted",
            "evidence_id",
            "sha256",
            unique=True,
            postgresql_where=_ONE_PER_CONTENT,
        ),
    )

    evidence_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("evidence_items.id"), index=True)
    kind: Mapped[DerivativeKind] = mapped_column(String(20))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    media_type: Mapped[str] = mapped_column(String(120))
    width: Mapped[int | None]
    height: Mapped[int | None]
