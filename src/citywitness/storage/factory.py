"""Build the content store the settings describe."""

from __future__ import annotations

from pathlib import Path

from citywitness.kit.db import Database
from citywitness.settings import Settings, StorageSettings
from citywitness.storage.backend import BlobBackend, LocalBackend
from citywitness.storage.keys import KeyWrapper, load_key_file
from citywitness.storage.keystore import PostgresKeyStore
from citywitness.storage.s3 import S3Backend, make_client
from citywitness.storage.store import ContentStore


def resolve(data_dir: Path, path: Path) -> Path:
    """`path` itself if absolute, else under the data directory."""
    return (data_dir / path).absolute()


def make_backend(storage: StorageSettings, data_dir: Path) -> BlobBackend:
    if storage.backend == "local":
        return LocalBackend(resolve(data_dir, storage.local_root))
    s3 = storage.s3
    if (s3.access_key_id is None) != (s3.secret_access_key is None):
        raise ValueError("storage.s3.access_key_id and secret_access_key go together")
    secret = s3.secret_access_key.get_secret_value() if s3.secret_access_key else None
    client = make_client(
        endpoint_url=s3.endpoint_url,
        region=s3.region,
        access_key_id=s3.access_key_id,
        secret_access_key=secret,
    )
    return S3Backend(client, s3.bucket, prefix=s3.prefix, part_bytes=s3.multipart_part_bytes)


def build_content_store(
    settings: Settings, database: Database, *, wrapper: KeyWrapper | None = None
) -> ContentStore:
    """The store of `settings`; the KEK file is created on first use unless `wrapper` is given."""
    storage = settings.storage
    return ContentStore(
        backend=make_backend(storage, settings.data_dir),
        keys=PostgresKeyStore(database),
        wrapper=wrapper or load_key_file(resolve(settings.data_dir, storage.kek_file)),
        staging_dir=resolve(settings.data_dir, storage.staging_dir),
        chunk_size=storage.chunk_size,
        min_free_bytes=storage.min_free_bytes,
        max_bytes=storage.max_bytes,
    )
