"""Shared builders for the ledger's database tests."""

from __future__ import annotations

import uuid

from citywitness.ledger.events import LedgerActor, LedgerEvent, LedgerKind

DEPARTMENT = uuid.UUID("00000000-0000-4000-8000-000000000001")


def event(n: int, *, object_id: uuid.UUID | None = None) -> LedgerEvent:
    return LedgerEvent(
        kind=LedgerKind.EVIDENCE_PLAYED,
        object_type="evidence",
        object_id=object_id or uuid.UUID(int=n),
        department_id=DEPARTMENT,
        actor=LedgerActor("user", uuid.UUID(int=10**6 + n)),
        details={"n": n},
    )
