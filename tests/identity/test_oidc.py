"""OIDC login end to end against a real (test) OpenID provider on 127.0.0.1."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy import func, select

from citywitness.access.levels import Role
from citywitness.app import create_app
from citywitness.identity.models import Membership, OidcLink, OidcLoginState, User
from citywitness.kit.db import Database
from citywitness.settings import OidcProviderSettings, Settings
from tests.factories import PUBLIC_SECURITY
from tests.identity.helpers import audit_rows, committed_user, set_cookies
from tests.identity.oidc_provider import (
    CLIENT_ID,
    CLIENT_SECRET,
    ID_TOKEN_MODES,
    OidcTestProvider,
    ProviderServer,
    s256,
)

API = "/api/v1/auth/oidc"


@pytest.fixture(scope="session")
def provider_server() -> Iterator[OidcTestProvider]:
    with ProviderServer(OidcTestProvider()) as provider:
        yield provider


@pytest.fixture
def idp(provider_server: OidcTestProvider) -> OidcTestProvider:
    provider_server.reset()
    return provider_server


def _providers(idp: OidcTestProvider) -> list[OidcProviderSettings]:
    def make(name: str, **kw: object) -> OidcProviderSettings:
        return OidcProviderSettings.model_validate(
            {
                "name": name,
                "label": name.title(),
                "issuer": idp.issuer,
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
                **kw,
            }
        )

    return [
        make("city-idp"),
        make("auto-idp", auto_create_users=True),
        make("bad-secret", client_secret="not-the-secret"),
    ]


@pytest.fixture
async def oidc_client(
    settings: Settings, db: Database, idp: OidcTestProvider
) -> AsyncIterator[httpx.AsyncClient]:
    configured = settings.model_copy(
        update={
            "auth": settings.auth.model_copy(update={"oidc_providers": _providers(idp)}),
            "server": settings.server.model_copy(update={"public_url": "http://testserver"}),
        }
    )
    transport = httpx.ASGITransport(app=create_app(configured, db), client=("203.0.113.9", 5000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


@dataclass(frozen=True)
class Started:
    location: str
    """The provider's authorization URL."""
    browser: dict[str, str]
    """Headers carrying the state cookie the login set, as the browser would send them."""


async def _to_provider(client: httpx.AsyncClient, name: str, return_to: str = "/cases") -> Started:
    start = await client.get(f"{API}/{name}/login", params={"return_to": return_to})
    assert start.status_code == 302, start.text
    state = set_cookies(start)["cw_oidc_state"]
    return Started(start.headers["location"], {"Cookie": f"cw_oidc_state={state.value}"})


async def _authorize(url: str) -> str:
    """What a browser does at the provider: follow to its redirect back to the platform."""
    async with httpx.AsyncClient() as browser:
        answer = await browser.get(url)
    assert answer.status_code == 302, answer.text
    return answer.headers["location"]


async def _flow(client: httpx.AsyncClient, name: str = "city-idp") -> httpx.Response:
    started = await _to_provider(client, name)
    callback = await _authorize(started.location)
    return await client.get(callback, headers=started.browser)


async def _linked_user(db: Database, idp: OidcTestProvider, provider: str = "city-idp") -> User:
    user = await committed_user(db, roles={PUBLIC_SECURITY: [Role.OFFICER]})
    async with db.transaction() as session:
        session.add(OidcLink(provider=provider, subject=idp.subject, user_id=user.id))
    return user


async def _failures(db: Database) -> list[str]:
    return [
        e.details["reason"] for e in await audit_rows(db, "auth.login") if e.outcome == "failure"
    ]


async def test_provider_list(oidc_client: httpx.AsyncClient) -> None:
    response = await oidc_client.get(f"{API}/providers")
    assert response.json() == [
        {"name": "city-idp", "label": "City-Idp"},
        {"name": "auto-idp", "label": "Auto-Idp"},
        {"name": "bad-secret", "label": "Bad-Secret"},
    ]


async def test_login_redirects_with_state_nonce_and_pkce(
    oidc_client: httpx.AsyncClient, db: Database, idp: OidcTestProvider
) -> None:
    started = await _to_provider(oidc_client, "city-idp", "/cases/42?tab=media")
    url = urlsplit(started.location)
    assert f"{url.scheme}://{url.netloc}{url.path}" == f"{idp.issuer}/authorize"
    query = {k: v[0] for k, v in parse_qs(url.query).items()}
    async with db.transaction() as session:
        [state] = list(await session.scalars(select(OidcLoginState)))
    assert query == {
        "response_type": "code",
        "client_id": CLIENT_ID,
        "redirect_uri": "http://testserver/api/v1/auth/oidc/city-idp/callback",
        "scope": "openid profile email",
        "state": state.state,
        "nonce": state.nonce,
        "code_challenge": s256(state.code_verifier),
        "code_challenge_method": "S256",
    }
    assert (state.provider, state.return_to) == ("city-idp", "/cases/42?tab=media")
    cookie = set_cookies(await oidc_client.get(f"{API}/city-idp/login", params={"return_to": "/"}))[
        "cw_oidc_state"
    ]
    assert (cookie["httponly"], cookie["secure"], cookie["samesite"]) == (True, True, "lax")
    assert (cookie["path"], cookie["max-age"]) == ("/api/v1/auth/oidc/city-idp/callback", "600")
    assert 43 <= len(state.code_verifier) <= 128


async def test_successful_login_sets_cookies_and_redirects(
    oidc_client: httpx.AsyncClient, db: Database, idp: OidcTestProvider
) -> None:
    user = await _linked_user(db, idp)
    done = await _flow(oidc_client)
    assert done.status_code == 302, done.text
    assert done.headers["location"] == "/cases"
    cookies = set_cookies(done)
    assert (cookies["cw_session"]["httponly"], cookies["cw_session"]["samesite"]) == (
        True,
        "strict",
    )
    assert cookies["cw_csrf"]["httponly"] == ""
    assert (cookies["cw_oidc_state"].value, cookies["cw_oidc_state"]["max-age"]) == ("", "0")
    me = await oidc_client.get(
        "/api/v1/auth/me", headers={"Cookie": f"cw_session={cookies['cw_session'].value}"}
    )
    assert (me.json()["user"]["id"], me.json()["auth_method"]) == (str(user.id), "oidc:city-idp")
    assert idp.token_requests[0]["grant_type"] == "authorization_code"
    assert "client_secret" not in idp.token_requests[0]  # sent with HTTP Basic
    [event] = [e for e in await audit_rows(db, "auth.login") if e.outcome == "success"]
    assert (event.actor_user_id, event.object_id, event.client_address) == (
        user.id,
        str(user.id),
        "203.0.113.9",
    )
    assert event.details["method"] == "oidc:city-idp"
    assert event.details["user_created"] is False
    async with db.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(OidcLoginState)) == 0


async def test_wrong_and_replayed_state(
    oidc_client: httpx.AsyncClient, db: Database, idp: OidcTestProvider
) -> None:
    await _linked_user(db, idp)
    started = await _to_provider(oidc_client, "city-idp")
    callback = await _authorize(started.location)
    code = parse_qs(urlsplit(callback).query)["code"][0]
    forged = await oidc_client.get(
        f"{API}/city-idp/callback",
        params={"code": code, "state": "forged-state"},
        headers={"Cookie": "cw_oidc_state=forged-state"},
    )
    assert (forged.status_code, forged.json()["error"]) == (400, "oidc_state_invalid")
    assert (await oidc_client.get(callback, headers=started.browser)).status_code == 302
    replayed = await oidc_client.get(callback, headers=started.browser)
    assert (replayed.status_code, replayed.json()["error"]) == (400, "oidc_state_invalid")
    assert "set-cookie" not in replayed.headers
    again = await _to_provider(oidc_client, "city-idp")
    swapped = await _authorize(again.location)
    other = await oidc_client.get(
        swapped.replace("/city-idp/", "/auto-idp/"), headers=again.browser
    )
    assert (other.status_code, other.json()["error"]) == (400, "oidc_state_invalid")
    assert await _failures(db) == ["oidc_state_invalid"] * 3


async def test_a_login_finishes_only_in_the_browser_that_started_it(
    oidc_client: httpx.AsyncClient, db: Database, idp: OidcTestProvider
) -> None:
    """Login CSRF: an attacker's own callback URL, opened in a victim's browser, fails."""
    await _linked_user(db, idp)
    attacker = await _to_provider(oidc_client, "city-idp")
    callback = await _authorize(attacker.location)
    victim = await _to_provider(oidc_client, "city-idp")
    for headers in ({}, victim.browser):
        refused = await oidc_client.get(callback, headers=headers)
        assert (refused.status_code, refused.json()) == (
            400,
            {
                "error": "oidc_state_invalid",
                "detail": "this login was not started in this browser",
                "fields": None,
            },
        )
    assert (await oidc_client.get(callback, headers=attacker.browser)).status_code == 302


INVALID_TOKENS = {
    "expired": "the ID token is not valid: The token is expired",
    "wrong_nonce": "the ID token is not valid: Invalid claim: 'nonce'",
    "missing_nonce": "the ID token is not valid: Missing claim: 'nonce'",
    "wrong_audience": "the ID token is not valid: Invalid claim: 'aud'",
    "wrong_issuer": "the ID token is not valid: Invalid claim: 'iss'",
    "bad_signature": "the ID token signature is not valid",
    "tampered": "the ID token signature is not valid",
}


def test_every_misbehaviour_is_covered() -> None:
    assert set(INVALID_TOKENS) == set(ID_TOKEN_MODES) - {"valid"}


@pytest.mark.parametrize(("mode", "detail"), sorted(INVALID_TOKENS.items()))
async def test_invalid_id_tokens_are_refused(
    oidc_client: httpx.AsyncClient, db: Database, idp: OidcTestProvider, mode: str, detail: str
) -> None:
    await _linked_user(db, idp)
    idp.id_token_mode = mode
    done = await _flow(oidc_client)
    assert (done.status_code, done.json()) == (
        401,
        {"error": "oidc_token_invalid", "detail": detail, "fields": None},
    )
    assert "set-cookie" not in done.headers
    assert await _failures(db) == ["oidc_token_invalid"]


async def test_unknown_subject_is_refused_without_auto_create(
    oidc_client: httpx.AsyncClient, db: Database, idp: OidcTestProvider
) -> None:
    idp.subject = "nobody-we-know"
    done = await _flow(oidc_client)
    assert (done.status_code, done.json()["error"]) == (403, "oidc_user_unknown")
    async with db.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(OidcLink)) == 0
    assert await _failures(db) == ["oidc_user_unknown"]


async def test_auto_create_makes_a_user_without_roles_once(
    oidc_client: httpx.AsyncClient, db: Database, idp: OidcTestProvider
) -> None:
    idp.subject = "brand-new-subject"
    first = await _flow(oidc_client, "auto-idp")
    assert first.status_code == 302, first.text
    second = await _flow(oidc_client, "auto-idp")
    assert second.status_code == 302
    async with db.transaction() as session:
        [link] = list(await session.scalars(select(OidcLink)))
        user = await session.get(User, link.user_id)
        memberships = await session.scalar(
            select(func.count()).select_from(Membership).where(Membership.user_id == link.user_id)
        )
    assert user is not None
    assert (link.provider, link.subject) == ("auto-idp", "brand-new-subject")
    assert (user.username, user.display_name, user.email) == (
        "zhang.min",
        "Zhang Min",
        "zhang.min@example.org",
    )
    assert (user.clearance, user.password_hash, memberships) == (0, None, 0)
    created = [e.details["user_created"] for e in await audit_rows(db, "auth.login")]
    assert created == [True, False]


async def test_disabled_linked_user_and_rejected_code(
    oidc_client: httpx.AsyncClient, db: Database, idp: OidcTestProvider
) -> None:
    user = await _linked_user(db, idp)
    async with db.transaction() as session:
        stored = await session.get(User, user.id)
        assert stored is not None
        stored.is_active = False
    done = await _flow(oidc_client)
    assert (done.status_code, done.json()["error"]) == (403, "account_disabled")
    rejected = await _flow(oidc_client, "bad-secret")
    assert (rejected.status_code, rejected.json()["error"]) == (401, "oidc_code_rejected")
    assert await _failures(db) == ["account_disabled", "oidc_code_rejected"]


async def test_provider_error_and_missing_code(
    oidc_client: httpx.AsyncClient, db: Database, idp: OidcTestProvider
) -> None:
    started = await _to_provider(oidc_client, "city-idp")
    state = parse_qs(urlsplit(started.location).query)["state"][0]
    refused = await oidc_client.get(
        f"{API}/city-idp/callback",
        params={"state": state, "error": "access_denied"},
        headers=started.browser,
    )
    assert (refused.status_code, refused.json()["error"]) == (401, "oidc_login_refused")
    started = await _to_provider(oidc_client, "city-idp")
    state = parse_qs(urlsplit(started.location).query)["state"][0]
    no_code = await oidc_client.get(
        f"{API}/city-idp/callback", params={"state": state}, headers=started.browser
    )
    assert (no_code.status_code, no_code.json()["error"]) == (400, "oidc_state_invalid")


@pytest.mark.parametrize(
    "return_to",
    ["//evil.example/", "https://evil.example/", "/\\evil.example", "cases", "/ok path"],
)
async def test_open_redirects_are_refused(
    oidc_client: httpx.AsyncClient, db: Database, return_to: str
) -> None:
    response = await oidc_client.get(f"{API}/city-idp/login", params={"return_to": return_to})
    assert (response.status_code, response.json()["error"]) == (422, "invalid_return_to")
    async with db.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(OidcLoginState)) == 0


async def test_unknown_provider_is_404_and_audited(
    oidc_client: httpx.AsyncClient, db: Database
) -> None:
    for path in ("login", "callback"):
        response = await oidc_client.get(f"{API}/nope/{path}")
        assert (response.status_code, response.json()["error"]) == (404, "oidc_provider_unknown")
    denials = await audit_rows(db, "auth.oidc")
    assert [(e.outcome, e.object_id) for e in denials] == [("denied", "nope")] * 2
