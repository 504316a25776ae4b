"""Derivatives of an evidence item (thumbnail, browser proxy): stored objects of their own.

A derivative is made by a background job from the original, encrypted and stored through
the ContentStore like any object, and recorded here (one row per item and kind).  It is
not evidence: it never appears in search, has no retention of its own and is destroyed
with its item.  Originals are never altered.
"""

from __future__ import annotations

import enum
import uuid

from sqlalchemy import BigInteger, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from citywitness.kit.db import Base, CreatedAt, UUIDPrimaryKey


class DerivativeKind(enum.StrEnum):
    THUMBNAIL = "thumbnail"  # JPEG, settings.evidence.thumbnail_width wide
    PROXY = "proxy"  # low-bitrate H.264/AAC MP4 (fast start) for browser playback


class Derivative(UUIDPrimaryKey, CreatedAt, Base):
    __tablename__ = "evidence_derivatives"
    __table_args__ = (UniqueConstraint("evidence_id", "kind"),)

    evidence_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("evidence_items.id"), index=True)
    kind: Mapped[DerivativeKind] = mapped_column(String(20))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    media_type: Mapped[str] = mapped_column(String(120))
    width: Mapped[int | None]
    height: Mapped[int | None]
