"""HTTP adapter of the ledger: checkpoints, verifier key, proofs, entries, C2SP tlog-tiles
(`/ledger/tile/...`), and an evidence item's custody history (`/evidence/{id}/custody`).

A log client (witness, auditor) uses `<public url>/api/v1/ledger` as the log's URL: it finds
`checkpoint` and `tile/<L>/<N>[.p/<W>]` under it, as tlog-tiles says.
"""

from __future__ import annotations

import base64
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import PlainTextResponse, Response

from citywitness.access.permissions import Permission
from citywitness.access.service import require, require_global
from citywitness.api.deps import AuditorDep, CurrentPrincipal, DbSession, SettingsDep
from citywitness.kit.web import error_responses
from citywitness.ledger import reading
from citywitness.ledger.keys import log_vkey
from citywitness.ledger.models import LedgerCheckpoint
from citywitness.ledger.schemas import (
    CheckpointOut,
    ConsistencyProofOut,
    CustodyEntryOut,
    CustodyOut,
    EntryOut,
    InclusionProofOut,
)

router = APIRouter(prefix="/ledger", tags=["ledger"])
custody_router = APIRouter(prefix="/evidence", tags=["ledger"])

TEXT = {"text/plain": {"schema": {"type": "string"}}}
BINARY = {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}
IMMUTABLE = "private, max-age=31536000, immutable"
SizeQuery = Annotated[
    int | None, Query(ge=1, le=2**62, description="Tree size; default: the latest checkpoint's.")
]


def _b64(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


def _checkpoint_out(row: LedgerCheckpoint) -> CheckpointOut:
    return CheckpointOut(
        size=row.size,
        root=_b64(bytes(row.root)),
        note=bytes(row.note).decode("utf-8"),
        created_at=row.created_at,
    )


def _note(row: LedgerCheckpoint, cache: str) -> PlainTextResponse:
    return PlainTextResponse(bytes(row.note).decode("utf-8"), headers={"Cache-Control": cache})


@router.get(
    "/checkpoint",
    response_class=Response,
    summary="The latest signed checkpoint (C2SP tlog-checkpoint signed note)",
    responses={200: {"content": TEXT}, **error_responses(401, 403, 404)},
)
async def get_checkpoint(session: DbSession, principal: CurrentPrincipal) -> PlainTextResponse:
    require(principal, Permission.LEDGER_READ)
    return _note(await reading.latest_checkpoint(session), "no-cache")


@router.get(
    "/checkpoints/{size}",
    response_class=Response,
    summary="The signed checkpoint of one tree size",
    responses={200: {"content": TEXT}, **error_responses(401, 403, 404, 422)},
)
async def get_checkpoint_at(
    session: DbSession, principal: CurrentPrincipal, size: Annotated[int, Path(ge=0, le=2**62)]
) -> PlainTextResponse:
    require(principal, Permission.LEDGER_READ)
    return _note(await reading.checkpoint_at(session, size), IMMUTABLE)


@router.get(
    "/key",
    response_class=Response,
    summary="The log's verifier key (signed-note vkey: <origin>+<key id>+<key>)",
    responses={200: {"content": TEXT}, **error_responses(401, 403)},
)
async def get_key(principal: CurrentPrincipal, settings: SettingsDep) -> PlainTextResponse:
    require(principal, Permission.LEDGER_READ)
    return PlainTextResponse(log_vkey(settings) + "\n")


@router.get(
    "/proof/inclusion",
    summary="Inclusion proof of one leaf (RFC 9162 audit path)",
    responses=error_responses(400, 401, 403, 404, 422),
)
async def get_inclusion_proof(
    session: DbSession,
    principal: CurrentPrincipal,
    index: Annotated[int, Query(ge=0, le=2**62, description="0-based leaf index.")],
    size: SizeQuery = None,
) -> InclusionProofOut:
    require(principal, Permission.LEDGER_READ)
    tree_size, leaf, root, proof = await reading.inclusion(session, index, size)
    return InclusionProofOut(
        index=index,
        size=tree_size,
        leaf_hash=_b64(leaf),
        root=_b64(root),
        hashes=[_b64(h) for h in proof],
    )


@router.get(
    "/proof/consistency",
    summary="Consistency proof between two tree sizes (RFC 9162)",
    responses=error_responses(400, 401, 403, 404, 422),
)
async def get_consistency_proof(
    session: DbSession,
    principal: CurrentPrincipal,
    old: Annotated[int, Query(ge=0, le=2**62, description="The older tree size.")],
    new: Annotated[
        int | None,
        Query(ge=1, le=2**62, description="The newer tree size; default: the latest."),
    ] = None,
) -> ConsistencyProofOut:
    require(principal, Permission.LEDGER_READ)
    new_size, old_root, new_root, proof = await reading.consistency(session, old, new)
    return ConsistencyProofOut(
        old=old,
        new=new_size,
        old_root=_b64(old_root),
        new_root=_b64(new_root),
        hashes=[_b64(h) for h in proof],
    )


def _entry_out(view: reading.EntryView) -> dict[str, Any]:
    return {
        "index": view.index,
        "entry_id": view.entry.id,
        "kind": view.entry.kind,
        "leaf_hash": _b64(bytes(view.entry.leaf_hash)),
        "leaf": view.document,
    }


@router.get(
    "/entries/{index}",
    summary="One log entry (404 if it is about an object you may not see)",
    responses=error_responses(401, 403, 404, 422),
)
async def get_entry(
    session: DbSession,
    principal: CurrentPrincipal,
    auditor: AuditorDep,
    index: Annotated[int, Path(ge=0, le=2**62)],
) -> EntryOut:
    require(principal, Permission.LEDGER_READ)
    view = await reading.entry_at(session, principal, index)
    await auditor.record(
        "ledger.entry.read",
        object_type=view.entry.object_type,
        object_id=view.entry.object_id,
        department_id=view.entry.department_id,
        details={"index": index},
    )
    return EntryOut(**_entry_out(view))


@router.get(
    "/tile/{tile_path:path}",
    response_class=Response,
    summary="C2SP tlog-tiles: hash tiles <L>/<N>[.p/<W>]; entry bundles entries/<N>[.p/<W>]",
    description=(
        "Hash tiles need ledger:read. Entry bundles hold every leaf, whatever object it is "
        "about, so they need ledger:read_all held platform-wide."
    ),
    responses={200: {"content": BINARY}, **error_responses(401, 403, 404)},
)
async def get_tile(
    session: DbSession,
    principal: CurrentPrincipal,
    auditor: AuditorDep,
    tile_path: Annotated[str, Path(max_length=64, description="e.g. 0/x001/234.p/17")],
) -> Response:
    require(principal, Permission.LEDGER_READ)
    level, index, width = reading.parse_tile_request(tile_path)
    if level is None:
        require_global(principal, Permission.LEDGER_READ_ALL, action="ledger.entries.read")
        data = await reading.entry_bundle(session, index, width)
        await auditor.record(
            "ledger.entries.read", details={"bundle": index, "width": width or 256}
        )
    else:
        data = await reading.tile_bytes(session, level, index, width)
    cache = "no-cache" if width else IMMUTABLE
    return Response(data, media_type="application/octet-stream", headers={"Cache-Control": cache})


@custody_router.get(
    "/{evidence_id}/custody",
    summary="An item's custody history: its ledger entries with inclusion proofs",
    responses=error_responses(401, 404, 422),
)
async def get_custody(
    session: DbSession,
    principal: CurrentPrincipal,
    auditor: AuditorDep,
    evidence_id: uuid.UUID,
) -> CustodyOut:
    owner = await reading.ensure_object_visible(
        session, principal, "evidence", str(evidence_id), must_exist=True
    )
    found = await reading.custody(session, "evidence", str(evidence_id))
    await auditor.record(
        "evidence.custody.read",
        object_type="evidence",
        object_id=evidence_id,
        department_id=owner.department_id if owner else None,
        details={"entries": len(found.entries), "checkpoint_size": found.checkpoint.size},
    )
    entries = [
        CustodyEntryOut(
            **_entry_out(view),
            inclusion_proof=None
            if view.index is None
            else [_b64(h) for h in found.proofs[view.index]],
        )
        for view in found.entries
    ]
    return CustodyOut(
        evidence_id=evidence_id,
        checkpoint=_checkpoint_out(found.checkpoint),
        entries=entries,
        pending=found.pending,
    )
