"""A simulator recorder's live stream plays as HLS in Debian's Chromium, and the viewer is
audited.

A real `citywitness serve` (embedded PostgreSQL and broker), one virtual recorder streaming
its street scene over the live segment API, an operator who opens the live playlist: the
page's <video> gets the playlist URL with its view token (what the console does), and
Chromium itself fetches the playlist, the init segment and the media segments and decodes
them.  The test waits until the element has decoded frames of the recorder's size and its
clock has advanced, then checks that the platform audited exactly that one viewer.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from playwright.async_api import async_playwright

from citywitness.simulator.fleet import Fleet, FleetOptions
from citywitness.simulator.provision import SCOPES
from citywitness.simulator.recorder import Behaviour
from tests.simulator.conftest import LivePlatform, new_platform, serving

pytestmark = pytest.mark.slow

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
WIDTH, HEIGHT = 640, 360


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LivePlatform, str]]:
    root = tmp_path_factory.mktemp("chromium-live")
    scopes = [*SCOPES, "media:live", "audit:read"]
    with serving(new_platform(root, LivePlatform), "wall-admin", scopes) as served:
        yield served.platform, served.token


async def _wait_for_segments(api: httpx.AsyncClient, fleet: Fleet, count: int) -> str:
    """The live session's id once it holds `count` segments."""
    for _ in range(120):
        sessions = fleet.streamers[0].tally.sessions
        if sessions and fleet.streamers[0].tally.segments_sent >= count:
            return str(sessions[0]["session_id"])
        await asyncio.sleep(0.5)
    raise AssertionError(f"the recorder did not send {count} segments in 60 s")


async def _views(api: httpx.AsyncClient, session_id: str) -> list[dict[str, Any]]:
    """The audited live views of one session (the event's object is its evidence item)."""
    answer = await api.get("/api/v1/audit/events", params={"action": "media.live_view"})
    assert answer.status_code == 200, answer.text
    items: list[dict[str, Any]] = answer.json()["items"]
    return [e for e in items if (e.get("details") or {}).get("session_id") == session_id]


async def _play(playlist_url: str) -> dict[str, Any]:
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = await browser.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            await page.set_content(
                f'<video id="wall" muted autoplay playsinline src="{playlist_url}"></video>'
            )
            await page.wait_for_function(
                "() => { const v = document.getElementById('wall');"
                " return v.readyState >= 2 && v.currentTime > 1.0; }",
                timeout=60_000,
            )
            state: dict[str, Any] = await page.evaluate(
                "() => { const v = document.getElementById('wall');"
                " return {width: v.videoWidth, height: v.videoHeight, error: v.error,"
                " time: v.currentTime, frames: v.getVideoPlaybackQuality().totalVideoFrames}; }"
            )
            state["page_errors"] = errors
            return state
        finally:
            await browser.close()


async def _run(url: str, token: str, mqtt_url: str) -> tuple[dict[str, Any], int, int]:
    options = FleetOptions(
        devices=1,
        url=url,
        mqtt_url=mqtt_url,
        video=1,
        seed=9090,
        https_share=1.0,
        departments=["public-security"],
        behaviour=Behaviour(sos_per_hour=0, drops_per_hour=0),
        video_size=(WIDTH, HEIGHT),
    )
    fleet = Fleet(options, token)
    await fleet.setup()
    fleet.start()
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=30) as api:
        try:
            session_id = await _wait_for_segments(api, fleet, 3)
            before = len(await _views(api, session_id))
            listing = await api.get(f"/api/v1/media/sessions/{session_id}/live.m3u8")
            assert listing.status_code == 200, listing.text
            last = listing.text.splitlines()[-1]
            view_token = parse_qs(urlsplit(last).query)["vt"][0]
            state = await _play(
                f"{url}/api/v1/media/sessions/{session_id}/live.m3u8?vt={view_token}"
            )
            after = len(await _views(api, session_id))
        finally:
            await fleet.stop()
    return state, before, after


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="make install puts Chromium here")
def test_a_simulated_live_stream_plays_in_chromium_and_the_viewer_is_audited(
    platform: tuple[LivePlatform, str],
) -> None:
    served, token = platform
    state, before, after = asyncio.run(_run(served.url, token, served.mqtt_url))
    assert (state["width"], state["height"]) == (WIDTH, HEIGHT)
    assert state["error"] is None
    assert state["time"] > 1.0
    assert state["frames"] > 10
    assert state["page_errors"] == []
    # Opening the playlist with credentials is the audited view; the player's own
    # fetches with the view token are not new viewers.
    assert (before, after) == (0, 1)
