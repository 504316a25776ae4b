"""The `citywitness` command: thin adapters that parse arguments and call services."""

from __future__ import annotations

from citywitness.cli.core import app


def main() -> None:
    app()


__all__ = ["app", "main"]
