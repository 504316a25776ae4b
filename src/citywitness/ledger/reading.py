"""Reading the log: checkpoints, proofs, entries (scoped to what the caller may see), tiles
and entry bundles (C2SP tlog-tiles), and an object's custody history with proofs.

Everything is read against the latest checkpoint: the sequencer writes leaves, tree hashes and
checkpoint in one transaction, so the stored tree and the latest signed size always agree.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from citywitness.access.errors import ObjectNotVisible
from citywitness.access.permissions import Permission
from citywitness.access.principal import Principal
from citywitness.access.registry import Owner, object_type
from citywitness.access.service import ensure_visible, has_grant
from citywitness.ledger import tiles
from citywitness.ledger.errors import (
    CheckpointNotFound,
    EntryNotFound,
    InvalidProofRequest,
    TileNotFound,
)
from citywitness.ledger.merkle import TILE_HEIGHT, TILE_WIDTH, parse_tile_index
from citywitness.ledger.models import LedgerCheckpoint, LedgerEntry, LedgerLeaf, LedgerPending
from citywitness.ledger.tree import TileRef, TreeView, hashes_at_level


async def latest_checkpoint(session: AsyncSession) -> LedgerCheckpoint:
    found = await session.scalar(
        select(LedgerCheckpoint).order_by(LedgerCheckpoint.size.desc()).limit(1)
    )
    if found is None:
        raise CheckpointNotFound("the log has not signed a checkpoint yet")
    return found


async def checkpoint_at(session: AsyncSession, size: int) -> LedgerCheckpoint:
    found = await session.scalar(select(LedgerCheckpoint).where(LedgerCheckpoint.size == size))
    if found is None:
        raise CheckpointNotFound(fields={"size": size})
    return found


async def _tree_size(session: AsyncSession, size: int | None) -> int:
    latest = (await latest_checkpoint(session)).size
    if size is None:
        return latest
    if not 1 <= size <= latest:
        raise InvalidProofRequest(fields={"size": f"must be between 1 and {latest}"})
    return size


async def inclusion(
    session: AsyncSession, index: int, size: int | None
) -> tuple[int, bytes, bytes, list[bytes]]:
    """(size, leaf hash, root, audit path) for leaf `index` in the tree of `size` (latest)."""
    size = await _tree_size(session, size)
    if not 0 <= index < size:
        raise InvalidProofRequest(fields={"index": f"must be below the tree size {size}"})
    leaf = await session.scalar(select(LedgerLeaf.leaf_hash).where(LedgerLeaf.leaf_index == index))
    if leaf is None:  # impossible while leaves and checkpoints commit together
        raise InvalidProofRequest(fields={"index": "not sequenced"})

    def both(view: TreeView) -> tuple[bytes, list[bytes]]:
        return view.root(), view.inclusion_proof(index)

    root, proof = await tiles.compute(session, size, both)
    return size, bytes(leaf), root, proof


async def consistency(
    session: AsyncSession, old: int, new: int | None
) -> tuple[int, bytes, bytes, list[bytes]]:
    """(new size, old root, new root, proof) between two sizes of the log."""
    new = await _tree_size(session, new)
    if not 0 <= old <= new:
        raise InvalidProofRequest(fields={"old": f"must be between 0 and {new}"})

    def all_three(view: TreeView) -> tuple[bytes, bytes, list[bytes]]:
        return view.subtree(0, old), view.root(), view.consistency_proof(old)

    old_root, new_root, proof = await tiles.compute(session, new, all_three)
    return new, old_root, new_root, proof


async def ensure_object_visible(
    session: AsyncSession,
    principal: Principal,
    object_type_name: str,
    object_id: str,
    *,
    must_exist: bool = False,
) -> Owner | None:
    """404 (ObjectNotVisible) unless the caller may read the object an entry is about; its
    owner.  An object of a type no domain registered, or that no longer resolves, is visible
    only to holders of ledger:read_all platform-wide (and never with `must_exist`)."""
    registered = object_type(object_type_name)
    owner = None
    try:
        parsed: uuid.UUID | None = uuid.UUID(object_id)
    except ValueError:
        parsed = None
    if registered is not None and parsed is not None:
        owner = await registered.resolver(session, parsed)
    if registered is None or parsed is None or owner is None:
        if must_exist or principal.departments_with(Permission.LEDGER_READ_ALL) is not None:
            err = ObjectNotVisible(f"no such {object_type_name}")
            err.refusing(Permission.LEDGER_READ_ALL.value, object_type_name, object_id)
            raise err
        return None
    permission = registered.read_permission
    granted = not principal.has_in(permission, owner.department_id) and await has_grant(
        session, principal, permission, object_type_name, parsed
    )
    ensure_visible(
        principal,
        permission,
        department_id=owner.department_id,
        classification=owner.classification,
        object_type=object_type_name,
        object_id=object_id,
        granted=granted,
    )
    return owner


@dataclass(frozen=True)
class EntryView:
    index: int | None
    entry: LedgerEntry

    @property
    def document(self) -> dict[str, Any]:
        value: dict[str, Any] = json.loads(bytes(self.entry.leaf))
        return value


async def entry_at(session: AsyncSession, principal: Principal, index: int) -> EntryView:
    """The entry with leaf `index`, if the caller may see the object it is about."""
    latest = (await latest_checkpoint(session)).size
    row = (
        await session.execute(
            select(LedgerEntry)
            .join(LedgerLeaf, LedgerLeaf.entry_id == LedgerEntry.id)
            .where(LedgerLeaf.leaf_index == index)
        )
    ).scalar_one_or_none()
    if row is None or index >= latest:
        raise EntryNotFound(fields={"index": index})
    await ensure_object_visible(session, principal, row.object_type, row.object_id)
    return EntryView(index, row)


@dataclass(frozen=True)
class Custody:
    checkpoint: LedgerCheckpoint
    entries: list[EntryView]
    proofs: dict[int, list[bytes]]
    pending: int


async def custody(session: AsyncSession, object_type_name: str, object_id: str) -> Custody:
    """An object's entries, oldest first, each sequenced one with its inclusion proof to the
    latest checkpoint (the caller has checked that the object is visible)."""
    checkpoint = await latest_checkpoint(session)
    rows = (
        await session.execute(
            select(LedgerEntry, LedgerLeaf.leaf_index)
            .outerjoin(LedgerLeaf, LedgerLeaf.entry_id == LedgerEntry.id)
            .where(LedgerEntry.object_type == object_type_name, LedgerEntry.object_id == object_id)
            .order_by(LedgerEntry.id)
        )
    ).all()
    size = checkpoint.size
    entries = [
        EntryView(index if index is not None and index < size else None, entry)
        for entry, index in rows
    ]
    indexes = [view.index for view in entries if view.index is not None]

    def proofs_of(view: TreeView) -> dict[int, list[bytes]]:
        return {index: view.inclusion_proof(index) for index in indexes}

    proofs = await tiles.compute(session, size, proofs_of) if indexes else {}
    pending = sum(1 for view in entries if view.index is None)
    return Custody(checkpoint, entries, proofs, pending)


def parse_tile_request(path: str) -> tuple[int | None, int, int | None]:
    """`<L>/<N>[.p/<W>]` or `entries/<N>[.p/<W>]` -> (level or None for entries, N, W)."""
    head, _, rest = path.partition("/")
    width: int | None = None
    if ".p/" in rest:
        rest, _, width_text = rest.partition(".p/")
        if not (width_text.isascii() and width_text.isdigit()) or width_text[0] == "0":
            raise TileNotFound(fields={"path": path})
        width = int(width_text)
        if not 1 <= width < TILE_WIDTH:
            raise TileNotFound(fields={"path": path})
    try:
        index = parse_tile_index(rest)
    except ValueError:
        raise TileNotFound(fields={"path": path}) from None
    if head == "entries":
        return None, index, width
    if not (head.isascii() and head.isdigit()) or (len(head) > 1 and head[0] == "0"):
        raise TileNotFound(fields={"path": path})
    level = int(head)
    if level > 63 // TILE_HEIGHT:
        raise TileNotFound(fields={"path": path})
    return level, index, width


async def _tile_ref(session: AsyncSession, level: int, index: int, width: int | None) -> TileRef:
    size = (await latest_checkpoint(session)).size
    available = hashes_at_level(size, level) - index * TILE_WIDTH
    wanted = width or TILE_WIDTH
    if available < wanted:
        raise TileNotFound(fields={"level": level, "index": index, "width": wanted})
    return TileRef(level, index, wanted)


async def tile_bytes(session: AsyncSession, level: int, index: int, width: int | None) -> bytes:
    """A hash tile: its hashes concatenated (32 bytes each)."""
    ref = await _tile_ref(session, level, index, width)
    return b"".join(await tiles.read_tile(session, ref))


async def entry_bundle(session: AsyncSession, index: int, width: int | None) -> bytes:
    """An entry bundle: each leaf as a big-endian uint16 length and the leaf's bytes."""
    ref = await _tile_ref(session, 0, index, width)
    start = index * TILE_WIDTH
    leaves: Sequence[Any] = (
        await session.scalars(
            select(LedgerEntry.leaf)
            .join(LedgerLeaf, LedgerLeaf.entry_id == LedgerEntry.id)
            .where(LedgerLeaf.leaf_index >= start, LedgerLeaf.leaf_index < start + ref.width)
            .order_by(LedgerLeaf.leaf_index)
        )
    ).all()
    return b"".join(len(leaf).to_bytes(2, "big") + bytes(leaf) for leaf in leaves)


async def pending_count(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(LedgerPending)) or 0)
