"""Ingest fixtures: a content store of the test's own shared with the app, tus helpers."""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from citywitness.access.levels import Role
from citywitness.app import create_app
from citywitness.evidence.tus_protocol import TUS_VERSION, encode_metadata
from citywitness.kit.db import Database
from citywitness.settings import Settings
from citywitness.storage import ContentStore
from tests.evidence.core.helpers import make_store
from tests.factories import PUBLIC_SECURITY, Actor, make_actor

TUS = {"Tus-Resumable": TUS_VERSION}
OCTETS = "application/offset+octet-stream"


def pdf_bytes(n: int, seed: bytes = b"") -> bytes:
    """`n` bytes that CityWitness takes for a PDF document (magic, then noise)."""
    head = b"%PDF-1.4\n" + seed
    return (head + os.urandom(max(0, n - len(head))))[:n]


def checksum(data: bytes) -> str:
    return "sha256 " + base64.b64encode(hashlib.sha256(data).digest()).decode()


@pytest.fixture
def store(db: Database, tmp_path: Path) -> ContentStore:
    return make_store(db, tmp_path / "store")


@pytest.fixture
def app(settings: Settings, db: Database, store: ContentStore) -> FastAPI:
    application = create_app(settings, db)
    application.state.content_store = store
    return application


@pytest.fixture
async def uploader(db: Database) -> Actor:
    return await make_actor(db, roles={PUBLIC_SECURITY: [Role.OFFICER]})


class Tus:
    """A tiny tus client over the test's ASGI client."""

    def __init__(self, client: httpx.AsyncClient, actor: Actor) -> None:
        self.client = client
        self.actor = actor

    def headers(self, **extra: str) -> dict[str, str]:
        return {**self.actor.headers, **TUS, **extra}

    async def create(self, length: int, **meta: str) -> httpx.Response:
        pairs = {"filename": "clip.pdf", "filetype": "application/pdf", **meta}
        headers = self.headers(**{"Upload-Length": str(length)})
        headers["Upload-Metadata"] = encode_metadata(pairs)
        return await self.client.post("/api/v1/uploads", headers=headers)

    async def new(self, length: int, **meta: str) -> str:
        response = await self.create(length, **meta)
        assert response.status_code == 201, response.text
        return response.headers["Location"].removeprefix("http://testserver")

    async def patch(self, url: str, offset: int, data: Any, **extra: str) -> httpx.Response:
        headers = self.headers(**{"Upload-Offset": str(offset), "Content-Type": OCTETS}, **extra)
        return await self.client.patch(url, headers=headers, content=data)

    async def head(self, url: str) -> httpx.Response:
        return await self.client.head(url, headers=self.headers())


@pytest.fixture
def tus(client: httpx.AsyncClient, uploader: Actor) -> Tus:
    return Tus(client, uploader)
