"""Test harness: a real PostgreSQL (embedded by default, external with CW_TEST_DB=external),
migrated once with Alembic into a template database; each test runs in a transaction that
is rolled back, or (for tests that need real commits) in its own copy of the template.
The external pass runs only the tests that use that PostgreSQL (see
`pytest_collection_modifyitems`); docs/operations.md explains the suite's time budget."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from psycopg import sql
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from citywitness.adapters.embedded_postgres import EmbeddedPostgres
from citywitness.app import create_app
from citywitness.kit import migrate
from citywitness.kit.db import Database, async_url
from citywitness.settings import Settings

# Timing is never asserted in tests: no per-example deadline, and no health check that fails
# a test because a loaded machine generated its examples slowly.  Everything else is kept.
hypothesis_settings.register_profile(
    "citywitness", deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
hypothesis_settings.load_profile("citywitness")

EXTERNAL_DEFAULT = "postgresql://postgres@127.0.0.1:5432/postgres"


def _test_db_mode() -> str:
    return os.environ.get("CW_TEST_DB", "embedded")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The external pass runs only the tests that use the PostgreSQL under test.

    Which ones is read from each test's fixture closure: a test runs against the external
    server when it depends, directly or through other fixtures, on `pg_admin_url` (every
    database fixture below does).  The others (pure logic, media, subprocess platforms that
    start their own embedded PostgreSQL) would only repeat the embedded pass, so they are
    deselected there and reported as such.
    """
    if _test_db_mode() != "external":
        return
    kept: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    for item in items:
        uses_db = "pg_admin_url" in getattr(item, "fixturenames", ())
        (kept if uses_db else dropped).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


def _with_db(url: str, name: str) -> str:
    return make_url(url).set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def pg_admin_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of a maintenance database on the server under test."""
    mode = _test_db_mode()
    if mode == "external":
        yield os.environ.get("CW_TEST_DATABASE_URL", EXTERNAL_DEFAULT)
        return
    if mode != "embedded":
        raise pytest.UsageError(f"CW_TEST_DB must be embedded or external, not {mode!r}")
    server = EmbeddedPostgres(Path(tmp_path_factory.mktemp("pg")), database="postgres")
    url = server.start()
    try:
        yield url
    finally:
        server.stop()


def _create_db(admin_url: str, name: str, template: str | None = None) -> str:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        query = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if template:
            query = sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(name), sql.Identifier(template)
            )
        conn.execute(query)
    return _with_db(admin_url, name)


def _drop_db(admin_url: str, name: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


# Rolled-back tests leave dead rows behind; autovacuum would then ANALYZE a table as empty
# while it still has pages, and the planner would trust "0 rows" inside the next test that
# fills it in its own transaction (a nested loop over 70,000 ledger rows took minutes).  The
# test databases keep the "never analyzed" estimates (from the table's current size) instead.
_NO_AUTOVACUUM = """
DO $$
DECLARE t regclass;
BEGIN
    FOR t IN SELECT c.oid::regclass FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema')
                   AND n.nspname NOT LIKE 'pg_toast%'
    LOOP
        EXECUTE format('ALTER TABLE %s SET (autovacuum_enabled = off)', t);
    END LOOP;
END $$
"""


def _no_autovacuum(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(_NO_AUTOVACUUM)


@pytest.fixture(scope="session")
def template_db(pg_admin_url: str) -> Iterator[str]:
    """Name of a database migrated to head, copied by `fresh_database_url`."""
    name = f"cw_template_{os.getpid()}"
    _drop_db(pg_admin_url, name)
    url = _create_db(pg_admin_url, name)
    migrate.upgrade(url)
    _no_autovacuum(url)
    try:
        yield name
    finally:
        _drop_db(pg_admin_url, name)


@pytest.fixture(scope="session")
def database_url(pg_admin_url: str, template_db: str) -> Iterator[str]:
    """A migrated database shared by the rolled-back tests of this session."""
    name = f"cw_test_{os.getpid()}"
    _drop_db(pg_admin_url, name)
    url = _create_db(pg_admin_url, name, template=template_db)
    try:
        yield url
    finally:
        _drop_db(pg_admin_url, name)


@pytest.fixture
def fresh_database_url(pg_admin_url: str, template_db: str) -> Iterator[str]:
    """A migrated database of this test's own, for tests whose work must really commit."""
    name = f"cw_fresh_{uuid.uuid4().hex[:12]}"
    url = _create_db(pg_admin_url, name, template=template_db)
    try:
        yield url
    finally:
        _drop_db(pg_admin_url, name)


@pytest.fixture(scope="session")
async def rollback_engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    """The engine of the rolled-back tests: its pooled connection is reused from test to test
    (a new PostgreSQL connection per test, with its backend start-up, cost more than most of
    the tests).  Whatever a test did in it (rows, SET, DDL) goes with its rollback."""
    engine = create_async_engine(async_url(database_url), pool_pre_ping=True)
    try:
        yield engine
    finally:
        await engine.dispose()


@pytest.fixture
async def connection(rollback_engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    async with rollback_engine.connect() as conn:
        transaction = await conn.begin()
        try:
            yield conn
        finally:
            await transaction.rollback()


@pytest.fixture
def db(connection: AsyncConnection, database_url: str) -> Database:
    """A Database whose every session runs inside the test's rolled-back transaction."""
    return Database.bound_to(connection, database_url)


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        database={"url": database_url},  # type: ignore[arg-type]
        jobs={"in_process_worker": False},  # type: ignore[arg-type]
    )


@pytest.fixture
def app(settings: Settings, db: Database):  # type: ignore[no-untyped-def]
    return create_app(settings, db)


@pytest.fixture
async def client(app) -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c
