"""`citywitness ledger verify`: recompute the live log end to end from its leaves.

Reads every entry in index order and checks, naming the first failure:
- each entry's stored leaf hash is H(0x00 || its canonical JSON), and the sequence row agrees;
- the indexes are dense (0, 1, 2, ...);
- the stored subtree hashes (the tiles above level 0) equal the ones recomputed;
- each checkpoint's root is the root recomputed over its first `size` leaves, its note's body
  is that checkpoint, and the log key's signature on it verifies.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from citywitness.ledger.merkle import (
    EMPTY_ROOT,
    TILE_HEIGHT,
    leaf_hash,
    node_hash,
)
from citywitness.ledger.models import LedgerCheckpoint, LedgerTreeHash
from citywitness.ledger.note import Checkpoint, NoteError, NoteVerifier, SignedNote

BATCH = 10_000

Progress = Callable[[int, int], None]  # (leaves done, leaves in all)


@dataclass
class Report:
    leaves: int = 0
    checkpoints: int = 0
    tree_hashes: int = 0
    failures: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures


class _Frontier:
    """The right edge of a growing tree: the root at any size in O(log n)."""

    def __init__(self) -> None:
        self.stack: list[tuple[int, bytes]] = []
        self.levels: dict[int, list[bytes]] = {}  # tile level -> completed subtree hashes

    def push(self, value: bytes) -> None:
        height, current = 0, value
        while self.stack and self.stack[-1][0] == height:
            current = node_hash(self.stack.pop()[1], current)
            height += 1
            if height % TILE_HEIGHT == 0:
                self.levels.setdefault(height, []).append(current)
        self.stack.append((height, current))

    def root(self) -> bytes:
        if not self.stack:
            return EMPTY_ROOT
        root = self.stack[-1][1]
        for _, value in reversed(self.stack[:-1]):
            root = node_hash(value, root)
        return root


def _check_note(
    row: LedgerCheckpoint, origin: str, verifier: NoteVerifier, root: bytes
) -> str | None:
    if bytes(row.root) != root:
        return f"checkpoint {row.size}: stored root differs from the recomputed root"
    try:
        note = SignedNote.decode(bytes(row.note))
        parsed = Checkpoint.parse(note.body)
    except NoteError as exc:
        return f"checkpoint {row.size}: malformed note ({exc})"
    if parsed != Checkpoint(origin, row.size, root):
        return f"checkpoint {row.size}: the signed note names another size, root or origin"
    if not verifier.verify(note):
        return f"checkpoint {row.size}: the log key's signature does not verify"
    return None


async def _total(session: AsyncSession) -> int:
    return int(await session.scalar(text("SELECT count(*) FROM ledger_leaves")) or 0)


async def _leaf_batch(session: AsyncSession, after: int) -> list[tuple[int, bytes, bytes, bytes]]:
    """The next BATCH sequenced leaves after index `after`, each with its entry's hash and JSON.

    Two index-range reads instead of a join: a join planned on stale statistics (a nested
    loop over a sequential scan) made a large log's check quadratic.  A leaf whose entry is
    gone is left out, as the join would, and `_check_leaf` then names the gap.
    """
    leaves = (
        await session.execute(
            text(
                "SELECT leaf_index, entry_id, leaf_hash FROM ledger_leaves "
                "WHERE leaf_index > :after ORDER BY leaf_index LIMIT :n"
            ),
            {"after": after, "n": BATCH},
        )
    ).all()
    if not leaves:
        return []
    entries = {
        entry_id: (bytes(entry_hash), bytes(leaf))
        for entry_id, entry_hash, leaf in await session.execute(
            text("SELECT id, leaf_hash, leaf FROM ledger_entries WHERE id = ANY(:ids)"),
            {"ids": [entry_id for _, entry_id, _ in leaves]},
        )
    }
    return [
        (index, bytes(leaf_hash), *entries[entry_id])
        for index, entry_id, leaf_hash in leaves
        if entry_id in entries
    ]


async def verify_log(session: AsyncSession, vkey: str, progress: Progress | None = None) -> Report:
    """Check the whole log (see the module docstring); stops at the first failure."""
    verifier = NoteVerifier.from_vkey(vkey)
    report = Report()
    checkpoints = list(
        await session.scalars(select(LedgerCheckpoint).order_by(LedgerCheckpoint.size))
    )
    total = await _total(session)
    frontier, pending = _Frontier(), list(checkpoints)
    while pending and pending[0].size == 0:
        if problem := _check_note(pending.pop(0), verifier.name, verifier, EMPTY_ROOT):
            report.failures.append(problem)
            return report
        report.checkpoints += 1
    last = -1
    while True:
        rows = await _leaf_batch(session, last)
        if not rows:
            break
        for index, sequenced_hash, entry_hash, leaf in rows:
            problem = _check_leaf(
                index, last, bytes(sequenced_hash), bytes(entry_hash), bytes(leaf)
            )
            if problem:
                report.failures.append(problem)
                return report
            frontier.push(bytes(sequenced_hash))
            last = index
            report.leaves += 1
            while pending and pending[0].size == report.leaves:
                row = pending.pop(0)
                if problem := _check_note(row, verifier.name, verifier, frontier.root()):
                    report.failures.append(problem)
                    return report
                report.checkpoints += 1
        if progress:
            progress(report.leaves, total)
    if pending:
        report.failures.append(
            f"checkpoint {pending[0].size}: covers more leaves than the log has ({report.leaves})"
        )
        return report
    await _check_tree_hashes(session, frontier, report)
    return report


def _check_leaf(index: int, last: int, sequenced: bytes, stored: bytes, leaf: bytes) -> str | None:
    if index != last + 1:
        return f"leaf {last + 1}: missing (the next sequenced index is {index})"
    if leaf_hash(leaf) != stored:
        return f"leaf {index}: its entry's bytes do not hash to the stored leaf hash"
    if sequenced != stored:
        return f"leaf {index}: the sequenced leaf hash differs from the entry's"
    return None


async def _check_tree_hashes(session: AsyncSession, frontier: _Frontier, report: Report) -> None:
    stored = await session.execute(
        select(LedgerTreeHash.level, LedgerTreeHash.node_index, LedgerTreeHash.hash).order_by(
            LedgerTreeHash.level, LedgerTreeHash.node_index
        )
    )
    seen: dict[int, int] = {}
    for level, index, value in stored:
        expected = frontier.levels.get(level, [])
        if index >= len(expected) or expected[index] != bytes(value):
            report.failures.append(f"tree hash {level}/{index}: differs from the recomputed one")
            return
        seen[level] = seen.get(level, 0) + 1
        report.tree_hashes += 1
    for level, values in frontier.levels.items():
        if seen.get(level, 0) != len(values):
            report.failures.append(f"tree hashes of level {level}: {len(values)} expected")
            return
