"""The HTTP adapters of the identity domain (mounted under /api/v1 by `citywitness.routers`).

These modules sit above the domain layers (they use `citywitness.api` and the auditor), like
`citywitness.routers`; the import-linter contract lets them.
"""

from __future__ import annotations

from fastapi import APIRouter

from citywitness.identity.endpoints import auth, oidc, tokens, users

ROUTERS: list[APIRouter] = [auth.router, tokens.router, users.router, oidc.router]
