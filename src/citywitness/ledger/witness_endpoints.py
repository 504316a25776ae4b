"""HTTP adapter of witnesses, cosignatures, fork reports, incidents, time stamps and anchors.

`POST /ledger/cosignatures` and `POST /ledger/forks` need no API token: a cosignature is
accepted only if it verifies with a registered witness's key, and fork evidence only if
it carries this log's own signatures and contradicts its tree.  Both are audited.
"""

from __future__ import annotations

import base64
import uuid
from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from citywitness.access.permissions import Permission
from citywitness.access.service import require
from citywitness.api.deps import AuditorDep, CurrentPrincipal, DbSession, SettingsDep
from citywitness.kit.errors import NotFound
from citywitness.kit.web import error_response, error_responses
from citywitness.ledger import witness_forks as forks
from citywitness.ledger import witness_service as witnesses
from citywitness.ledger.anchors_service import receipts_for
from citywitness.ledger.keys import log_origin, log_vkey
from citywitness.ledger.note import NoteVerifier
from citywitness.ledger.timestamps import REPLY_TYPE
from citywitness.ledger.timestamps_service import timestamp_for
from citywitness.ledger.witness_errors import IncidentNotFound
from citywitness.ledger.witness_models import Incident, IncidentAcknowledgement, Witness
from citywitness.ledger.witness_schemas import (
    AcknowledgeIn,
    AnchorReceiptOut,
    CosignatureOut,
    CosignedIn,
    CosignedOut,
    ForkReportIn,
    IncidentOut,
    WitnessIn,
    WitnessOut,
)
from citywitness.ledger.witness_types import LogIdentity
from citywitness.settings import Settings

router = APIRouter(prefix="/ledger", tags=["ledger"])

TEXT = {"text/plain": {"schema": {"type": "string"}}}
TSR = {REPLY_TYPE: {"schema": {"type": "string", "format": "binary"}}}
SizePath = Annotated[int, Path(ge=0, le=2**62)]


class NoTimestamp(NotFound):
    """This checkpoint has no RFC 3161 time stamp (yet)."""

    code = "no_timestamp"


def _log(settings: Settings) -> LogIdentity:
    return LogIdentity(log_origin(settings), NoteVerifier.from_vkey(log_vkey(settings)))


def _b64(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


def _witness_out(witness: Witness) -> WitnessOut:
    return WitnessOut(
        id=witness.id, name=witness.name, vkey=witness.vkey, created_at=witness.created_at
    )


def _incident_out(incident: Incident, ack: IncidentAcknowledgement | None = None) -> IncidentOut:
    return IncidentOut(
        id=incident.id,
        kind=incident.kind,
        severity=incident.severity,
        size=incident.size,
        summary=incident.summary,
        reported_by=incident.reported_by,
        detected_at=incident.detected_at,
        evidence=incident.evidence,
        acknowledged_at=ack.acknowledged_at if ack else None,
        acknowledgement=ack.note if ack else None,
    )


@router.post(
    "/witnesses",
    status_code=201,
    summary="Register a witness by its cosignature key (ledger:admin, platform-wide)",
    responses=error_responses(401, 403, 409, 422),
)
async def post_witness(
    body: WitnessIn, session: DbSession, principal: CurrentPrincipal, auditor: AuditorDep
) -> WitnessOut:
    witness = await witnesses.register_witness(
        session, principal, name=body.name, vkey=body.vkey, auditor=auditor
    )
    await session.refresh(witness)
    return _witness_out(witness)


@router.get(
    "/witnesses",
    summary="The registered witnesses and their public keys",
    responses=error_responses(401, 403),
)
async def get_witnesses(session: DbSession, principal: CurrentPrincipal) -> list[WitnessOut]:
    require(principal, Permission.LEDGER_READ)
    return [_witness_out(w) for w in await witnesses.list_witnesses(session)]


@router.post(
    "/cosignatures",
    status_code=201,
    summary="Hand in a witness's cosignature on a checkpoint (no token: the signature is checked)",
    response_model=CosignedOut,
    responses=error_responses(409, 422),
)
async def post_cosignatures(
    body: CosignedIn, session: DbSession, settings: SettingsDep, auditor: AuditorDep
) -> CosignedOut | JSONResponse:
    outcome = await witnesses.accept_cosigned(session, _log(settings), body.note, auditor=auditor)
    if outcome.incident is not None:  # committed with this request: no exception
        return error_response(
            409,
            "ledger_fork",
            f"this checkpoint is signed by this log but is not in its tree: "
            f"{outcome.incident.summary}",
            {"incident_id": str(outcome.incident.id)},
        )
    return CosignedOut(
        size=outcome.checkpoint.size,
        root=_b64(outcome.checkpoint.root),
        cosignatures=[
            CosignatureOut(witness=r.witness, timestamp=r.timestamp, new=r.new)
            for r in outcome.recorded
        ],
    )


@router.post(
    "/forks",
    status_code=201,
    summary="Report evidence of a fork: checkpoints signed by this log that contradict it",
    responses=error_responses(422),
)
async def post_fork(
    body: ForkReportIn, session: DbSession, settings: SettingsDep, auditor: AuditorDep
) -> IncidentOut:
    incident = await forks.report_fork(
        session,
        _log(settings),
        notes=body.notes,
        proof=body.proof,
        reporter=body.witness,
        auditor=auditor,
    )
    return _incident_out(incident)


@router.get(
    "/checkpoint/cosigned",
    response_class=Response,
    summary="The newest cosigned checkpoint, with its cosignature lines (C2SP signed note)",
    responses={200: {"content": TEXT}, **error_responses(401, 403, 404)},
)
async def get_cosigned(session: DbSession, principal: CurrentPrincipal) -> PlainTextResponse:
    require(principal, Permission.LEDGER_READ)
    note = await witnesses.cosigned_note(session)
    return PlainTextResponse(note.decode("utf-8"), headers={"Cache-Control": "no-cache"})


@router.get(
    "/checkpoints/{size}/cosigned",
    response_class=Response,
    summary="One checkpoint with every cosignature it has (C2SP signed note)",
    responses={200: {"content": TEXT}, **error_responses(401, 403, 404, 422)},
)
async def get_cosigned_at(
    session: DbSession, principal: CurrentPrincipal, size: SizePath
) -> PlainTextResponse:
    require(principal, Permission.LEDGER_READ)
    note = await witnesses.cosigned_note(session, size)
    return PlainTextResponse(note.decode("utf-8"), headers={"Cache-Control": "no-cache"})


@router.get(
    "/checkpoints/{size}/timestamp",
    response_class=Response,
    summary="The RFC 3161 time stamp on a checkpoint's body (TimeStampResp, DER)",
    responses={200: {"content": TSR}, **error_responses(401, 403, 404, 422)},
)
async def get_timestamp(
    session: DbSession, principal: CurrentPrincipal, size: SizePath
) -> Response:
    require(principal, Permission.LEDGER_READ)
    stamp = await timestamp_for(session, size)
    if stamp is None:
        raise NoTimestamp
    return Response(bytes(stamp.token), media_type=REPLY_TYPE)


@router.get(
    "/checkpoints/{size}/anchors",
    summary="External anchor receipts of a checkpoint",
    responses=error_responses(401, 403, 422),
)
async def get_anchors(
    session: DbSession, principal: CurrentPrincipal, size: SizePath
) -> list[AnchorReceiptOut]:
    require(principal, Permission.LEDGER_READ)
    return [
        AnchorReceiptOut(
            anchor=r.anchor,
            size=r.size,
            root=_b64(bytes(r.root)),
            reference=r.reference,
            anchored_at=r.anchored_at,
            details=r.details,
        )
        for r in await receipts_for(session, size)
    ]


@router.get(
    "/incidents",
    summary="Ledger incidents (forks), newest first",
    responses=error_responses(401, 403),
)
async def get_incidents(session: DbSession, principal: CurrentPrincipal) -> list[IncidentOut]:
    require(principal, Permission.LEDGER_READ)
    return [_incident_out(i, a) for i, a in await forks.list_incidents(session)]


@router.post(
    "/incidents/{incident_id}/acknowledge",
    summary="Acknowledge an incident (ledger:admin, platform-wide); /readyz stops failing",
    responses=error_responses(401, 403, 404, 409, 422),
)
async def post_acknowledge(
    incident_id: uuid.UUID,
    body: AcknowledgeIn,
    session: DbSession,
    principal: CurrentPrincipal,
    auditor: AuditorDep,
) -> IncidentOut:
    ack = await forks.acknowledge_incident(
        session, principal, incident_id, note=body.note, auditor=auditor
    )
    incident = await session.get(Incident, incident_id)
    if incident is None:  # pragma: no cover - checked by the service
        raise IncidentNotFound
    return _incident_out(incident, ack)
