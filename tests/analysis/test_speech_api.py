"""GET /evidence/{id}/transcript(.vtt) on a real database: exact JSON and WebVTT from stored
speech findings, permissions and scope, audit, and transcripts found by evidence search."""

from __future__ import annotations

import secrets
import uuid
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from citywitness.access.levels import Role
from citywitness.analysis import findings
from citywitness.analysis.contracts import Finding, build, parse_config
from citywitness.analysis.media_source import MediaSource
from citywitness.analysis.models import AnalysisRun, RunState, RunTrigger
from citywitness.analysis.speech import WHISPER
from citywitness.analysis.webvtt import parse
from citywitness.audit.models import AuditEvent
from citywitness.evidence.models import EvidenceItem
from citywitness.kit.db import Database
from tests.analysis.test_speech import SAID, espeak
from tests.evidence.core.helpers import register, shared_store
from tests.evidence.core.samples import make_mp4
from tests.factories import PUBLIC_SECURITY, TRAFFIC_POLICE, Actor, make_actor

OPERATOR = {PUBLIC_SECURITY: [Role.OPERATOR]}  # analysis:read


def _segment(
    offset_s: float, duration_s: float, text: str, words: list[dict[str, object]]
) -> Finding:
    return Finding(
        analyzer="speech",
        label="speech",
        offset_s=offset_s,
        duration_s=duration_s,
        confidence=0.61234,
        model=WHISPER.ref(),
        attributes={"text": text, "language": "en", "words": words},
    )


SEGMENTS = [
    _segment(
        4.25,
        1.5,
        "Help me.",
        [
            {"word": "Help", "start": 4.25, "end": 4.9, "p": 0.97},
            {"word": "me.", "start": 4.9, "end": 5.75, "p": 0.95},
        ],
    ),
    _segment(1.0006, 2.0, "Drop the <weapon> & run", []),
]


async def _item(
    db: Database, data: bytes | None = None, filename: str = "clip.mp4"
) -> EvidenceItem:
    content = data or make_mp4(1.0, width=64, height=48, audio=False, nonce=secrets.token_hex(8))
    return (await register(db, shared_store(db), content, filename=filename)).item


async def _store(db: Database, item: EvidenceItem, found: list[Finding]) -> list[int]:
    async with db.transaction() as session:
        rows = await findings.store(
            session,
            evidence_id=item.id,
            department_id=item.department_id,
            run_id=None,
            segment_sha256=None,
            findings=found,
        )
        return [row.id for row in rows]


async def _audits(db: Database) -> list[AuditEvent]:
    async with db.transaction() as session:
        rows = await session.scalars(
            select(AuditEvent)
            .where(AuditEvent.action == "analysis.read_transcript")
            .order_by(AuditEvent.id)
        )
        return list(rows)


@pytest.fixture
async def transcribed(db: Database) -> tuple[EvidenceItem, list[int]]:
    item = await _item(db)
    keyword = Finding("speech", "keyword", 4.25, 0.97, WHISPER.ref(), attributes={"phrase": "help"})
    ids = await _store(db, item, [*SEGMENTS, keyword])
    return item, ids[:2]


async def test_json_transcript(
    db: Database, client: httpx.AsyncClient, transcribed: tuple[EvidenceItem, list[int]]
) -> None:
    item, (late_id, early_id) = transcribed
    actor = await make_actor(db, roles=OPERATOR)
    response = await client.get(f"/api/v1/evidence/{item.id}/transcript", headers=actor.headers)
    assert response.status_code == 200, response.text
    assert response.json() == {
        "evidence_id": str(item.id),
        "language": "en",
        "text": "Drop the <weapon> & run Help me.",
        "segments": [
            {
                "finding_id": early_id,
                "offset_s": 1.001,
                "end_s": 3.001,
                "text": "Drop the <weapon> & run",
                "confidence": 0.6123,
                "review": None,
                "words": [],
            },
            {
                "finding_id": late_id,
                "offset_s": 4.25,
                "end_s": 5.75,
                "text": "Help me.",
                "confidence": 0.6123,
                "review": None,
                "words": [
                    {"word": "Help", "start": 4.25, "end": 4.9, "p": 0.97},
                    {"word": "me.", "start": 4.9, "end": 5.75, "p": 0.95},
                ],
            },
        ],
        "models": [
            {"name": "whisper-tiny.en", "version": WHISPER.version, "sha256": WHISPER.sha256}
        ],
    }
    [event] = await _audits(db)
    assert (event.object_id, event.department_id) == (str(item.id), PUBLIC_SECURITY)
    assert event.details == {"format": "json", "segments": 2}
    assert event.actor_user_id == actor.user.id


async def test_webvtt_transcript(
    db: Database, client: httpx.AsyncClient, transcribed: tuple[EvidenceItem, list[int]]
) -> None:
    item, (late_id, early_id) = transcribed
    actor = await make_actor(db, roles=OPERATOR)
    response = await client.get(f"/api/v1/evidence/{item.id}/transcript.vtt", headers=actor.headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/vtt; charset=utf-8"
    assert response.headers["content-disposition"] == f'inline; filename="{item.id}.vtt"'
    assert response.text == (
        "WEBVTT\n"
        "\n"
        f"{early_id}\n"
        "00:00:01.001 --> 00:00:03.001\n"
        "Drop the &lt;weapon&gt; &amp; run\n"
        "\n"
        f"{late_id}\n"
        "00:00:04.250 --> 00:00:05.750\n"
        "Help me.\n"
    )
    assert [cue.text for cue in parse(response.text)] == ["Drop the <weapon> & run", "Help me."]
    [event] = await _audits(db)
    assert event.details == {"format": "vtt", "segments": 2}


@pytest.mark.parametrize("suffix", ["", ".vtt"])
async def test_scope_and_permission(
    db: Database,
    client: httpx.AsyncClient,
    transcribed: tuple[EvidenceItem, list[int]],
    suffix: str,
) -> None:
    item, _ = transcribed
    url = f"/api/v1/evidence/{item.id}/transcript{suffix}"
    officer = await make_actor(db, roles={PUBLIC_SECURITY: [Role.OFFICER]})  # no analysis:read
    other = await make_actor(db, roles={TRAFFIC_POLICE: [Role.OPERATOR]})
    assert (await client.get(url)).status_code == 401
    denied = await client.get(url, headers=officer.headers)
    assert (denied.status_code, denied.json()["error"]) == (403, "permission_denied")
    hidden = await client.get(url, headers=other.headers)
    assert hidden.status_code == 404
    missing = await client.get(
        f"/api/v1/evidence/{uuid.uuid4()}/transcript{suffix}", headers=other.headers
    )
    assert missing.json() == hidden.json() | {"fields": missing.json()["fields"]}
    assert await _audits(db) == []


async def test_not_analysed_then_analysed_silence(db: Database, client: httpx.AsyncClient) -> None:
    item = await _item(db)
    actor: Actor = await make_actor(db, roles=OPERATOR)
    url = f"/api/v1/evidence/{item.id}/transcript"
    response = await client.get(url, headers=actor.headers)
    assert response.status_code == 404
    assert response.json()["error"] == "analysis.transcript_not_available"
    async with db.transaction() as session:
        session.add(
            AnalysisRun(
                evidence_id=item.id,
                department_id=item.department_id,
                analyzers=["plates", "speech"],
                trigger=RunTrigger.MANUAL,
                state=RunState.DONE,
            )
        )
    response = await client.get(url, headers=actor.headers)
    assert response.status_code == 200, response.text
    assert (response.json()["segments"], response.json()["text"]) == ([], "")
    vtt = await client.get(f"{url}.vtt", headers=actor.headers)
    assert vtt.text == "WEBVTT\n"


async def test_transcripts_are_searchable(
    db: Database, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    """espeak-ng speech, transcribed by the real analyzer, stored, then found by search."""
    wav = espeak(tmp_path, SAID).read_bytes()
    item = await _item(db, wav, filename="call.wav")
    analyzer = build(parse_config({"kind": "speech"}))
    found = list(analyzer.analyze(MediaSource(wav)))
    assert [f.label for f in found] == ["speech", "keyword", "keyword"]
    await _store(db, item, found)
    actor = await make_actor(db, roles=OPERATOR)
    search = await client.get("/api/v1/evidence", params={"q": "weapon"}, headers=actor.headers)
    assert search.status_code == 200, search.text
    assert [hit["id"] for hit in search.json()["items"]] == [str(item.id)]
    nothing = await client.get("/api/v1/evidence", params={"q": "banana"}, headers=actor.headers)
    assert nothing.json()["items"] == []
    transcript = await client.get(f"/api/v1/evidence/{item.id}/transcript", headers=actor.headers)
    assert transcript.json()["text"] == SAID
