"""The ledger's part of an export package, read from the live log: the custody entries of the
exported objects with inclusion proofs into ONE checkpoint, that checkpoint with its
cosignatures, the newest RFC 3161 token at or below it (with a consistency proof up to it),
and the public keys (log, witnesses, TSA roots)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from citywitness.kit.errors import AppError
from citywitness.ledger import tiles
from citywitness.ledger.anchors_models import CheckpointTimestamp
from citywitness.ledger.c2pa_identity import C2paIdentity, load_identity, load_or_create_identity
from citywitness.ledger.export_writer import CustodyEntry, LogEvidence, StampEvidence
from citywitness.ledger.keys import log_vkey
from citywitness.ledger.models import LedgerCheckpoint, LedgerEntry, LedgerLeaf
from citywitness.ledger.witness_models import Cosignature, Witness
from citywitness.ledger.witness_service import cosigned_note
from citywitness.settings import Settings


class CustodyNotSequenced(AppError):
    """Some custody entries of the exported items are not in a signed checkpoint yet."""

    code = "ledger_not_sequenced"
    status = 409


async def _custody(
    session: AsyncSession, object_type: str, object_ids: Sequence[str]
) -> list[tuple[str, int, bytes]]:
    rows = await session.execute(
        select(LedgerEntry.object_id, LedgerLeaf.leaf_index, LedgerEntry.leaf)
        .join(LedgerLeaf, LedgerLeaf.entry_id == LedgerEntry.id)
        .where(LedgerEntry.object_type == object_type, LedgerEntry.object_id.in_(object_ids))
        .order_by(LedgerLeaf.leaf_index)
    )
    return [(str(oid), int(index), bytes(leaf)) for oid, index, leaf in rows.all()]


async def _checkpoint_size(session: AsyncSession, needed: int) -> int:
    """The newest cosigned checkpoint if it covers `needed` leaves, else the newest one."""
    cosigned = await session.scalar(
        select(LedgerCheckpoint.size)
        .join(Cosignature, Cosignature.root == LedgerCheckpoint.root)
        .where(Cosignature.size == LedgerCheckpoint.size)
        .order_by(LedgerCheckpoint.size.desc())
        .limit(1)
    )
    if cosigned is not None and cosigned >= needed:
        return int(cosigned)
    latest = await session.scalar(
        select(LedgerCheckpoint.size).order_by(LedgerCheckpoint.size.desc()).limit(1)
    )
    if latest is None or latest < needed:
        raise CustodyNotSequenced("the custody entries are not in a signed checkpoint yet")
    return int(latest)


async def _stamp(session: AsyncSession, size: int) -> StampEvidence | None:
    stamp = await session.scalar(
        select(CheckpointTimestamp)
        .where(CheckpointTimestamp.size <= size, CheckpointTimestamp.size > 0)
        .order_by(CheckpointTimestamp.size.desc(), CheckpointTimestamp.id.desc())
        .limit(1)
    )
    if stamp is None:
        return None
    note = await session.scalar(
        select(LedgerCheckpoint.note).where(LedgerCheckpoint.size == stamp.size)
    )
    if note is None:
        return None
    proof = await tiles.consistency_proof(session, stamp.size, size)
    return StampEvidence(bytes(stamp.token), bytes(note), tuple(proof))


def _tsa_roots(settings: Settings) -> tuple[bytes, ...]:
    path = settings.ledger.timestamps.trust_roots_file
    if path is None:
        return ()
    full = path if path.is_absolute() else settings.data_dir / path
    return (Path(full).read_bytes(),) if Path(full).is_file() else ()


async def log_evidence(
    session: AsyncSession,
    settings: Settings,
    object_ids: Sequence[str],
    *,
    object_type: str = "evidence",
) -> tuple[LogEvidence, dict[str, tuple[CustodyEntry, ...]]]:
    """Everything the package needs from the log for these objects' custody."""
    rows = await _custody(session, object_type, object_ids)
    total = await session.scalar(
        select(func.count())
        .select_from(LedgerEntry)
        .where(LedgerEntry.object_type == object_type, LedgerEntry.object_id.in_(object_ids))
    )
    if total != len(rows):
        raise CustodyNotSequenced("some custody entries are not sequenced yet")
    needed = max((index + 1 for _, index, _ in rows), default=1)
    size = await _checkpoint_size(session, needed)
    custody: dict[str, list[CustodyEntry]] = {oid: [] for oid in object_ids}
    for oid, index, leaf in rows:
        proof = await tiles.inclusion_proof(session, index, size)
        custody[oid].append(CustodyEntry(index, leaf, tuple(proof)))
    witnesses = await session.scalars(select(Witness.vkey).order_by(Witness.name))
    stamp = await _stamp(session, size)
    evidence = LogEvidence(
        checkpoint_note=await cosigned_note(session, size),
        log_vkey=log_vkey(settings),
        witness_vkeys=tuple(witnesses),
        timestamps=(stamp,) if stamp is not None else (),
        tsa_roots=_tsa_roots(settings),
    )
    return evidence, {oid: tuple(entries) for oid, entries in custody.items()}


def c2pa_identity_for(settings: Settings) -> C2paIdentity:
    """The configured C2PA signing identity, or the platform's own (made on first use)."""
    section = settings.exports

    def full(path: Path) -> Path:
        return path if path.is_absolute() else settings.data_dir / path

    if section.c2pa_cert_chain_file and section.c2pa_key_file and section.c2pa_trust_anchor_file:
        return load_identity(
            chain_file=full(section.c2pa_cert_chain_file),
            key_file=full(section.c2pa_key_file),
            anchor_file=full(section.c2pa_trust_anchor_file),
        )
    return load_or_create_identity(full(section.c2pa_dir), section.organization)
