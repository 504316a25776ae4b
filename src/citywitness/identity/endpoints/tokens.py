"""The caller's API tokens: create (secret shown once), list, revoke."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response

from citywitness.api.deps import AuditorDep, CurrentPrincipal, DbSession, SettingsDep
from citywitness.identity.endpoints.common import AUTHENTICATED, WITH_BODY, errors
from citywitness.identity.schemas import IssuedTokenOut, TokenIn, TokenOut
from citywitness.identity.tokens import create_token, list_tokens, revoke_token

router = APIRouter(tags=["auth"])


@router.get(
    "/auth/tokens",
    summary="Your API tokens (never their secrets), newest first.",
    response_model=list[TokenOut],
    responses=errors(401),
)
async def get_tokens(principal: CurrentPrincipal, session: DbSession) -> list[TokenOut]:
    return [TokenOut.of(t) for t in await list_tokens(session, user_id=principal.user_id)]


@router.post(
    "/auth/tokens",
    summary="Create an API token limited to scopes you hold; its secret is shown only here.",
    status_code=201,
    response_model=IssuedTokenOut,
    responses=errors(*AUTHENTICATED, *WITH_BODY),
)
async def post_token(
    body: TokenIn,
    principal: CurrentPrincipal,
    session: DbSession,
    auditor: AuditorDep,
    settings: SettingsDep,
) -> IssuedTokenOut:
    issued = await create_token(
        session,
        principal,
        name=body.name,
        scopes=[s.value for s in body.scopes],
        expires_in_days=body.expires_in_days,
        max_days=settings.auth.token_max_days,
    )
    await auditor.record(
        "auth.tokens.create",
        object_type="api_token",
        object_id=issued.token.id,
        details={
            "prefix": issued.token.prefix,
            "scopes": list(issued.token.scopes),
            "expires_at": issued.token.expires_at.isoformat(),
        },
    )
    return IssuedTokenOut(token=TokenOut.of(issued.token), secret=issued.secret)


@router.delete(
    "/auth/tokens/{token_id}",
    summary="Revoke a token: your own, or a user's where you hold users:manage.",
    status_code=204,
    response_class=Response,
    responses=errors(*AUTHENTICATED, 404, 422),
)
async def delete_token(
    token_id: uuid.UUID, principal: CurrentPrincipal, session: DbSession, auditor: AuditorDep
) -> Response:
    token = await revoke_token(session, principal, token_id=token_id)
    await auditor.record(
        "auth.tokens.revoke",
        object_type="api_token",
        object_id=token.id,
        details={"owner_id": str(token.user_id), "prefix": token.prefix},
    )
    return Response(status_code=204)
