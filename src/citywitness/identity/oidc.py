"""OpenID Connect login (authorization code flow with PKCE S256, state and nonce).

The provider's discovery document and JWKS are cached in memory per process.  A login in
flight is a row in `oidc_login_states` (10 minutes, used once).  The ID token's signature
is checked against the provider's JWKS, then iss, aud, exp, iat and nonce.
"""

from __future__ import annotations

import re
import secrets
import time
import warnings
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from authlib.integrations.base_client import OAuthError
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from citywitness.access.levels import Classification
from citywitness.identity.errors import (
    AccountDisabled,
    InvalidReturnTo,
    InvalidUsername,
    OidcCodeRejected,
    OidcProviderUnavailable,
    OidcStateInvalid,
    OidcTokenInvalid,
    OidcUsernameTaken,
    OidcUserUnknown,
    UsernameTaken,
)
from citywitness.identity.models import OidcLink, OidcLoginState, User
from citywitness.identity.service import create_user, normalize_username
from citywitness.kit.hashing import sha256_hex
from citywitness.settings import OidcProviderSettings

with warnings.catch_warnings():
    # Authlib 1.9 would rather have the `httpx2` fork; its fallback to httpx (pinned here)
    # works and is supported, only announced as deprecated on import.
    warnings.simplefilter("ignore", DeprecationWarning)
    from authlib.integrations.httpx_client import AsyncOAuth2Client

STATE_TTL = timedelta(minutes=10)
CLOCK_LEEWAY_SECONDS = 60
HTTP_TIMEOUT_SECONDS = 10.0
SIGNING_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)
_RETURN_TO = re.compile(r"^/(?![/\\])[^\s\\]*$")


def safe_return_to(value: str | None) -> str:
    """A same-site path to land on after login; anything else (//host, http://...) is 422."""
    if value is None or value == "":
        return "/"
    if len(value) > 500 or not _RETURN_TO.match(value):
        raise InvalidReturnTo(fields={"return_to": "must be a path starting with a single /"})
    return value


@dataclass(frozen=True)
class ProviderMetadata:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    algorithms: tuple[str, ...]


class OidcDirectory:
    """Discovery documents and key sets of the configured providers, cached per process."""

    def __init__(self, ttl_seconds: float = 3600.0) -> None:
        self.ttl_seconds = ttl_seconds
        self._metadata: dict[str, tuple[float, ProviderMetadata]] = {}
        self._jwks: dict[str, dict[str, Any]] = {}

    async def metadata(self, provider: OidcProviderSettings) -> ProviderMetadata:
        cached = self._metadata.get(provider.issuer)
        if cached is not None and time.monotonic() - cached[0] < self.ttl_seconds:
            return cached[1]
        url = provider.issuer.rstrip("/") + "/.well-known/openid-configuration"
        doc = await _get_json(url)
        try:
            meta = ProviderMetadata(
                issuer=str(doc["issuer"]),
                authorization_endpoint=str(doc["authorization_endpoint"]),
                token_endpoint=str(doc["token_endpoint"]),
                jwks_uri=str(doc["jwks_uri"]),
                algorithms=tuple(doc.get("id_token_signing_alg_values_supported") or ["RS256"]),
            )
        except (KeyError, TypeError) as exc:
            raise OidcProviderUnavailable("the discovery document is incomplete") from exc
        if meta.issuer != provider.issuer:
            raise OidcProviderUnavailable("the discovery document names another issuer")
        self._metadata[provider.issuer] = (time.monotonic(), meta)
        return meta

    async def jwks(self, meta: ProviderMetadata, *, refresh: bool = False) -> dict[str, Any]:
        if refresh or meta.jwks_uri not in self._jwks:
            self._jwks[meta.jwks_uri] = await _get_json(meta.jwks_uri)
        return self._jwks[meta.jwks_uri]


DIRECTORY = OidcDirectory()
"""This process's cache."""


async def _get_json(url: str) -> dict[str, Any]:
    try:
        async with httpx.AsyncClient(timeout=HTTP_TIMEOUT_SECONDS) as client:
            response = await client.get(url, headers={"Accept": "application/json"})
            response.raise_for_status()
            body = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise OidcProviderUnavailable(f"could not read {url}") from exc
    if not isinstance(body, dict):
        raise OidcProviderUnavailable(f"{url} did not return a JSON object")
    return body


def _client(provider: OidcProviderSettings, redirect_uri: str) -> AsyncOAuth2Client:
    return AsyncOAuth2Client(
        client_id=provider.client_id,
        client_secret=provider.client_secret.get_secret_value(),
        scope=" ".join(provider.scopes),
        redirect_uri=redirect_uri,
        code_challenge_method="S256",
        timeout=HTTP_TIMEOUT_SECONDS,
    )


async def begin_login(
    session: AsyncSession,
    *,
    provider: OidcProviderSettings,
    meta: ProviderMetadata,
    redirect_uri: str,
    return_to: str,
    now: datetime,
) -> tuple[str, str]:
    """Record a login in flight; return the provider's authorization URL and the state.

    The state must also be bound to the browser (the endpoint sets it in a cookie and
    compares at the callback), so nobody can complete their own login in someone else's
    browser (login CSRF, RFC 6749 section 10.12).
    """
    state = secrets.token_urlsafe(32)
    nonce = secrets.token_urlsafe(32)
    verifier = secrets.token_urlsafe(64)
    session.add(
        OidcLoginState(
            state=state,
            provider=provider.name,
            nonce=nonce,
            code_verifier=verifier,
            return_to=return_to,
            expires_at=now + STATE_TTL,
        )
    )
    await session.flush()
    async with _client(provider, redirect_uri) as client:
        url, _ = client.create_authorization_url(
            meta.authorization_endpoint, state=state, code_verifier=verifier, nonce=nonce
        )
    return str(url), state


async def consume_state(
    session: AsyncSession, *, provider_name: str, state: str | None, now: datetime
) -> OidcLoginState:
    """The login in flight for `state`, deleted so it cannot be used again."""
    if not state:
        raise OidcStateInvalid
    row: OidcLoginState | None = await session.scalar(
        delete(OidcLoginState)
        .where(OidcLoginState.state == state, OidcLoginState.provider == provider_name)
        .returning(OidcLoginState)
    )
    if row is None or row.expires_at <= now:
        raise OidcStateInvalid
    return row


@dataclass(frozen=True)
class ExternalIdentity:
    subject: str
    username: str
    display_name: str
    email: str | None


async def exchange_code(
    provider: OidcProviderSettings,
    meta: ProviderMetadata,
    *,
    code: str,
    login: OidcLoginState,
    redirect_uri: str,
    now: datetime,
    directory: OidcDirectory = DIRECTORY,
) -> ExternalIdentity:
    """Trade the code (with the PKCE verifier) for tokens and validate the ID token."""
    try:
        async with _client(provider, redirect_uri) as client:
            token = await client.fetch_token(
                meta.token_endpoint,
                grant_type="authorization_code",
                code=code,
                code_verifier=login.code_verifier,
            )
    except httpx.HTTPError as exc:
        raise OidcProviderUnavailable("the token endpoint could not be reached") from exc
    except (OAuthError, ValueError, KeyError) as exc:
        raise OidcCodeRejected from exc
    raw = token.get("id_token")
    if not isinstance(raw, str):
        raise OidcTokenInvalid("the provider returned no ID token")
    claims = await _validated_claims(
        raw, provider, meta, directory, nonce=login.nonce, access_token=token.get("access_token")
    )
    try:
        claims.validate(now=int(now.timestamp()), leeway=CLOCK_LEEWAY_SECONDS)
    except JoseError as exc:
        raise OidcTokenInvalid(f"the ID token is not valid: {exc.description}") from exc
    return _identity(claims, provider)


async def _validated_claims(
    raw: str,
    provider: OidcProviderSettings,
    meta: ProviderMetadata,
    directory: OidcDirectory,
    *,
    nonce: str,
    access_token: Any,
) -> Any:
    algorithms = [a for a in meta.algorithms if a in SIGNING_ALGORITHMS] or ["RS256"]
    try:
        try:
            keys = KeySet.import_key_set(await directory.jwks(meta))  # type: ignore[arg-type]
            decoded = jwt.decode(raw, keys, algorithms=algorithms)
        except InvalidKeyIdError:  # the provider rotated its keys
            keys = KeySet.import_key_set(await directory.jwks(meta, refresh=True))  # type: ignore[arg-type]
            decoded = jwt.decode(raw, keys, algorithms=algorithms)
    except (JoseError, ValueError) as exc:
        raise OidcTokenInvalid("the ID token signature is not valid") from exc
    options = {
        "iss": {"essential": True, "value": meta.issuer},
        "aud": {"essential": True, "value": provider.client_id},
    }
    params = {"nonce": nonce, "client_id": provider.client_id}
    if isinstance(access_token, str):
        params["access_token"] = access_token
    return CodeIDToken(decoded.claims, decoded.header, options, params)


def _identity(claims: Any, provider: OidcProviderSettings) -> ExternalIdentity:
    subject = str(claims["sub"])
    username = str(claims.get(provider.username_claim) or subject)
    email = claims.get("email")
    return ExternalIdentity(
        subject=subject[:255],
        username=username,
        display_name=str(claims.get("name") or username)[:200],
        email=email if isinstance(email, str) and len(email) <= 320 else None,
    )


def _username_for(identity: ExternalIdentity, provider: OidcProviderSettings) -> str:
    """The username claim made valid; `<provider>-<hash of subject>` if nothing is left."""
    cleaned = re.sub(r"[^a-z0-9._-]+", "-", identity.username.lower()).strip("-")[:80]
    try:
        return normalize_username(cleaned)
    except InvalidUsername:
        return normalize_username(f"{provider.name}-{sha256_hex(identity.subject)[:16]}")


async def resolve_user(
    session: AsyncSession,
    *,
    provider: OidcProviderSettings,
    identity: ExternalIdentity,
    now: datetime,
) -> tuple[User, bool]:
    """The linked user (and whether it was created now); unknown identities are refused
    unless the provider auto-creates users (with no roles and public clearance)."""
    link = await session.scalar(
        select(OidcLink).where(
            OidcLink.provider == provider.name, OidcLink.subject == identity.subject
        )
    )
    created = False
    if link is not None:
        user = await session.get(User, link.user_id, with_for_update=True)
        if user is None or not user.is_active:
            raise AccountDisabled
    elif not provider.auto_create_users:
        raise OidcUserUnknown
    else:
        try:
            user = await create_user(
                session,
                username=_username_for(identity, provider),
                display_name=identity.display_name,
                password=None,
                clearance=Classification.PUBLIC,
                email=identity.email,
            )
        except UsernameTaken as exc:
            raise OidcUsernameTaken from exc
        session.add(OidcLink(provider=provider.name, subject=identity.subject, user_id=user.id))
        created = True
    user.last_login_at = now
    await session.flush()
    return user, created
