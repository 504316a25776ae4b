"""The alert inbox: an SOS and a watch-list alert arrive live, sound (or not, when muted),
notify, show their detail and are acknowledged in the browser.

SOS: a recorder of the test's own (registered, enrolled and bound through the API like the
simulator's provisioning) posts an `sos` event over HTTPS; the platform raises the alert.
Watch-list: a plate is put on a department watch list, a generated photo of a car with that
plate is uploaded as evidence (tus, attributed to the same recorder) and analysed by a
batch plate run; the platform's own finding -> alert path raises `watchlist_plate` with
the snapshot, the evidence and the recorder's position.  This takes seconds, where waiting
for the live fleet to drive a listed plate past a camera takes minutes on a loaded machine.
"""

from __future__ import annotations

import io
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from PIL import Image
from PIL.PngImagePlugin import PngInfo
from playwright.sync_api import expect

from citywitness.analysis import plate_synth
from citywitness.evidence.tus_protocol import TUS_VERSION, encode_metadata
from tests.simulator.conftest import PASSWORD, admin_token
from tests.web.conftest import ADMIN, Console, ConsolePage

pytestmark = [pytest.mark.slow, pytest.mark.browser]

API = "/api/v1"
DEPARTMENT = "public-security"
LAT, LON = 31.2304, 121.4737
WAIT_MS = 120_000
# What this test does through the API (console.api()'s token has the simulator's scopes).
SCOPES = [
    "departments:read", "devices:read", "devices:manage", "devices:bind", "officers:read",
    "officers:manage", "alerts:read", "alerts:act", "watchlists:read", "watchlists:manage",
    "evidence:read", "evidence:upload", "analysis:read", "analysis:run",
]  # fmt: skip


@dataclass(frozen=True)
class Recorder:
    id: str
    serial: str
    officer_id: str
    department_id: str
    secret: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Device {self.serial}:{self.secret}"}


def _ok(response: httpx.Response, *codes: int) -> Any:
    assert response.status_code in (codes or (200,)), response.text
    return response.json() if response.content else None


def _until(probe: Callable[[], Any], what: str, timeout_s: float = 120) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        found = probe()
        if found:
            return found
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.3)


def _position(at: datetime) -> dict[str, Any]:
    return {"lat": LAT, "lon": LON, "accuracy_m": 4.0, "fix": "gps", "at": at.isoformat()}


@pytest.fixture(scope="module")
def admin(console: Console) -> Callable[[], httpx.Client]:
    """API clients with a token of the console's admin scoped for this test."""
    token = admin_token(console.url, ADMIN, PASSWORD, SCOPES)
    return lambda: httpx.Client(
        base_url=console.url, headers={"Authorization": f"Bearer {token}"}, timeout=60
    )


@pytest.fixture(scope="module")
def recorder(console: Console, admin: Callable[[], httpx.Client]) -> Recorder:
    """A recorder of our own in public-security, enrolled and bound to a new officer."""
    with admin() as api:
        departments = _ok(api.get(f"{API}/departments"))["items"]
        department_id = next(d["id"] for d in departments if d["code"] == DEPARTMENT)
        serial = f"ALERTS-{uuid.uuid4().hex[:8].upper()}"
        created = _ok(
            api.post(
                f"{API}/devices",
                json={"serial": serial, "department_id": department_id, "model": "test"},
            ),
            201,
        )
        officer = _ok(
            api.post(
                f"{API}/officers",
                json={
                    "badge_number": serial,
                    "display_name": "Officer Alert Test",
                    "department_id": department_id,
                },
            ),
            201,
        )
        code = _ok(api.post(f"{API}/devices/{created['id']}/enrollment-code"), 201)["code"]
        _ok(
            api.post(f"{API}/devices/{created['id']}/binding", json={"officer_id": officer["id"]}),
            201,
        )
    with httpx.Client(base_url=console.url, timeout=60) as device:
        enrolled = _ok(device.post(f"{API}/devices/enroll", json={"serial": serial, "code": code}))
    return Recorder(created["id"], serial, officer["id"], department_id, enrolled["secret"])


def _alert_of(
    admin: Callable[[], httpx.Client], kind: str, recorder: Recorder
) -> dict[str, Any] | None:
    with admin() as api:
        items = _ok(api.get(f"{API}/alerts", params={"kind": kind, "limit": 50}))["items"]
    mine = [a for a in items if a["recorder_id"] == recorder.id]
    return mine[0] if mine else None


def _open_inbox(ui: ConsolePage) -> None:
    """Sign in through the form, then open /alerts on a laptop-sized screen."""
    ui.page.set_viewport_size({"width": 1366, "height": 768})
    ui.page.goto(ui.url + "/")
    ui.page.get_by_label("Username").fill(ADMIN)
    ui.page.get_by_label("Password").fill(PASSWORD)
    with ui.page.expect_response("**/api/v1/auth/login", timeout=WAIT_MS) as signed_in:
        ui.page.get_by_role("button", name="Sign in").click()
    assert signed_in.value.status == 200
    # The console's first GET /auth/me, before signing in, is a 401 (logged by the browser).
    ui.errors[:] = [e for e in ui.errors if "status of 401" not in e]
    ui.page.goto(ui.url + "/alerts")
    expect(ui.page.get_by_role("heading", name="Alert inbox")).to_be_visible(timeout=WAIT_MS)
    nav = ui.page.get_by_role("navigation", name="Main navigation")
    expect(nav.get_by_role("link", name="Alerts")).to_have_attribute("aria-current", "page")
    expect(ui.page.get_by_test_id("feed-alerts")).to_have_attribute("data-status", "open")


def _acknowledge(ui: ConsolePage, alert_id: str, note: str) -> None:
    detail = ui.page.get_by_test_id("alert-detail")
    expect(detail).to_have_attribute("data-alert-id", alert_id)
    expect(detail.get_by_test_id("alert-state")).to_have_attribute("data-state", "new")
    detail.get_by_label("Note (optional)").fill(note)
    detail.get_by_role("button", name="Acknowledge").click()
    expect(detail.get_by_test_id("alert-state")).to_have_attribute("data-state", "acknowledged")
    # Acknowledged: only the actions valid from there are offered.
    expect(detail.get_by_role("button", name="Acknowledge")).to_have_count(0)
    expect(detail.get_by_role("button", name="Dispatch")).to_be_visible()
    history = detail.get_by_test_id("alert-history")
    expect(history.locator("tr[data-action='acknowledge']")).to_contain_text(note)


def _plate_photo() -> tuple[bytes, str]:
    """A generated car with a GB plate (reads as LE60CVD), unique bytes per call."""
    rng = random.Random(7)  # noqa: S311 - reproducible test media
    plate = plate_synth.random_plate(rng, "gb")
    image, _ = plate_synth.scene(plate, rng, angle=0, blur=0, noise=0)
    info = PngInfo()
    info.add_text("test-run", uuid.uuid4().hex)  # never a duplicate of another upload
    out = io.BytesIO()
    Image.fromarray(image).save(out, format="PNG", pnginfo=info)
    return out.getvalue(), plate.text


def _raise_watchlist_alert(
    console: Console, admin: Callable[[], httpx.Client], recorder: Recorder
) -> tuple[str, str]:
    """Plate on a stolen-vehicles list, photo uploaded and analysed: (plate, list name)."""
    photo, text = _plate_photo()
    list_name = f"Stolen {uuid.uuid4().hex[:6]}"
    now = datetime.now(UTC)
    with admin() as api:
        listed = _ok(
            api.post(
                f"{API}/watchlists/plates",
                json={"department_id": recorder.department_id, "name": list_name,
                      "kind": "stolen"},
            ),
            201,
        )  # fmt: skip
        _ok(
            api.post(
                f"{API}/watchlists/plates/{listed['id']}/entries",
                json={"plate": text, "reason": "reported stolen 2026-11-20"},
            ),
            201,
        )
        with httpx.Client(base_url=console.url, timeout=60) as device:
            body = {"msg_id": uuid.uuid4().hex, "positions": [_position(now)]}
            _ok(device.post(f"{API}/devices/self/telemetry", headers=recorder.headers, json=body))
        meta = {
            "filename": "car.png",
            "filetype": "image/png",
            "department": recorder.department_id,
            "recorder": recorder.serial,
            "officer": recorder.serial,  # the officer's badge number
            "captured_start": (now + timedelta(seconds=1)).isoformat(),
        }
        headers = {
            "Tus-Resumable": TUS_VERSION,
            "Upload-Length": str(len(photo)),
            "Upload-Metadata": encode_metadata(meta),
            "Content-Type": "application/offset+octet-stream",
        }
        uploaded = api.post(f"{API}/uploads", headers=headers, content=photo)
        assert uploaded.status_code == 201, uploaded.text
        evidence_id = uploaded.headers["CW-Evidence-Id"]
        _ok(
            api.post(f"{API}/evidence/{evidence_id}/analysis/runs", json={"analyzers": ["plates"]}),
            201,
            202,
        )
    return text, list_name


def _send_sos(console: Console, recorder: Recorder) -> None:
    at = datetime.now(UTC) - timedelta(seconds=1)
    sos = {"msg_id": uuid.uuid4().hex, "kind": "sos", "at": at.isoformat(),
           "position": _position(at), "details": {"trigger": "button"}}  # fmt: skip
    with httpx.Client(base_url=console.url, timeout=60) as device:
        _ok(device.post(f"{API}/devices/self/events", headers=recorder.headers, json=sos))


def _check_sos(ui: ConsolePage, admin: Callable[[], httpx.Client], recorder: Recorder) -> None:
    signals = ui.page.get_by_test_id("alert-signals")
    alert = _until(lambda: _alert_of(admin, "sos", recorder), "the SOS alert")
    row = ui.page.get_by_test_id(f"alert-row-{alert['id']}")
    expect(row).to_be_visible(timeout=WAIT_MS)  # pushed over the WebSocket, no reload
    expect(row).to_have_attribute("data-state", "new")
    expect(row).to_contain_text("Critical")
    expect(signals).to_have_attribute("data-last-alert", alert["id"])
    expect(signals).to_have_attribute("data-sounds", "1")  # the tone was played
    expect(signals).to_have_attribute("data-notifications", "0")  # not enabled
    ui.shot("inbox-sos")

    row.get_by_role("link", name="SOS pressed").click()
    detail = ui.page.get_by_test_id("alert-detail")
    expect(detail.get_by_role("heading", name="SOS pressed")).to_be_visible()
    expect(detail.get_by_test_id("alert-kind")).to_have_text("SOS")
    expect(detail).to_contain_text(recorder.serial)
    expect(detail).to_contain_text("Officer Alert Test")
    expect(detail.get_by_test_id("alert-minimap")).to_have_attribute("data-marker", f"{LAT},{LON}")
    ui.shot("detail-sos")
    _acknowledge(ui, alert["id"], "on my way")
    ui.shot("detail-sos-acknowledged")
    with admin() as api:
        stored = _ok(api.get(f"{API}/alerts/{alert['id']}"))
    assert stored["state"] == "acknowledged"
    assert [(e["action"], e["to_state"], e["note"]) for e in stored["events"]][-1] == (
        "acknowledge",
        "acknowledged",
        "on my way",
    )


def _check_watchlist(
    ui: ConsolePage,
    admin: Callable[[], httpx.Client],
    recorder: Recorder,
    listed: tuple[str, str],
) -> None:
    text, list_name = listed
    signals = ui.page.get_by_test_id("alert-signals")
    alert = _until(
        lambda: _alert_of(admin, "watchlist_plate", recorder), "the plate alert", WAIT_MS / 1000
    )
    row = ui.page.get_by_test_id(f"alert-row-{alert['id']}")
    expect(row).to_be_visible(timeout=WAIT_MS)
    expect(row).to_contain_text("High")
    expect(signals).to_have_attribute("data-last-alert", alert["id"])
    expect(signals).to_have_attribute("data-sounds", "1")  # muted since the SOS
    expect(signals).to_have_attribute("data-notifications", "1")
    ui.shot("inbox-watchlist")

    row.get_by_role("link").click()
    detail = ui.page.get_by_test_id("alert-detail")
    expect(detail.get_by_test_id("alert-kind")).to_have_text("Watch-listed plate")
    match = detail.get_by_test_id("alert-watchlist")
    expect(match.get_by_test_id("watch-list")).to_have_text(list_name)
    expect(match.get_by_test_id("watch-plate")).to_have_text(text)
    expect(match.get_by_test_id("watch-reason")).to_have_text("reported stolen 2026-11-20")
    expect(match.get_by_role("link", name="Open watch lists")).to_have_attribute(
        "href", "/watchlists"
    )
    snapshot = detail.get_by_test_id("alert-snapshot")
    expect(snapshot).to_be_visible()
    _until(lambda: snapshot.evaluate("img => img.complete && img.naturalWidth > 0"), "snapshot")
    evidence = detail.get_by_test_id("alert-evidence-link")
    expect(evidence).to_have_attribute("href", f"/evidence/{alert['evidence_ids'][0]}")
    expect(detail.get_by_test_id("alert-minimap")).to_have_attribute("data-marker", f"{LAT},{LON}")
    expect(detail).to_contain_text("Officer Alert Test")
    expect(detail.get_by_role("button", name="Confirm")).to_be_visible()
    expect(detail.get_by_test_id("alert-precision")).to_contain_text("plates")
    ui.shot("detail-watchlist")
    _acknowledge(ui, alert["id"], "unit 12 checking")
    ui.shot("detail-watchlist-acknowledged")
    with admin() as api:
        assert _ok(api.get(f"{API}/alerts/{alert['id']}"))["state"] == "acknowledged"


def test_an_sos_and_a_watchlist_alert_arrive_live_and_are_acknowledged(
    ui: ConsolePage, console: Console, admin: Callable[[], httpx.Client], recorder: Recorder
) -> None:
    """One sign-in for both: the plate run waits in the analysis queue behind the fleet's
    live segments, so it is started first and the SOS is handled meanwhile."""
    _open_inbox(ui)
    signals = ui.page.get_by_test_id("alert-signals")
    expect(signals).to_have_attribute("data-sounds", "0")
    expect(signals).to_have_attribute("data-muted", "false")
    # Notifications are offered by a button, never asked for on load.
    expect(ui.page.get_by_role("button", name="Enable desktop notifications")).to_be_visible()
    listed = _raise_watchlist_alert(console, admin, recorder)

    _send_sos(console, recorder)
    _check_sos(ui, admin, recorder)

    # Mute (remembered in the browser) and allow notifications before the plate alert.
    ui.page.get_by_role("button", name="Mute alert sound").click()
    expect(signals).to_have_attribute("data-muted", "true")
    assert ui.page.evaluate("localStorage.getItem('cw.alerts.muted')") == "1"
    expect(ui.page.get_by_role("button", name="Unmute alert sound")).to_have_attribute(
        "aria-pressed", "true"
    )
    ui.page.context.grant_permissions(["notifications"], origin=console.url)
    _check_watchlist(ui, admin, recorder, listed)
