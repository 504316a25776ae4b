"""The video wall: a streaming recorder plays, its viewer is audited; a silent one says so."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.simulator.conftest import PASSWORD, admin_token
from tests.web.conftest import ADMIN, Console, ConsolePage

pytestmark = [pytest.mark.slow, pytest.mark.browser]

PLAYING = """(rid) => { const v = document.querySelector(
  `[data-testid=wall-tile][data-recorder-id="${rid}"] video`);
  return v !== null && v.videoWidth === 640 && v.currentTime > 1.0; }"""


def _sign_in(ui: ConsolePage) -> None:
    """Sign in through the form; a loaded machine may take a while to check the password."""
    ui.page.set_default_timeout(60_000)
    ui.login()
    ui.page.set_default_timeout(20_000)


def _api(console: Console) -> httpx.Client:
    """The admin's API client with the scopes this test reads with (console.api() has not)."""
    scopes = ["evidence:read", "audit:read", "devices:read"]
    token = admin_token(console.url, ADMIN, PASSWORD, scopes)
    return httpx.Client(
        base_url=console.url, headers={"Authorization": f"Bearer {token}"}, timeout=60
    )


def _views(api: httpx.Client, user_id: str, evidence_id: str) -> list[dict[str, Any]]:
    answer = api.get(
        "/api/v1/audit/events",
        params={"action": "media.live_view", "actor_user_id": user_id, "object_id": evidence_id},
    )
    assert answer.status_code == 200, answer.text
    items: list[dict[str, Any]] = answer.json()["items"]
    return items


def _fresh_live_session(api: httpx.Client, user_id: str) -> dict[str, Any]:
    """A live session with a few segments, young enough to play a while, not yet viewed."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        answer = api.get("/api/v1/media/sessions", params={"state": "live"})
        assert answer.status_code == 200, answer.text
        for session in answer.json()["items"]:
            young = session["segments"] >= 2 and session["duration_seconds"] <= 24
            if young and not _views(api, user_id, session["evidence_id"]):
                return dict(session)
        time.sleep(1)
    raise AssertionError("no young live session in 120 s")


def test_a_streaming_recorder_plays_on_the_wall_and_the_view_is_audited(
    ui: ConsolePage, console: Console
) -> None:
    _sign_in(ui)
    with _api(console) as api:
        me = api.get("/api/v1/auth/me").json()["user"]["id"]
        session = _fresh_live_session(api, me)
        ever = api.get("/api/v1/media/sessions", params={"limit": 200}).json()["items"]
        streamed = {s["recorder_id"] for s in ever}
        silent = next(
            r for r in api.get("/api/v1/devices").json()["items"] if r["id"] not in streamed
        )
    recorder = session["recorder_id"]
    ui.page.goto(f"{ui.url}/wall?recorder={recorder}")
    tile = ui.page.locator(f'[data-testid=wall-tile][data-recorder-id="{recorder}"]')
    expect(tile).to_have_attribute("data-state", "live", timeout=30_000)
    ui.page.wait_for_function(PLAYING, arg=recorder, timeout=90_000)
    expect(tile.get_by_test_id("tile-place")).not_to_be_empty()
    ui.shot("playing")

    played = tile.get_by_test_id("wall-video").get_attribute("data-session-id")
    with _api(console) as api:
        evidence = api.get(f"/api/v1/media/sessions/{played}").json()["evidence_id"]
        views = _views(api, me, evidence)
    assert [(v["outcome"], v["details"]["session_id"]) for v in views] == [("success", played)]

    ui.page.get_by_label("Recorder", exact=True).select_option(silent["id"])
    ui.page.get_by_role("button", name="Add to wall").click()
    other = ui.page.locator(f'[data-testid=wall-tile][data-recorder-id="{silent["id"]}"]')
    online = (silent["latest"] or {}).get("online")
    expect(other).to_have_attribute("data-state", "no-stream" if online else "offline")
    expected = "Online — not streaming" if online else "Offline — no stream"
    expect(other.get_by_role("status")).to_have_text(expected)
    expect(ui.page.get_by_test_id("wall-tile")).to_have_count(2)
    ui.shot("two-tiles")
    other.get_by_role("button", name="Remove").click()
    expect(ui.page.get_by_test_id("wall-tile")).to_have_count(1)
