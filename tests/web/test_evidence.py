"""The evidence library and player: find a recording by plate text and by transcript text,
play it and jump to a finding; custody with its ledger proof; export to a court package.

The recording is made here, deterministically, by the simulator's own encoder (a street with
two US plates driving past and espeak-ng phrases on the audio), uploaded through tus with a
GPS track, and analysed for plates and speech through the API by the real pipeline, so the
test does not wait for the shared fleet's live sessions.
"""

from __future__ import annotations

import base64
import contextlib
import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from citywitness.simulator.audio import AudioTrack
from citywitness.simulator.scene import SceneRenderer
from citywitness.simulator.video import LiveEncoder
from tests.simulator.conftest import PASSWORD
from tests.web.conftest import ADMIN, Console, ConsolePage

pytestmark = [pytest.mark.slow, pytest.mark.browser]

SEED = 8  # plates 4LGP222 then 8MTF447 in the first 12 s (tests/analysis/test_plates.py)
SEGMENTS = 6
STARTED = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
FILENAME = "patrol-4lgp222.mp4"
INVESTIGATOR = "evidence-investigator"  # evidence:upload, analysis:run, ledger:read, export
WAIT_S = 300.0  # the job queue is shared with the fleet's live analysis


@dataclass
class Analysed:
    evidence_id: str
    plate: str
    plate_offset_s: float
    word: str
    word_offset_s: float


def _clip() -> bytes:
    encoder = LiveEncoder(SceneRenderer(seed=SEED), AudioTrack(SEED, unit=1), STARTED)
    parts = [encoder.next_segment() for _ in range(SEGMENTS)]
    encoder.close()
    return encoder.init_segment + b"".join(p.data for p in parts)


def _meta(**pairs: str) -> str:
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in pairs.items())


def _wait(what: str, probe: Any) -> Any:
    deadline = time.monotonic() + WAIT_S
    while True:
        found = probe()
        if found:
            return found
        assert time.monotonic() < deadline, f"{what} not ready in {WAIT_S} s"
        time.sleep(1)


def _transcript_word(segments: list[dict[str, Any]]) -> tuple[str, float]:
    """A word of at least five letters in the transcript, with its segment's offset."""
    for segment in segments:
        for word in re.findall(r"[A-Za-z]{5,}", segment["text"]):
            return word.lower(), float(segment["offset_s"])
    raise AssertionError(f"no word to search for in {segments}")


@contextlib.contextmanager
def _session(url: str, username: str) -> Iterator[httpx.Client]:
    """An API client signed in as `username` (session cookie and CSRF token)."""
    with httpx.Client(base_url=url, timeout=60) as client:
        login = client.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD})
        assert login.status_code == 200, login.text
        client.headers["X-CSRF-Token"] = login.json()["csrf_token"]
        # the session cookie is Secure: httpx keeps it back over plain HTTP, so send it
        client.headers["Cookie"] = f"cw_session={login.cookies['cw_session']}"
        yield client


@pytest.fixture(scope="module")
def analysed(console: Console) -> Analysed:
    return make_analysed(console.url)


def make_analysed(url: str) -> Analysed:
    """Create the investigator, upload the clip, analyse it; what the UI should find."""
    data = _clip()
    with _session(url, ADMIN) as admin:
        center = admin.get("/api/v1/console/config").json()["center"]
        departments = admin.get("/api/v1/departments").json()["items"]
        department = next(d["id"] for d in departments if d["code"] == "public-security")
        made = admin.post(
            "/api/v1/users",
            json={
                "username": INVESTIGATOR,
                "display_name": "Evidence Investigator",
                "password": PASSWORD,
                "memberships": [{"department_id": department, "role": "investigator"}],
            },
        )
        assert made.status_code == 201, made.text
    track = {
        "type": "LineString",
        "coordinates": [[center[1], center[0]], [center[1] + 0.002, center[0] + 0.001]],
    }
    with _session(url, INVESTIGATOR) as api:
        created = api.post(
            "/api/v1/uploads",
            content=data,
            headers={
                "Tus-Resumable": "1.0.0",
                "Upload-Length": str(len(data)),
                "Content-Type": "application/offset+octet-stream",
                "Upload-Metadata": _meta(
                    filename=FILENAME,
                    department="public-security",
                    captured_start=STARTED.isoformat(),
                    gps_track=json.dumps(track),
                ),
            },
        )
        assert created.status_code == 201, created.text
        evidence_id = created.headers["CW-Evidence-Id"]
        run = api.post(
            f"/api/v1/evidence/{evidence_id}/analysis/runs",
            json={"analyzers": ["plates", "speech"]},
        )
        assert run.status_code == 201, run.text
        run_url = f"/api/v1/evidence/{evidence_id}/analysis/runs/{run.json()['id']}"

        def finished() -> dict[str, Any] | None:
            state = api.get(run_url).json()
            return state if state["state"] in ("done", "failed", "cancelled") else None

        assert _wait("the analysis run", finished)["state"] == "done"
        _wait(
            "the proxy and thumbnail",
            lambda: (
                {"proxy", "thumbnail"}
                <= set(api.get(f"/api/v1/evidence/{evidence_id}").json()["derivatives"])
            ),
        )
        findings = api.get(f"/api/v1/evidence/{evidence_id}/analysis/findings").json()
        plates = {
            f["attributes"]["text"]: f["offset_s"] for f in findings if f["analyzer"] == "plates"
        }
        assert "4LGP222" in plates, findings
        transcript = api.get(f"/api/v1/evidence/{evidence_id}/transcript").json()
        word, offset = _transcript_word(transcript["segments"])
    return Analysed(evidence_id, "4LGP222", float(plates["4LGP222"]), word, offset)


def _search(ui: ConsolePage, text: str) -> None:
    form = ui.page.get_by_role("search")
    form.get_by_label(re.compile("^Text")).fill(text)
    form.get_by_role("button", name="Search").click()


def test_find_by_plate_and_by_transcript_then_play_and_jump_to_a_finding(
    ui: ConsolePage, analysed: Analysed
) -> None:
    ui.login(username=INVESTIGATOR)
    page = ui.page
    page.get_by_role("navigation", name="Main navigation").get_by_role(
        "link", name="Evidence"
    ).click()
    expect(page.get_by_role("heading", name="Evidence library")).to_be_visible()

    _search(ui, analysed.plate)
    results = page.get_by_role("list", name="Search results")
    # the fleet's live recordings may match too (same phrases, random plates): ours is there
    expect(results.get_by_role("link", name=FILENAME)).to_be_visible()
    expect(results.get_by_role("img", name=f"Thumbnail of {FILENAME}")).to_be_visible()
    ui.shot("found-by-plate")

    _search(ui, f"{analysed.word} -{analysed.plate}")
    expect(results.get_by_role("link", name=FILENAME)).to_have_count(0)
    _search(ui, analysed.word)
    expect(results.get_by_role("link", name=FILENAME)).to_be_visible()
    page.get_by_role("button", name="Map").click()
    expect(page.get_by_test_id("evidence-map").locator(".ev-marker").first).to_be_visible()
    places = page.get_by_role("list", name="Recordings with a location")
    expect(places.get_by_role("link", name=FILENAME)).to_be_visible()
    ui.shot("found-by-transcript-map")

    results.get_by_role("link", name=FILENAME).click()
    expect(page.get_by_role("heading", name=FILENAME)).to_be_visible()
    # the department asks for a reason before anything is played (audited with each range)
    page.get_by_label("Reason for playing (required by the department)").fill("case 2026-117")
    page.get_by_role("button", name="Play").click()
    video = page.get_by_test_id("evidence-video")
    expect(video).to_have_js_property("readyState", 4, timeout=60_000)  # HAVE_ENOUGH_DATA
    page.evaluate(
        "() => { const v = document.querySelector('video'); v.muted = true; return v.play(); }"
    )
    expect(video).to_have_js_property("paused", False)

    mark = page.get_by_role("button", name=re.compile(f"^{analysed.plate} at "))
    mark.click()
    jumped = float(video.evaluate("v => v.currentTime"))
    assert abs(jumped - analysed.plate_offset_s) <= 1.0, (jumped, analysed.plate_offset_s)
    ui.shot("jumped-to-plate")
    page.evaluate("() => document.querySelector('video').pause()")

    transcript = page.get_by_role("region", name="Transcript")
    transcript.get_by_label("Search the transcript").fill(analysed.word)
    segment = transcript.get_by_test_id("transcript-segment").first
    expect(segment).to_contain_text(re.compile(analysed.word, re.IGNORECASE))
    segment.focus()
    page.keyboard.press("Enter")
    expect(segment).to_have_attribute("aria-current", "true")
    jumped = float(video.evaluate("v => v.currentTime"))
    assert abs(jumped - analysed.word_offset_s) <= 1.0, (jumped, analysed.word_offset_s)
    ui.shot("transcript-jump")

    page.get_by_role("tab", name="Custody and ledger proof").click()
    expect(page.get_by_test_id("proof-summary")).to_have_attribute(
        "data-status", re.compile("^(verified|partial)$")
    )
    expect(page.get_by_test_id("custody-entry").first).to_contain_text("Ingested")
    expect(page.get_by_test_id("custody-entry").first).to_contain_text("Verified")
    ui.shot("custody")

    page.get_by_role("tab", name="Export").click()
    page.get_by_label("Reason for the export (required)").fill("court case 2026-117")
    page.get_by_role("button", name="Export to a court package").click()
    expect(page.get_by_test_id("export-status")).to_have_attribute(
        "data-status", "done", timeout=120_000
    )
    expect(page.get_by_role("link", name="Download the package")).to_be_visible()
    ui.shot("exported")

    page.get_by_role("tab", name="Redaction review").click()
    panel = page.get_by_role("tabpanel")
    expect(panel).to_contain_text("No redactions of this item yet.")
    expect(panel.get_by_role("button", name="Detect and review")).to_be_enabled()
    ui.shot("redaction")
