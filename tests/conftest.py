"""Test harness: a real PostgreSQL (embedded by default, external with CW_TEST_DB=external),
migrated once with Alembic into a template database; each test runs in a transaction that
is rolled back, or (for tests that need real commits) in its own copy of the template."""

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
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

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


def _with_db(url: str, name: str) -> str:
    return make_url(url).set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def pg_admin_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of a maintenance database on the server under test."""
    mode = os.environ.get("CW_TEST_DB", "embedded")
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


@pytest.fixture(scope="session")
def template_db(pg_admin_url: str) -> Iterator[str]:
    """Name of a database migrated to head, copied by `fresh_database_url`."""
    name = f"cw_template_{os.getpid()}"
    _drop_db(pg_admin_url, name)
    migrate.upgrade(_create_db(pg_admin_url, name))
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


@pytest.fixture
async def connection(database_url: str) -> AsyncIterator[AsyncConnection]:
    engine = create_async_engine(async_url(database_url))
    async with engine.connect() as conn:
        transaction = await conn.begin()
        try:
            yield conn
        finally:
            await transaction.rollback()
    await engine.dispose()


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
