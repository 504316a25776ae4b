"""Storage fixtures: every contract test runs on the local backend and on S3 (a moto
server started here on a free loopback port), with key records in real PostgreSQL."""

from __future__ import annotations

import hashlib
import secrets
import socket
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from moto.server import ThreadedMotoServer

from citywitness.kit.db import Database
from citywitness.storage.backend import BlobBackend, LocalBackend
from citywitness.storage.keys import AesGcmKeyWrapper, KeyWrapper
from citywitness.storage.keystore import PostgresKeyStore
from citywitness.storage.s3 import S3Backend, make_client
from citywitness.storage.store import ContentStore, ObjectWriter, StoredObject

CHUNK = 4096
S3_PART = 5 * 1024 * 1024


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@dataclass
class Rest:
    """Raw access to the bytes at rest, to inspect and tamper with them."""

    kind: str
    backend: BlobBackend
    get: Callable[[str], bytes]
    put: Callable[[str, bytes], None]
    names: Callable[[], list[str]]


def _local_rest(root: Path) -> Rest:
    backend = LocalBackend(root)

    def names() -> list[str]:
        return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())

    def put(name: str, data: bytes) -> None:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)

    return Rest("local", backend, lambda name: (root / name).read_bytes(), put, names)


def _s3_rest(endpoint: str) -> Rest:
    client: Any = make_client(
        endpoint_url=endpoint, region="us-east-1", access_key_id="test", secret_access_key="test"
    )
    bucket = f"cw-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=bucket)
    backend = S3Backend(client, bucket, prefix="cw/", part_bytes=S3_PART)

    def names() -> list[str]:
        listed = client.list_objects_v2(Bucket=bucket).get("Contents", [])
        return sorted(str(item["Key"]).removeprefix("cw/") for item in listed)

    def get(name: str) -> bytes:
        return bytes(client.get_object(Bucket=bucket, Key="cw/" + name)["Body"].read())

    def put(name: str, data: bytes) -> None:
        client.put_object(Bucket=bucket, Key="cw/" + name, Body=data)

    return Rest("s3", backend, get, put, names)


@pytest.fixture(params=["local", "s3"])
def rest(request: pytest.FixtureRequest, tmp_path: Path) -> Rest:
    if request.param == "local":
        return _local_rest(tmp_path / "objects")
    return _s3_rest(request.getfixturevalue("s3_endpoint"))


@pytest.fixture
def wrapper() -> KeyWrapper:
    return AesGcmKeyWrapper(secrets.token_bytes(32))


@pytest.fixture
def make_store(
    rest: Rest, db: Database, tmp_path: Path, wrapper: KeyWrapper
) -> Callable[..., ContentStore]:
    def make(**overrides: Any) -> ContentStore:
        options: dict[str, Any] = {
            "backend": rest.backend,
            "keys": PostgresKeyStore(db),
            "wrapper": wrapper,
            "staging_dir": tmp_path / "staging",
            "chunk_size": CHUNK,
        }
        options.update(overrides)
        return ContentStore(**options)

    return make


@pytest.fixture
def store(make_store: Callable[..., ContentStore]) -> ContentStore:
    return make_store()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def pattern(size: int, seed: int = 0) -> bytes:
    """Deterministic, non-repeating-looking bytes (so chunks differ from each other)."""
    out = bytearray()
    counter = 0
    while len(out) < size:
        out += hashlib.sha256(f"{seed}:{counter}".encode()).digest()
        counter += 1
    return bytes(out[:size])


async def put(store: ContentStore, data: bytes, *, piece: int = 1000) -> StoredObject:
    writer: ObjectWriter = await store.open_writer()
    for start in range(0, len(data), piece):
        await writer.write(data[start : start + piece])
    return await writer.finish()
