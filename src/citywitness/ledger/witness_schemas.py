"""API shapes of witnesses, cosignatures, fork reports, incidents, time stamps, anchors."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

MAX_NOTE = 8192


class WitnessIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200, description="The key name in the vkey.")
    vkey: str = Field(
        min_length=1,
        max_length=400,
        description="The witness's cosignature/v1 verifier key: <name>+<key id>+<key>.",
    )


class WitnessOut(BaseModel):
    id: uuid.UUID
    name: str
    vkey: str
    created_at: datetime


class CosignedIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: str = Field(
        min_length=1,
        max_length=MAX_NOTE,
        description=(
            "A checkpoint signed by this log with the witness's cosignature line(s) appended "
            "(C2SP signed note)."
        ),
    )


class CosignatureOut(BaseModel):
    witness: str
    timestamp: int = Field(description="The cosignature's time (Unix seconds), as signed.")
    new: bool = Field(description="False when this witness had already cosigned this checkpoint.")


class CosignedOut(BaseModel):
    size: int
    root: str = Field(description="Base64 root hash of the cosigned checkpoint.")
    cosignatures: list[CosignatureOut]


class ForkReportIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    notes: list[str] = Field(
        min_length=1,
        max_length=4,
        description="Checkpoints signed by this log that contradict each other or its tree.",
    )
    proof: list[str] = Field(
        default_factory=list,
        max_length=128,
        description="The (failing) consistency proof the reporter was given, base64 hashes.",
    )
    witness: str | None = Field(default=None, max_length=200, description="Who reports.")


class IncidentOut(BaseModel):
    id: uuid.UUID
    kind: str
    severity: str
    size: int | None
    summary: str
    reported_by: str | None
    detected_at: datetime
    evidence: dict[str, Any]
    acknowledged_at: datetime | None = None
    acknowledgement: str | None = None


class AcknowledgeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: str = Field(min_length=1, max_length=1000, description="What was found and done.")


class AnchorReceiptOut(BaseModel):
    anchor: str
    size: int
    root: str
    reference: str
    anchored_at: datetime
    details: dict[str, Any]
