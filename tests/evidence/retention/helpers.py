"""Evidence items for lifecycle tests, made straight through the store and the models.

The lifecycle does not depend on how an item was ingested, so these helpers store bytes
through a real ContentStore and insert the row the way the ingest path does (with
`lock_live_key` in the inserting transaction), without probing media.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime, timedelta
from pathlib import Path

from citywitness.access.levels import Classification
from citywitness.evidence.derivative_models import Derivative, DerivativeKind
from citywitness.evidence.models import EvidenceItem, EvidenceKind, IngestChannel
from citywitness.kit.clock import utcnow
from citywitness.kit.db import Database
from citywitness.storage.backend import LocalBackend
from citywitness.storage.keys import AesGcmKeyWrapper
from citywitness.storage.keystore import PostgresKeyStore, lock_live_key
from citywitness.storage.store import ContentStore, StoredObject
from tests.factories import PUBLIC_SECURITY

NON_EVIDENTIARY = uuid.UUID("10000000-0000-4000-8000-000000000001")


def make_store(db: Database, root: Path) -> ContentStore:
    return ContentStore(
        backend=LocalBackend(root / "objects"),
        keys=PostgresKeyStore(db),
        wrapper=AesGcmKeyWrapper(secrets.token_bytes(32)),
        staging_dir=root / "staging",
        chunk_size=4096,
    )


async def put(store: ContentStore, data: bytes) -> StoredObject:
    writer = await store.open_writer(expected_size=len(data))
    await writer.write(data)
    return await writer.finish()


async def make_item(
    db: Database,
    store: ContentStore,
    *,
    department_id: uuid.UUID = PUBLIC_SECURITY,
    category_id: uuid.UUID | None = NON_EVIDENTIARY,
    retain_until: datetime | None = None,
    classification: Classification = Classification.INTERNAL,
    data: bytes | None = None,
    created_at: datetime | None = None,
) -> EvidenceItem:
    """A stored, active item; by default non-evidentiary and expired a day ago."""
    stored = await put(store, data if data is not None else secrets.token_bytes(9000))
    now = utcnow()
    async with db.transaction() as session:
        assert await lock_live_key(session, stored.sha256)
        item = EvidenceItem(
            id=uuid.uuid4(),
            created_at=created_at or now - timedelta(days=200),
            kind=EvidenceKind.VIDEO,
            sha256=stored.sha256,
            size_bytes=stored.size,
            original_filename="clip.mp4",
            media_type="video/mp4",
            department_id=department_id,
            category_id=category_id,
            classification=int(classification),
            retain_until=retain_until if retain_until is not None else now - timedelta(days=1),
            ingest_channel=IngestChannel.DOCK,
        )
        session.add(item)
    return item


async def add_derivative(
    db: Database, store: ContentStore, item: EvidenceItem, kind: DerivativeKind
) -> Derivative:
    stored = await put(store, secrets.token_bytes(5000))
    async with db.transaction() as session:
        assert await lock_live_key(session, stored.sha256)
        derivative = Derivative(
            id=uuid.uuid4(),
            evidence_id=item.id,
            kind=kind,
            sha256=stored.sha256,
            size_bytes=stored.size,
            media_type="image/jpeg" if kind is DerivativeKind.THUMBNAIL else "video/mp4",
        )
        session.add(derivative)
    return derivative
