"""Plate watch lists: named lists per department (stolen, wanted, unpaid violations) and
their entries (a plate, an optional country, a reason, an optional expiry).

An entry is never deleted while findings may point at it: removing it sets ``removed_at``
(``removed_by``), so hits stay explainable.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from citywitness.kit.db import Base, CreatedAt, UUIDPrimaryKey


class PlateList(UUIDPrimaryKey, CreatedAt, Base):
    """A department's named list of plates of one kind."""

    __tablename__ = "plate_watchlists"
    __table_args__ = (UniqueConstraint("department_id", "name"),)

    department_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("departments.id"))
    name: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(20))  # stolen, wanted, unpaid_violation
    description: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))


class PlateListEntry(UUIDPrimaryKey, CreatedAt, Base):
    """One plate on a list, matching until ``expires_at`` (if any) or removal."""

    __tablename__ = "plate_watch_entries"
    __table_args__ = (Index("ix_plate_watch_entries_list_plate", "list_id", "plate"),)

    list_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("plate_watchlists.id", ondelete="CASCADE")
    )
    plate: Mapped[str] = mapped_column(String(16))  # normalised: no separators, upper case
    country: Mapped[str | None] = mapped_column(String(2))
    reason: Mapped[str] = mapped_column(Text, default="")
    added_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    expires_at: Mapped[datetime | None]
    removed_at: Mapped[datetime | None]
    removed_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
