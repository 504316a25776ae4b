"""A small but real OpenID provider for the tests, served by uvicorn on 127.0.0.1.

Discovery, /authorize (auto-approves the configured user and redirects back with a code),
/token (client secret, redirect URI, PKCE S256 verifier, single-use codes; issues an
RS256-signed ID token with the nonce) and /jwks.  `id_token_mode` makes it misbehave in
one chosen way so the platform's validation can be tested.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import uvicorn
from joserfc import jwt
from joserfc.jwk import RSAKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

CLIENT_ID = "citywitness-test"
CLIENT_SECRET = "provider-client-secret"
KID = "test-key-1"
DEFAULT_CLAIMS = {
    "preferred_username": "Zhang.Min",
    "name": "Zhang Min",
    "email": "zhang.min@example.org",
}

ID_TOKEN_MODES = (
    "valid",
    "expired",
    "wrong_nonce",
    "wrong_audience",
    "wrong_issuer",
    "bad_signature",
    "tampered",
    "missing_nonce",
)


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


@dataclass
class PendingCode:
    client_id: str
    redirect_uri: str
    nonce: str
    code_challenge: str
    scope: str


@dataclass
class OidcTestProvider:
    """State the tests set between flows; `issuer` is known once started."""

    subject: str = "subject-0001"
    claims: dict[str, Any] = field(default_factory=lambda: dict(DEFAULT_CLAIMS))
    id_token_mode: str = "valid"
    redirect_prefix: str = "http://testserver/api/v1/auth/oidc/"
    issuer: str = ""
    codes: dict[str, PendingCode] = field(default_factory=dict)
    token_requests: list[dict[str, str]] = field(default_factory=list)
    key: RSAKey = field(
        default_factory=lambda: RSAKey.generate_key(
            2048, parameters={"kid": KID, "use": "sig", "alg": "RS256"}
        )
    )
    rogue_key: RSAKey = field(
        default_factory=lambda: RSAKey.generate_key(2048, parameters={"kid": KID})
    )

    def reset(self) -> None:
        self.subject = "subject-0001"
        self.claims = dict(DEFAULT_CLAIMS)
        self.id_token_mode = "valid"
        self.codes.clear()
        self.token_requests.clear()

    # --- endpoints ---------------------------------------------------------------------

    async def discovery(self, _request: Request) -> Response:
        return JSONResponse(
            {
                "issuer": self.issuer,
                "authorization_endpoint": f"{self.issuer}/authorize",
                "token_endpoint": f"{self.issuer}/token",
                "jwks_uri": f"{self.issuer}/jwks",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "code_challenge_methods_supported": ["S256"],
                "token_endpoint_auth_methods_supported": [
                    "client_secret_basic",
                    "client_secret_post",
                ],
            }
        )

    async def jwks(self, _request: Request) -> Response:
        return JSONResponse({"keys": [self.key.as_dict(private=False)]})

    async def authorize(self, request: Request) -> Response:
        q = request.query_params
        problems = [
            name
            for name, ok in (
                ("response_type", q.get("response_type") == "code"),
                ("client_id", q.get("client_id") == CLIENT_ID),
                ("redirect_uri", q.get("redirect_uri", "").startswith(self.redirect_prefix)),
                ("scope", "openid" in q.get("scope", "").split()),
                ("state", bool(q.get("state"))),
                ("nonce", bool(q.get("nonce"))),
                ("code_challenge", bool(q.get("code_challenge"))),
                ("code_challenge_method", q.get("code_challenge_method") == "S256"),
            )
            if not ok
        ]
        if problems:
            return JSONResponse({"error": "invalid_request", "fields": problems}, 400)
        code = secrets.token_urlsafe(24)
        self.codes[code] = PendingCode(
            client_id=q["client_id"],
            redirect_uri=q["redirect_uri"],
            nonce=q["nonce"],
            code_challenge=q["code_challenge"],
            scope=q["scope"],
        )
        query = urlencode({"code": code, "state": q["state"]})
        return RedirectResponse(f"{q['redirect_uri']}?{query}", status_code=302)

    def _client_authenticated(self, request: Request, form: dict[str, str]) -> bool:
        header = request.headers.get("authorization", "")
        if header.lower().startswith("basic "):
            decoded = base64.b64decode(header[6:]).decode()
            client_id, _, secret = decoded.partition(":")
        else:
            client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
        return client_id == CLIENT_ID and secrets.compare_digest(secret, CLIENT_SECRET)

    async def token(self, request: Request) -> Response:
        form = {k: str(v) for k, v in (await request.form()).items()}
        self.token_requests.append(form)
        if not self._client_authenticated(request, form):
            return JSONResponse({"error": "invalid_client"}, 401)
        pending = self.codes.pop(form.get("code", ""), None)
        if (
            form.get("grant_type") != "authorization_code"
            or pending is None
            or form.get("redirect_uri") != pending.redirect_uri
            or s256(form.get("code_verifier", "")) != pending.code_challenge
        ):
            return JSONResponse({"error": "invalid_grant"}, 400)
        access_token = secrets.token_urlsafe(24)
        return JSONResponse(
            {
                "access_token": access_token,
                "token_type": "Bearer",
                "expires_in": 300,
                "id_token": self.id_token(pending.nonce),
            },
            headers={"Cache-Control": "no-store"},
        )

    def id_token(self, nonce: str) -> str:
        now = int(time.time())
        mode = self.id_token_mode
        claims: dict[str, Any] = {
            "iss": "http://evil.example" if mode == "wrong_issuer" else self.issuer,
            "sub": self.subject,
            "aud": "another-client" if mode == "wrong_audience" else CLIENT_ID,
            "iat": now - 7200 if mode == "expired" else now,
            "exp": now - 3600 if mode == "expired" else now + 300,
            "auth_time": now,
            **self.claims,
        }
        if mode != "missing_nonce":
            claims["nonce"] = "a-different-nonce" if mode == "wrong_nonce" else nonce
        key = self.rogue_key if mode == "bad_signature" else self.key
        token = jwt.encode({"alg": "RS256", "kid": KID}, claims, key)
        if mode == "tampered":  # a valid signature over different claims
            header, _payload, signature = token.split(".")
            forged = dict(claims, sub="someone-else")
            payload = jwt.encode({"alg": "RS256", "kid": KID}, forged, self.key).split(".")[1]
            token = f"{header}.{payload}.{signature}"
        return token

    def asgi(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/.well-known/openid-configuration", self.discovery),
                Route("/authorize", self.authorize),
                Route("/token", self.token, methods=["POST"]),
                Route("/jwks", self.jwks),
            ]
        )


class ProviderServer:
    """Runs an `OidcTestProvider` under uvicorn in a background thread."""

    def __init__(self, provider: OidcTestProvider) -> None:
        self.provider = provider
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.bind(("127.0.0.1", 0))
        port = self._sock.getsockname()[1]
        provider.issuer = f"http://127.0.0.1:{port}"
        config = uvicorn.Config(provider.asgi(), log_level="warning", lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True
        )

    def __enter__(self) -> OidcTestProvider:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the test OIDC provider did not start")
            time.sleep(0.01)
        return self.provider

    def __exit__(self, *_exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._sock.close()
