"""Suggested mute ranges: runs of spoken digits (4 or more) in the item's speech findings,
padded; other findings, other items and short numbers give none."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from citywitness.access.levels import Role
from citywitness.analysis.models import StoredFinding
from citywitness.analysis.redaction_suggest import MuteSuggestion, digits_in, suggest
from citywitness.app import create_app
from citywitness.evidence.models import EvidenceItem
from citywitness.kit.db import Database
from citywitness.settings import Settings
from citywitness.storage.store import ContentStore
from tests.evidence.core.samples import make_mp4
from tests.evidence.retention.helpers import make_item, make_store
from tests.factories import PUBLIC_SECURITY, make_actor

INVESTIGATOR = {PUBLIC_SECURITY: [Role.INVESTIGATOR]}


def _words(*spoken: tuple[str, float, float]) -> list[dict[str, Any]]:
    return [{"word": w, "start": a, "end": b, "p": 0.9} for w, a, b in spoken]


def _finding(
    item: EvidenceItem,
    offset: float,
    text: str,
    words: list[dict[str, Any]],
    *,
    label: str = "speech",
    finding_id: int | None = None,
) -> StoredFinding:
    return StoredFinding(
        id=finding_id,
        evidence_id=item.id,
        department_id=item.department_id,
        analyzer="speech",
        label=label,
        offset_s=offset,
        duration_s=2.0,
        confidence=0.9,
        model_name="whisper",
        model_version="tiny.en",
        model_sha256="0" * 64,
        attributes={"text": text, "words": words},
    )


PHONE = _words(
    ("call", 1.0, 1.2),
    ("me", 1.2, 1.3),
    ("on", 1.3, 1.4),
    ("555-", 1.5, 1.9),
    ("0123.", 1.9, 2.4),
    ("Thanks", 2.6, 2.9),
)
SPOKEN = _words(
    ("It's", 5.0, 5.1),
    ("four", 5.1, 5.3),
    ("two,", 5.3, 5.5),
    ("oh", 5.5, 5.6),
    ("nine", 5.6, 5.9),
    ("okay", 6.0, 6.3),
)
SHORT = _words(("room", 8.0, 8.2), ("101", 8.2, 8.6), ("please", 8.7, 8.9), ("one", 9.0, 9.1))


def test_digit_counting_and_runs() -> None:
    assert [digits_in(w) for w in ("555-", "0123.", "Oh,", "nine", "none", "B4")] == [
        3,
        4,
        1,
        1,
        0,
        1,
    ]
    item = EvidenceItem(id=uuid.uuid4(), department_id=PUBLIC_SECURITY)
    findings = [
        _finding(item, 4.9, "It's four two, oh nine okay", SPOKEN, finding_id=2),
        _finding(item, 1.0, "call me on 555-0123. Thanks", PHONE, finding_id=1),
        _finding(item, 8.0, "room 101 please one", SHORT, finding_id=3),
        _finding(item, 10.0, "ID 7781 2290", [], finding_id=4),  # no word times: whole segment
    ]
    assert suggest(findings) == [
        MuteSuggestion(1.25, 2.65, 1, 7),
        MuteSuggestion(4.85, 6.15, 2, 4),
        MuteSuggestion(10.0, 12.0, 4, 8),
    ]


@pytest.fixture
def store(db: Database, tmp_path: Path) -> ContentStore:
    return make_store(db, tmp_path / "store")


@pytest.fixture
def app(settings: Settings, db: Database, store: ContentStore) -> FastAPI:
    application = create_app(settings, db)
    application.state.content_store = store
    return application


async def test_the_api_suggests_from_the_items_speech(
    db: Database, store: ContentStore, client: httpx.AsyncClient
) -> None:
    item = await make_item(db, store, data=make_mp4(0.5, width=64, height=48))
    other = await make_item(db, store, data=make_mp4(0.5, width=64, height=48, nonce="other"))
    async with db.transaction() as session:
        phone = _finding(item, 1.0, "call me on 555-0123. Thanks", PHONE)
        keyword = _finding(item, 5.0, "help 1234", SPOKEN, label="keyword")
        elsewhere = _finding(other, 1.0, "555-0123", PHONE)
        session.add_all([phone, keyword, elsewhere])
        await session.flush()
        phone_id = phone.id
    reviewer = await make_actor(db, roles=INVESTIGATOR)
    made = await client.post(
        f"/api/v1/evidence/{item.id}/redactions",
        json={"faces": False, "plates": False},
        headers=reviewer.headers,
    )
    rid = made.json()["id"]
    found = await client.get(f"/api/v1/redactions/{rid}/mute-suggestions", headers=reviewer.headers)
    assert found.status_code == 200, found.text
    assert found.json() == {
        "items": [{"start_s": 1.25, "end_s": 2.65, "finding_id": phone_id, "digits": 7}]
    }
    # applying them is the reviewer's call
    applied = await client.put(
        f"/api/v1/redactions/{rid}/mute",
        json={"ranges": [{"start_s": 1.25, "end_s": 2.65}]},
        headers=reviewer.headers,
    )
    assert applied.json()["mute"] == [{"start_s": 1.25, "end_s": 2.65}]
