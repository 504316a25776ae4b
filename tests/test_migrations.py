"""Migrations: an empty database upgrades to every head, and the models agree with what the
migrations built (no autogenerate diff), so a model change without a migration fails."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from psycopg import sql
from sqlalchemy import Column, MetaData, String, create_engine
from sqlalchemy.engine import make_url

from citywitness.kit import migrate
from citywitness.schema import metadata

# Tables the migrations create that are not SQLAlchemy models of ours.
FOREIGN_TABLE_PREFIXES = ("procrastinate_",)


@pytest.fixture
def empty_database_url(pg_admin_url: str) -> Iterator[str]:
    name = f"cw_empty_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield make_url(pg_admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(pg_admin_url, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def _current_heads(url: str) -> set[str]:
    engine = create_engine(migrate.sync_url(url))
    try:
        with engine.connect() as conn:
            return set(MigrationContext.configure(conn).get_current_heads())
    finally:
        engine.dispose()


def _script_heads(url: str) -> set[str]:
    return set(ScriptDirectory.from_config(migrate.alembic_config(url)).get_heads())


def _ours(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    if type_ == "table" and name is not None and name.startswith(FOREIGN_TABLE_PREFIXES):
        return False
    table = getattr(obj, "table", None)
    table_name = getattr(table, "name", "") or ""
    return not table_name.startswith(FOREIGN_TABLE_PREFIXES)


def test_empty_database_upgrades_to_every_head(empty_database_url: str) -> None:
    assert _current_heads(empty_database_url) == set()
    migrate.upgrade(empty_database_url)
    assert _current_heads(empty_database_url) == _script_heads(empty_database_url)
    migrate.upgrade(empty_database_url)  # a second upgrade is a no-op
    assert _current_heads(empty_database_url) == _script_heads(empty_database_url)


def test_revisions_form_one_tree_rooted_at_0001(empty_database_url: str) -> None:
    script = ScriptDirectory.from_config(migrate.alembic_config(empty_database_url))
    assert script.get_bases() == ["0001"]
    for revision in script.walk_revisions():
        assert revision.doc, f"revision {revision.revision} has no message"


def _diff(url: str, models: MetaData) -> list[Any]:
    engine = create_engine(migrate.sync_url(url))
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn, opts={"compare_type": True, "include_object": _ours}
            )
            return list(compare_metadata(context, models))
    finally:
        engine.dispose()


def test_models_and_migrations_agree(empty_database_url: str) -> None:
    migrate.upgrade(empty_database_url)
    diff = _diff(empty_database_url, metadata)
    assert diff == [], (
        "the models differ from the migrated schema; add a migration "
        "(alembic revision --autogenerate) for:\n" + "\n".join(map(str, diff))
    )


def test_a_model_change_without_a_migration_is_caught(empty_database_url: str) -> None:
    migrate.upgrade(empty_database_url)
    changed = MetaData(naming_convention=metadata.naming_convention)
    for table in metadata.sorted_tables:
        table.to_metadata(changed)
    changed.tables["users"].append_column(Column("nickname", String(40)))
    diff = _diff(empty_database_url, changed)
    assert [(d[0], d[2], d[3].name) for d in diff] == [("add_column", "users", "nickname")]
