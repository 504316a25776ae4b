"""Fleet alerts and event retention: the topics each event consumer reads.

`event_consumers.topics` lets the retention job (`alerts:purge_events`) delete only events
that every consumer of their topic has passed (`kit.events.purge`).  Existing rows start
with no topics, which holds back every event above their position until the consumer's
next claim records what it reads.

Revision ID: 0022_fleet_alerts
Revises: 0021_fleet_ops
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0022_fleet_alerts"
down_revision: str | Sequence[str] | None = "0021_fleet_ops"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "event_consumers",
        sa.Column(
            "topics",
            postgresql.ARRAY(sa.String(length=60)),
            server_default=sa.text("'{}'"),
            nullable=False,
        ),
    )


def downgrade() -> None:
    op.drop_column("event_consumers", "topics")
