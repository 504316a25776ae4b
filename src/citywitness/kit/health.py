"""Readiness checks: each component reports ok or a reason."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

Check = Callable[[], Awaitable[str | None]]


def healthy(result: str) -> bool:
    """Whether a check's result counts as ready: "ok", or "ok: <note>" (off, degraded)."""
    return result == "ok" or result.startswith("ok: ")


@dataclass
class Readiness:
    """Named checks; a check returns None when healthy or a short reason when not (a
    reason starting with "ok: " is a note: the component is still ready)."""

    checks: dict[str, Check] = field(default_factory=dict)

    def add(self, name: str, check: Check) -> None:
        self.checks[name] = check

    async def run(self) -> dict[str, str]:
        results: dict[str, str] = {}
        for name, check in self.checks.items():
            try:
                problem = await check()
            except Exception as exc:  # noqa: BLE001 - any failure means not ready
                problem = f"{type(exc).__name__}"
            results[name] = "ok" if problem is None else problem
        return results
