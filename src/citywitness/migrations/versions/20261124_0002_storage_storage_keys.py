"""storage: storage_keys (wrapped data keys of stored objects)

Revision ID: 0002_storage
Revises: 0001
Create Date: 2026-11-24 18:00:00

Also installs a guard trigger: rows are never deleted, a destroyed row never changes again,
and the identity columns (sha256, object_id, sizes, created_at) never change.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_storage"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GUARD_FUNCTION = """
CREATE OR REPLACE FUNCTION cw_storage_keys_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'storage_keys rows are never deleted'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF OLD.destroyed_at IS NOT NULL THEN
        RAISE EXCEPTION 'storage_keys: a destroyed key is final'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF NEW.sha256 <> OLD.sha256 OR NEW.object_id <> OLD.object_id OR NEW.size <> OLD.size
       OR NEW.stored_size <> OLD.stored_size OR NEW.chunk_size <> OLD.chunk_size
       OR NEW.created_at <> OLD.created_at THEN
        RAISE EXCEPTION 'storage_keys: identity columns never change'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END;
$$
"""


def upgrade() -> None:
    op.create_table(
        "storage_keys",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("object_id", sa.Uuid(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("stored_size", sa.BigInteger(), nullable=False),
        sa.Column("chunk_size", sa.Integer(), nullable=False),
        sa.Column("wrapped_key", sa.LargeBinary(), nullable=True),
        sa.Column("kek_id", sa.String(length=200), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("destroyed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "(destroyed_at IS NULL) = (wrapped_key IS NOT NULL)",
            name=op.f("ck_storage_keys_live_has_key"),
        ),
        sa.CheckConstraint("sha256 ~ '^[0-9a-f]{64}$'", name=op.f("ck_storage_keys_sha256_hex")),
        sa.CheckConstraint(
            "size >= 0 AND stored_size > 0 AND chunk_size > 0", name=op.f("ck_storage_keys_sizes")
        ),
        sa.PrimaryKeyConstraint("sha256", name=op.f("pk_storage_keys")),
        sa.UniqueConstraint("object_id", name=op.f("uq_storage_keys_object_id")),
    )
    op.execute(GUARD_FUNCTION)
    op.execute(
        "CREATE TRIGGER storage_keys_guard BEFORE UPDATE OR DELETE ON storage_keys "
        "FOR EACH ROW EXECUTE FUNCTION cw_storage_keys_guard()"
    )
    op.execute(
        "CREATE TRIGGER storage_keys_no_truncate BEFORE TRUNCATE ON storage_keys "
        "FOR EACH STATEMENT EXECUTE FUNCTION cw_refuse_change()"
    )


def downgrade() -> None:
    op.drop_table("storage_keys")
    op.execute("DROP FUNCTION IF EXISTS cw_storage_keys_guard()")
