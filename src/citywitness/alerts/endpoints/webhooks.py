"""Admin API: webhook receivers of alerts (signed JSON POSTs, see docs/alerts.md)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from citywitness.alerts import console
from citywitness.alerts.schemas import (
    WebhookCreate,
    WebhookCreated,
    WebhookList,
    WebhookOut,
    WebhookUpdate,
)
from citywitness.api.deps import AuditorDep, CurrentPrincipal, DbSession
from citywitness.kit.web import error_responses

router = APIRouter(prefix="/alert-webhooks", tags=["alerts"])


@router.get(
    "",
    summary="List webhook receivers in scope.",
    description="Needs alerts:manage; platform-wide receivers only for platform-wide holders.",
    response_model=WebhookList,
    responses=error_responses(401, 403),
)
async def get_webhooks(
    session: DbSession, principal: CurrentPrincipal, auditor: AuditorDep
) -> WebhookList:
    rows = await console.list_webhooks(session, principal, auditor)
    return WebhookList(items=[WebhookOut.model_validate(h) for h in rows])


@router.post(
    "",
    status_code=201,
    summary="Add a webhook receiver; its signing secret is shown once.",
    description=(
        "Needs alerts:manage in `department_id` (platform-wide when it is null). Deliveries "
        "are POSTs signed with `CW-Signature: t=<unix>,v1=<hex HMAC-SHA256>`."
    ),
    response_model=WebhookCreated,
    responses=error_responses(400, 401, 403, 413, 422),
)
async def post_webhook(
    body: WebhookCreate, session: DbSession, principal: CurrentPrincipal, auditor: AuditorDep
) -> WebhookCreated:
    hook = await console.create_webhook(session, principal, auditor, body)
    return WebhookCreated(**WebhookOut.model_validate(hook).model_dump(), secret=hook.secret)


@router.patch(
    "/{webhook_id}",
    summary="Change or deactivate a webhook receiver.",
    description="Needs alerts:manage in its department (404 otherwise).",
    response_model=WebhookOut,
    responses=error_responses(400, 401, 404, 413, 422),
)
async def patch_webhook(
    webhook_id: uuid.UUID,
    body: WebhookUpdate,
    session: DbSession,
    principal: CurrentPrincipal,
    auditor: AuditorDep,
) -> WebhookOut:
    hook = await console.update_webhook(session, principal, auditor, webhook_id, body)
    return WebhookOut.model_validate(hook)
