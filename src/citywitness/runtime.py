"""Process start-up shared by `serve`, `worker` and the other commands.

Resolves the database (embedded unless `CW_DATABASE__URL` is set), migrates it, and tears
everything down again in reverse order.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from citywitness.adapters.embedded_postgres import EmbeddedPostgres
from citywitness.kit import migrate
from citywitness.settings import Settings

log = logging.getLogger(__name__)


@contextmanager
def database_url(settings: Settings, *, upgrade: bool = True) -> Iterator[str]:
    """Yield a ready, migrated database URL; stop the embedded server on exit."""
    embedded: EmbeddedPostgres | None = None
    if settings.database.url is not None:
        url = settings.database.url.get_secret_value()
    else:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        embedded = EmbeddedPostgres(settings.data_dir, settings.database.embedded_database)
        url = embedded.start()
    try:
        if upgrade:
            migrate.upgrade(url)
        yield url
    finally:
        if embedded is not None:
            embedded.stop()
            log.info("embedded postgresql stopped")
