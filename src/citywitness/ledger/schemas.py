"""API shapes of the ledger.  Hashes are standard base64, as in checkpoints."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class CheckpointOut(BaseModel):
    size: int = Field(description="Number of leaves the checkpoint covers.")
    root: str = Field(description="Root hash, base64.")
    note: str = Field(description="The C2SP signed note (checkpoint body and signatures).")
    created_at: datetime


class InclusionProofOut(BaseModel):
    index: int = Field(description="0-based leaf index.")
    size: int = Field(description="Tree size the proof is for.")
    leaf_hash: str = Field(description="RFC 9162 leaf hash, base64.")
    root: str = Field(description="Root of the tree of `size` leaves, base64.")
    hashes: list[str] = Field(description="The audit path (RFC 9162 2.1.3), base64, leaf first.")


class ConsistencyProofOut(BaseModel):
    old: int = Field(description="Size of the older tree.")
    new: int = Field(description="Size of the newer tree.")
    old_root: str = Field(description="Root of the older tree, base64.")
    new_root: str = Field(description="Root of the newer tree, base64.")
    hashes: list[str] = Field(description="The consistency proof (RFC 9162 2.1.4), base64.")


class EntryOut(BaseModel):
    index: int | None = Field(description="0-based leaf index; null until sequenced.")
    entry_id: int = Field(description="The entry's id in the platform's database.")
    kind: str = Field(description="Custody event kind, e.g. `evidence.ingested`.")
    leaf_hash: str = Field(description="RFC 9162 leaf hash of the canonical leaf bytes, base64.")
    leaf: dict[str, Any] = Field(
        description="The leaf document; its RFC 8785 canonical form is the hashed bytes."
    )


class CustodyEntryOut(EntryOut):
    inclusion_proof: list[str] | None = Field(
        description="Audit path to the checkpoint below, base64; null until sequenced."
    )


class CustodyOut(BaseModel):
    evidence_id: uuid.UUID
    checkpoint: CheckpointOut = Field(
        description="The latest checkpoint, which every proof below leads to."
    )
    entries: list[CustodyEntryOut] = Field(description="The item's custody entries, in order.")
    pending: int = Field(description="Entries not yet in a checkpoint (sequenced within seconds).")
