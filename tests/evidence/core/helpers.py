"""Helpers for evidence tests: a content store and items ingested through `register_object`.

Other evidence test packages may import these (`from tests.evidence.core.helpers import ...`).
"""

from __future__ import annotations

import secrets
import tempfile
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import select

from citywitness.access.principal import Principal
from citywitness.audit.models import AuditEvent
from citywitness.audit.service import Auditor
from citywitness.evidence import runtime
from citywitness.evidence.ingest import RegisteredItem, register_object
from citywitness.evidence.models import EvidenceItem, IngestChannel
from citywitness.evidence.schemas import IngestMetadata
from citywitness.kit.db import Database
from citywitness.storage import ContentStore, StoredObject
from citywitness.storage.backend import LocalBackend
from citywitness.storage.keys import AesGcmKeyWrapper
from citywitness.storage.keystore import PostgresKeyStore
from tests.evidence.core.samples import make_mp4
from tests.factories import PUBLIC_SECURITY

CHUNK = 4096  # small chunks, so ranged reads cross several


def make_store(db: Database, root: Path) -> ContentStore:
    return ContentStore(
        backend=LocalBackend(root / "objects"),
        keys=PostgresKeyStore(db),
        wrapper=AesGcmKeyWrapper(secrets.token_bytes(32)),
        staging_dir=root / "staging",
        chunk_size=CHUNK,
        min_free_bytes=0,
    )


async def put_bytes(store: ContentStore, data: bytes) -> StoredObject:
    writer = await store.open_writer(expected_size=len(data))
    await writer.write(data)
    return await writer.finish()


async def register(
    db: Database,
    store: ContentStore,
    data: bytes,
    *,
    department_id: uuid.UUID = PUBLIC_SECURITY,
    actor: Principal | None = None,
    uploaded_by: uuid.UUID | None = None,
    **meta: Any,
) -> RegisteredItem:
    """Store `data` and register it (committed into the test's transaction)."""
    stored = await put_bytes(store, data)
    meta.setdefault("filename", "clip.mp4")
    async with db.transaction() as session:
        auditor = Auditor(session=session, actor=actor, actor_kind="user" if actor else "system")
        return await register_object(
            session,
            auditor,
            store=store,
            stored=stored,
            department_id=department_id,
            uploaded_by=uploaded_by,
            channel=IngestChannel.DOCK,
            meta=IngestMetadata.parse(meta),
        )


async def make_item(
    db: Database, store: ContentStore, *, seconds: float = 1.0, **meta: Any
) -> EvidenceItem:
    """A new video item; each call makes distinct content."""
    data = make_mp4(seconds, width=64, height=48, audio=False, nonce=secrets.token_hex(8))
    return (await register(db, store, data, **meta)).item


async def audit_events(db: Database, action: str) -> list[AuditEvent]:
    async with db.transaction() as session:
        rows = await session.scalars(
            select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
        )
        return list(rows)


_SHARED_ROOT = tempfile.TemporaryDirectory(prefix="cw-evidence-")


def shared_store(db: Database) -> ContentStore:
    """The store an app over `db` uses when the test did not give it one (authz matrix)."""
    store = runtime.store_if_known(db)
    if store is None:
        store = make_store(db, Path(_SHARED_ROOT.name) / uuid.uuid4().hex)
        runtime.register_store(db, store)
    return store
