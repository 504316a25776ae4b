"""Witnesses on the platform side: registration, cosignatures, cosigned checkpoints.

A cosignature is accepted when the note carries this log's own valid signature on a
checkpoint that is part of this log's tree, and a valid cosignature/v1 by a registered
witness: the signature is the witness's credential, so no API token is needed (one, if
sent, is audited like any other).  A checkpoint signed with this log's key that is *not*
part of its tree is a fork: it is recorded as a critical incident (see witness_forks.py).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from citywitness.access.permissions import Permission
from citywitness.access.principal import Principal
from citywitness.access.service import require_global
from citywitness.kit.jobs import insert_once
from citywitness.ledger.models import LedgerCheckpoint
from citywitness.ledger.note import (
    Checkpoint,
    CosignatureVerifier,
    NoteError,
    NoteSignature,
    SignedNote,
)
from citywitness.ledger.witness_errors import (
    InvalidCosignature,
    InvalidWitnessKey,
    NoCosignedCheckpoint,
    WitnessExists,
)
from citywitness.ledger.witness_forks import fork_against_tree, record_fork
from citywitness.ledger.witness_models import Cosignature, Incident, Witness
from citywitness.ledger.witness_types import AuditRecorder, LogIdentity, decode_checkpoint


@dataclass(frozen=True)
class RecordedCosignature:
    witness: str
    timestamp: int
    new: bool


@dataclass(frozen=True)
class CosignOutcome:
    """A cosigned note handled: what was recorded, or the fork incident it revealed."""

    checkpoint: Checkpoint
    recorded: list[RecordedCosignature]
    incident: Incident | None = None


async def register_witness(
    session: AsyncSession, principal: Principal, *, name: str, vkey: str, auditor: AuditRecorder
) -> Witness:
    """Register a witness by its cosignature vkey (platform-wide `ledger:admin`)."""
    require_global(principal, Permission.LEDGER_ADMIN, action="ledger.witnesses.add")
    return await add_witness(
        session, name=name, vkey=vkey, created_by=principal.user_id, auditor=auditor
    )


async def add_witness(
    session: AsyncSession,
    *,
    name: str,
    vkey: str,
    created_by: uuid.UUID | None,
    auditor: AuditRecorder,
) -> Witness:
    """Register a witness (no permission check: the API and the CLI check first)."""
    try:
        verifier = CosignatureVerifier.from_vkey(vkey)
    except NoteError as exc:
        raise InvalidWitnessKey(str(exc), fields={"vkey": str(exc)}) from exc
    if verifier.name != name:
        raise InvalidWitnessKey(
            "the name must be the key's name", fields={"name": f"the key is {verifier.name!r}"}
        )
    witness = Witness(id=uuid.uuid4(), name=name, vkey=vkey.strip(), created_by_user_id=created_by)
    try:
        async with session.begin_nested():
            session.add(witness)
            await session.flush()
    except IntegrityError as exc:
        raise WitnessExists(f"a witness named {name!r} or with this key exists") from exc
    await auditor.record(
        "ledger.witness.added",
        object_type="ledger_witness",
        object_id=witness.id,
        details={"name": name, "key_id": verifier.key_id.hex()},
    )
    return witness


async def list_witnesses(session: AsyncSession) -> list[Witness]:
    return list(await session.scalars(select(Witness).order_by(Witness.name)))


async def accept_cosigned(
    session: AsyncSession, log: LogIdentity, note_text: str, *, auditor: AuditRecorder
) -> CosignOutcome:
    """Record every valid cosignature by a registered witness on one of our checkpoints."""
    note, checkpoint = decode_checkpoint(log, note_text)
    problem = await fork_against_tree(session, [checkpoint])
    if problem is not None:
        names = sorted({s.name for s in note.signatures if s.name != log.verifier.name})
        incident = await record_fork(
            session,
            summary=problem,
            size=checkpoint.size,
            notes=[note],
            reported_by=",".join(names)[:200] or None,
            auditor=auditor,
        )
        return CosignOutcome(checkpoint, [], incident)
    signers = {s.name for s in note.signatures}
    witnesses = await session.scalars(
        select(Witness).where(Witness.name.in_(signers)).order_by(Witness.name)
    )
    recorded = []
    for witness in witnesses:
        verifier = CosignatureVerifier.from_vkey(witness.vkey)
        timestamp = verifier.verify(note)
        if timestamp is None:
            continue
        signature = next(
            s for s in note.signatures if s.name == verifier.name and s.key_id == verifier.key_id
        )
        new = await _store(session, witness, checkpoint, timestamp, signature)
        recorded.append(RecordedCosignature(witness.name, timestamp, new))
        if new:
            await auditor.record(
                "ledger.cosignature.recorded",
                object_type="ledger_witness",
                object_id=witness.id,
                details={"size": checkpoint.size, "timestamp": timestamp},
            )
    if not recorded:
        raise InvalidCosignature
    return CosignOutcome(checkpoint, recorded)


async def _store(
    session: AsyncSession,
    witness: Witness,
    checkpoint: Checkpoint,
    timestamp: int,
    signature: NoteSignature,
) -> bool:
    values = {
        "witness_id": witness.id,
        "size": checkpoint.size,
        "root": checkpoint.root,
        "timestamp": timestamp,
        "signature": signature.signature,
    }
    return await insert_once(session, Cosignature, values)


async def _cosignature_lines(session: AsyncSession, size: int, root: bytes) -> list[NoteSignature]:
    rows = await session.execute(
        select(Witness, Cosignature)
        .join(Cosignature, Cosignature.witness_id == Witness.id)
        .where(Cosignature.size == size, Cosignature.root == root)
        .order_by(Witness.name)
    )
    lines = []
    for witness, cosignature in rows.all():
        key_id = CosignatureVerifier.from_vkey(witness.vkey).key_id
        lines.append(NoteSignature(witness.name, key_id, cosignature.signature))
    return lines


async def cosigned_note(session: AsyncSession, size: int | None = None) -> bytes:
    """A checkpoint with its cosignatures appended as more signature lines (C2SP).

    With `size`: that checkpoint, with whatever cosignatures it has.  Without: the newest
    checkpoint that at least one witness has cosigned.
    """
    query = select(LedgerCheckpoint)
    if size is None:
        cosigned = select(Cosignature.size).where(Cosignature.root == LedgerCheckpoint.root)
        query = query.where(LedgerCheckpoint.size.in_(cosigned))
    else:
        query = query.where(LedgerCheckpoint.size == size)
    checkpoint = await session.scalar(query.order_by(LedgerCheckpoint.size.desc()).limit(1))
    if checkpoint is None:
        raise NoCosignedCheckpoint
    note = SignedNote.decode(bytes(checkpoint.note))
    lines = await _cosignature_lines(session, checkpoint.size, bytes(checkpoint.root))
    return SignedNote(note.body, (*note.signatures, *lines)).encode()
