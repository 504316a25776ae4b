"""The administration page (issue 7 item 7) and the cross-department view of an operator.

Each test changes what it needs through the browser and checks the result through the API
(the platform admin's own session: console.api()'s token carries only the fleet's scopes),
then puts shared settings back.
"""

from __future__ import annotations

import csv
import io
import re
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.simulator.conftest import PASSWORD
from tests.web.conftest import ADMIN, Console, ConsolePage

pytestmark = [pytest.mark.slow, pytest.mark.browser]

FLEET_WAIT_MS = 120_000
OPERATOR_PASSWORD = "W4-operator-Passw0rd!"


@pytest.fixture(autouse=True)
def _patient_expect() -> Iterator[None]:
    """A loaded CI machine answers slowly: wait up to 30 s for what the page should show."""
    expect.set_options(timeout=30_000)
    yield
    expect.set_options(timeout=5_000)


@pytest.fixture(scope="module")
def admin(console: Console) -> Iterator[httpx.Client]:
    """The platform admin's own session (console.api()'s token carries the fleet's scopes)."""
    login = httpx.post(
        f"{console.url}/api/v1/auth/login",
        json={"username": ADMIN, "password": PASSWORD},
        timeout=120,
    )
    assert login.status_code == 200, login.text
    headers = {"X-CSRF-Token": login.json()["csrf_token"]}
    with httpx.Client(
        base_url=console.url,
        headers=headers,
        cookies={"cw_session": login.cookies["cw_session"]},
        timeout=60,
    ) as client:
        yield client


def _login(ui: ConsolePage, username: str | None = None, password: str | None = None) -> None:
    ui.page.set_default_timeout(60_000)
    if username is None:
        ui.login()
    else:
        assert password is not None
        ui.login(username=username, password=password)
    # The anonymous GET /api/v1/auth/me before signing in answers 401, which Chromium logs.
    ui.errors[:] = [e for e in ui.errors if "status of 401" not in e]


def _category(client: httpx.Client, code: str) -> dict[str, Any]:
    response = client.get("/api/v1/evidence/categories")
    assert response.status_code == 200
    return next(c for c in response.json()["items"] if c["code"] == code)


def _new_department(client: httpx.Client, prefix: str) -> dict[str, Any]:
    code = f"{prefix}-{uuid.uuid4().hex[:6]}"
    body = {"code": code, "name": f"Test {code}", "kind": "other"}
    response = client.post("/api/v1/departments", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


def test_every_tab_shows_and_a_retention_policy_changes(
    ui: ConsolePage, admin: httpx.Client
) -> None:
    page = ui.page
    _login(ui)
    page.get_by_role("navigation", name="Main navigation").get_by_role(
        "link", name="Administration"
    ).click()
    tabs = page.get_by_role("navigation", name="Administration sections")
    expect(page).to_have_url(re.compile(r"/admin/users$"))
    expect(page.get_by_test_id("user-console-admin")).to_be_visible()
    ui.shot("users")
    tabs.get_by_role("link", name="Departments").click()
    expect(page.get_by_role("table", name="Departments")).to_contain_text("public-security")
    ui.shot("departments")
    tabs.get_by_role("link", name="Recorders").click()
    # the fleet's 8 recorders (other tests may register more)
    expect(page.locator('tr[data-testid^="recorder-"]').nth(7)).to_be_visible()
    ui.shot("recorders")
    tabs.get_by_role("link", name="Geofences").click()
    expect(page.get_by_test_id("geofence-map")).to_be_visible()
    ui.shot("geofences")
    tabs.get_by_role("link", name="Audit log").click()
    expect(page.get_by_test_id("audit-row").first).to_be_visible()
    ui.shot("audit")

    tabs.get_by_role("link", name="Categories and retention").click()
    row = page.get_by_test_id("category-non-evidentiary")
    expect(row.get_by_test_id("keep")).to_have_text("180 days")
    client = admin
    before = _category(client, "non-evidentiary")
    try:
        row.get_by_role("button", name="Edit the retention of non-evidentiary").click()
        form = page.get_by_role("form", name="Edit the retention of non-evidentiary")
        form.get_by_label("Days").fill("400")
        form.get_by_label("Legal basis").fill("City order 12/2026")
        ui.shot("retention-editing")
        form.get_by_role("button", name="Save").click()
        expect(row.get_by_test_id("keep")).to_have_text("400 days")
        ui.shot("retention-changed")
        after = _category(client, "non-evidentiary")
        assert (after["retention_days"], after["legal_basis"]) == (400, "City order 12/2026")
    finally:
        restore = {"retention_days": 180, "legal_basis": before["legal_basis"]}
        patched = client.patch(f"/api/v1/evidence/categories/{before['id']}", json=restore)
        assert patched.status_code == 200


def test_a_geofence_drawn_on_the_map_reaches_the_api(ui: ConsolePage, admin: httpx.Client) -> None:
    page = ui.page
    client = admin
    # a department of its own: no recorder is in it, so the fence raises no alerts
    department = _new_department(client, "w4-geo")
    _login(ui)
    page.goto(ui.url + "/admin/geofences")
    fence_map = page.get_by_test_id("geofence-map")
    # Leaflet marks its container once the map (and its click handler) is set up
    expect(fence_map).to_have_class(re.compile(r"\bleaflet-container\b"))
    page.get_by_role("button", name="Draw a geofence").click()
    corners = [(120, 100), (320, 110), (330, 280), (140, 270)]
    for x, y in corners:
        fence_map.click(position={"x": x, "y": y})
    expect(page.get_by_test_id("vertex-count")).to_contain_text("(4 so far)")
    ui.shot("drawing")
    page.get_by_role("button", name="Finish").click()
    name = f"W4 zone {uuid.uuid4().hex[:6]}"
    form = page.get_by_role("region", name="New geofence")
    form.get_by_label("Name").fill(name)
    form.get_by_label("Department").select_option(label=department["name"])
    form.get_by_label("Rule").select_option("stay_inside")
    form.get_by_label("Severity").select_option("low")
    form.get_by_role("button", name="Save geofence").click()
    row = page.get_by_test_id(f"geofence-{name}")
    expect(row).to_be_visible()
    ui.shot("drawn")
    client = admin
    found = client.get("/api/v1/geofences", params={"department_id": department["id"]})
    [fence] = found.json()["items"]
    assert (fence["name"], fence["rule"], fence["severity"], fence["active"]) == (
        name,
        "stay_inside",
        "low",
        True,
    )
    assert fence["geometry"]["type"] == "Polygon"
    [ring] = fence["geometry"]["coordinates"]
    assert len(ring) == len(corners) + 1
    assert ring[0] == ring[-1]
    # the corners go round clockwise on the screen: west->east, then north->south
    assert ring[1][0] > ring[0][0]
    assert ring[2][1] < ring[1][1]
    row.get_by_label("Active").click()
    expect(row.get_by_label("Active")).not_to_be_checked()
    deadline = time.monotonic() + 20
    while client.get(f"/api/v1/geofences/{fence['id']}").json()["active"]:
        assert time.monotonic() < deadline, "the fence was not deactivated"
        time.sleep(0.2)


def test_the_audit_log_filters_and_exports_csv(ui: ConsolePage, admin: httpx.Client) -> None:
    page = ui.page
    client = admin
    created = [_new_department(client, "w4-audit") for _ in range(2)]
    _login(ui)
    page.goto(ui.url + "/admin/audit")
    filters = page.get_by_role("search", name="Audit filters")
    actor = filters.get_by_label("Actor")
    expect(actor.get_by_role("option", name=ADMIN, exact=True)).to_be_attached()
    actor.select_option(label=ADMIN)
    filters.get_by_label("Action").fill("departments.")
    filters.get_by_label("Object type").fill("department")
    filters.get_by_label("Object id").fill(created[1]["id"])
    filters.get_by_label("Outcome").select_option("success")
    filters.get_by_role("button", name="Apply filters").click()
    rows = page.get_by_test_id("audit-row")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("departments.create")
    expect(rows.first).to_contain_text(created[1]["id"])
    ui.shot("filtered")
    with page.expect_download() as download_info:
        filters.get_by_role("button", name="Export CSV").click()
    download = download_info.value
    assert download.suggested_filename.startswith("audit-events-")
    assert download.suggested_filename.endswith(".csv")
    path = download.path()
    table = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))
    assert table[0][:9] == [
        "id",
        "occurred_at",
        "actor_user_id",
        "actor_kind",
        "department_id",
        "action",
        "object_type",
        "object_id",
        "outcome",
    ]
    assert [(r[5], r[7], r[8]) for r in table[1:]] == [
        ("departments.create", created[1]["id"], "success")
    ]


def _wait_for(what: str, check: Any, timeout: float = FLEET_WAIT_MS / 1000) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(1)


def _an_alert(client: httpx.Client, fleet_department: str, recorder_id: str) -> dict[str, Any]:
    """An alert of the fleet's departments: any there is, else one raised on purpose (a patrol
    area far from the city, for one recorder: its next position is a breach)."""
    found = client.get("/api/v1/alerts").json()["items"]
    if found:
        return dict(found[0])
    far = [[0.0, 0.0], [0.001, 0.0], [0.001, 0.001], [0.0, 0.001], [0.0, 0.0]]
    fence = client.post(
        "/api/v1/geofences",
        json={
            "name": f"w4 far patrol {uuid.uuid4().hex[:6]}",
            "department_id": fleet_department,
            "rule": "stay_inside",
            "geometry": {"type": "Polygon", "coordinates": [far]},
            "recorder_ids": [recorder_id],
            "severity": "low",
        },
    )
    assert fence.status_code == 201, fence.text
    try:
        return dict(_wait_for("an alert", lambda: client.get("/api/v1/alerts").json()["items"])[0])
    finally:
        client.patch(f"/api/v1/geofences/{fence.json()['id']}", json={"active": False})


def test_an_operator_of_another_department_sees_nothing_of_the_fleet(
    ui: ConsolePage, admin: httpx.Client
) -> None:
    page = ui.page
    client = admin
    recorders = client.get("/api/v1/devices", params={"limit": 100}).json()["items"]
    fleet_departments = {r["department_id"] for r in recorders}
    assert len(recorders) >= 8
    department = _new_department(client, "w4-other")
    assert department["id"] not in fleet_departments
    username = f"w4-op-{uuid.uuid4().hex[:6]}"
    # the admin's own clearance (the highest they may give): only departments keep them apart
    clearance = client.get("/api/v1/auth/me").json()["user"]["clearance"]
    user = client.post(
        "/api/v1/users",
        json={
            "username": username,
            "display_name": "Other-department operator",
            "password": OPERATOR_PASSWORD,
            "clearance": clearance,
            "memberships": [{"department_id": department["id"], "role": "operator"}],
        },
    )
    assert user.status_code == 201, user.text
    item = _wait_for(
        "evidence of the fleet",
        lambda: client.get("/api/v1/evidence", params={"limit": 1}).json()["items"],
    )[0]
    assert item["department_id"] in fleet_departments
    levels = ["public", "internal", "sensitive", "secret"]
    assert levels.index(item["classification"]) <= levels.index(clearance)
    alert = _an_alert(client, recorders[0]["department_id"], recorders[0]["id"])

    _login(ui, username, OPERATOR_PASSWORD)
    nav = page.get_by_role("navigation", name="Main navigation")
    expect(nav.get_by_role("link", name="Live map")).to_be_visible()
    expect(page.get_by_test_id("feed-devices")).to_have_attribute("data-status", "open")
    page.goto(ui.url + "/map")
    expect(page.get_by_test_id("feed-devices")).to_have_attribute("data-status", "open")
    listed = page.get_by_test_id("recorder-list")
    expect(listed.locator('[data-testid^="recorder-"]')).to_have_count(0)
    for recorder in recorders:
        expect(page.get_by_text(recorder["serial"], exact=True)).to_have_count(0)
    assert page.request.get("/api/v1/devices").json()["items"] == []
    ui.shot("map-empty")

    page.goto(ui.url + "/evidence")
    expect(page.get_by_test_id("evidence-count")).to_have_text("Results on this page: 0")
    expect(page.get_by_test_id("evidence-result")).to_have_count(0)
    ui.shot("evidence-empty")

    page.goto(ui.url + "/alerts")
    expect(page.get_by_test_id("feed-alerts")).to_have_attribute("data-status", "open")
    expect(page.get_by_test_id("alert-list")).to_be_visible()
    expect(page.locator('[data-testid^="alert-row-"]')).to_have_count(0)
    expect(page.get_by_test_id(f"alert-row-{alert['id']}")).to_have_count(0)
    assert page.request.get(f"/api/v1/alerts/{alert['id']}").status == 404
    ui.shot("alerts-empty")

    page.goto(ui.url + f"/evidence/{item['id']}")
    expect(page.get_by_role("alert")).to_contain_text(
        "This evidence item does not exist or is not visible to you."
    )
    missing = page.request.get(f"/api/v1/evidence/{item['id']}")
    assert (missing.status, missing.json()["error"]) == (404, "not_found")
    ui.shot("evidence-not-found")
    # the browser logs the API's 404 for the item itself: that one is expected
    ui.errors[:] = [e for e in ui.errors if "404" not in e]
