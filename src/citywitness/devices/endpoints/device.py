"""Recorder-facing API: enrollment, and telemetry, events and status over HTTPS.

A recorder authenticates with `Authorization: Device <serial>:<secret>` (the secret from
enrollment).  The bodies are the very messages a recorder publishes over MQTT, stored by
the same `accept_message`; a retried `msg_id` answers `duplicate: true` and stores nothing.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from citywitness.api.deps import DbSession, SettingsDep, client_address, get_database
from citywitness.audit.service import Auditor
from citywitness.devices import enrollment
from citywitness.devices.credentials import authenticate_device
from citywitness.devices.errors import DeviceAuthFailed, EnrollmentFailed
from citywitness.devices.messages import (
    EventMessage,
    MessageKind,
    StatusMessage,
    TelemetryMessage,
)
from citywitness.devices.principal import DeviceIdentity
from citywitness.devices.schemas import AcceptOut, EnrollIn, EnrollOut
from citywitness.devices.telemetry import TelemetryLimits, accept_message
from citywitness.devices.topics import ROOT
from citywitness.kit.clock import utcnow
from citywitness.kit.web import error_responses

router = APIRouter(prefix="/devices", tags=["devices (recorder side)"])

SCHEME = "device"
WWW_AUTHENTICATE = {"WWW-Authenticate": 'Device realm="citywitness"'}


async def current_device(request: Request, session: DbSession) -> DeviceIdentity:
    """The recorder named and proved by `Authorization: Device <serial>:<secret>`."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    serial, sep, secret = value.strip().partition(":")
    if scheme.lower() != SCHEME or not sep or not serial or not secret:
        raise DeviceAuthFailed(headers=WWW_AUTHENTICATE)
    identity = await authenticate_device(session, serial, secret)
    if identity is None:
        raise DeviceAuthFailed(headers=WWW_AUTHENTICATE)
    return identity


CurrentDevice = Annotated[DeviceIdentity, Depends(current_device)]


@router.post(
    "/enroll",
    summary="Trade a one-time enrollment code for the recorder's credential (shown once).",
    description=(
        "No caller credentials. Any failure (unknown serial, wrong, used or expired code, "
        "too many attempts) answers 401 enrollment_failed. Enrolling again replaces the "
        "previous credential."
    ),
    response_model=EnrollOut,
    responses=error_responses(400, 401, 413, 422),
)
async def post_enroll(body: EnrollIn, request: Request, settings: SettingsDep) -> EnrollOut:
    # Its own transaction, committed whatever the outcome: a wrong code must count.
    async with get_database(request).transaction() as session:
        auditor = Auditor(
            session=session,
            actor=None,
            client_address=client_address(request),
            request_id=getattr(request.state, "request_id", None),
            actor_kind="device",
        )
        outcome = await enrollment.enroll(
            session,
            auditor,
            serial=body.serial,
            code=body.code,
            now=utcnow(),
            max_attempts=settings.devices.enrollment_max_attempts,
        )
    if outcome.issued is None or outcome.recorder is None or outcome.department_code is None:
        raise EnrollmentFailed
    serial = outcome.recorder.serial
    return EnrollOut(
        recorder_id=outcome.recorder.id,
        serial=serial,
        department_code=outcome.department_code,
        secret=outcome.issued.secret,
        mqtt_username=serial,
        topic_prefix=f"{ROOT}/{outcome.department_code}/{serial}/",
        http_authorization=f"Device {serial}:{outcome.issued.secret}",
    )


async def _accept(
    request: Request,
    session: DbSession,
    device: DeviceIdentity,
    settings: SettingsDep,
    kind: MessageKind,
) -> AcceptOut:
    peer = request.client
    address = client_address(request)
    if address is not None and peer is not None:
        address = f"{address}:{peer.port}"
    result = await accept_message(
        session,
        device,
        kind,
        await request.body(),
        transport="https",
        received_at=utcnow(),
        limits=TelemetryLimits.from_settings(settings.devices),
        address=address,
    )
    return AcceptOut(msg_id=result.msg_id, duplicate=result.duplicate, positions=result.positions)


DEVICE_ERRORS = error_responses(400, 401, 413, 422)
DESCRIPTION = (
    "Device-authenticated (Authorization: Device <serial>:<secret>). The body is the MQTT "
    "message of this kind. Idempotent on msg_id. 422 validation_failed for a bad body, "
    "invalid_device_message for times outside the accepted window."
)


@router.post(
    "/self/telemetry",
    summary="Send positions and health readings (the MQTT telemetry message).",
    description=DESCRIPTION,
    response_model=AcceptOut,
    responses=DEVICE_ERRORS,
)
async def post_telemetry(
    body: TelemetryMessage,  # noqa: ARG001 - validated and documented; stored from the raw bytes
    request: Request,
    session: DbSession,
    device: CurrentDevice,
    settings: SettingsDep,
) -> AcceptOut:
    return await _accept(request, session, device, settings, "telemetry")


@router.post(
    "/self/events",
    summary="Report an event: recording started/stopped, SOS, low battery, tamper...",
    description=DESCRIPTION,
    response_model=AcceptOut,
    responses=DEVICE_ERRORS,
)
async def post_event(
    body: EventMessage,  # noqa: ARG001 - validated and documented; stored from the raw bytes
    request: Request,
    session: DbSession,
    device: CurrentDevice,
    settings: SettingsDep,
) -> AcceptOut:
    return await _accept(request, session, device, settings, "event")


@router.post(
    "/self/status",
    summary="Report status: online/offline, health readings, firmware.",
    description=DESCRIPTION,
    response_model=AcceptOut,
    responses=DEVICE_ERRORS,
)
async def post_status(
    body: StatusMessage,  # noqa: ARG001 - validated and documented; stored from the raw bytes
    request: Request,
    session: DbSession,
    device: CurrentDevice,
    settings: SettingsDep,
) -> AcceptOut:
    return await _accept(request, session, device, settings, "status")
