"""Watch lists in the console: a plate list made, filled by hand and by CSV, with hits; a
person added with an enrolment photo, candidates, and the department's matching switch."""

from __future__ import annotations

import tarfile
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.web.conftest import Console, ConsolePage

pytestmark = [pytest.mark.slow, pytest.mark.browser]

SDIST = Path(__file__).parents[2] / ".cache/testdata/face_recognition-1.3.0.tar.gz"
CSV = (
    "plate,list,reason,country,kind\n"
    "沪A12345,Imported stolen,stolen 2026-11-01,CN,stolen\n"
    "ZZ-99-ZZ,Imported stolen,stolen 2026-11-02,NL,stolen\n"
)


def _photo(name: str) -> bytes:
    with tarfile.open(SDIST) as tar:
        member = tar.extractfile(f"face_recognition-1.3.0/tests/test_images/{name}")
        assert member is not None
        return member.read()


def test_a_plate_list_is_made_filled_and_imported(ui: ConsolePage, console: Console) -> None:
    ui.login()
    ui.page.get_by_role("link", name="Watch lists").click()
    form = ui.page.get_by_role("form", name="New plate list")
    form.get_by_label("Name").fill("Stolen this week")
    form.get_by_label("Kind").select_option("stolen")
    form.get_by_role("button", name="Create list").click()
    link = ui.page.get_by_role("link", name="Stolen this week")
    expect(link).to_be_visible()
    ui.shot("plate-lists")

    upload = ui.page.get_by_role("form", name="Import from CSV")
    upload.get_by_label("CSV file").set_input_files(
        files=[{"name": "stolen.csv", "mimeType": "text/csv", "buffer": CSV.encode()}]
    )
    upload.get_by_role("button", name="Import").click()
    expect(ui.page.get_by_test_id("import-result")).to_have_text(
        "Imported: 1 new lists, 2 entries, 0 duplicates skipped."
    )
    expect(ui.page.get_by_role("link", name="Imported stolen")).to_be_visible()

    link.click()
    entry = ui.page.get_by_role("form", name="Add a plate")
    entry.get_by_label("Plate").fill("粤B-D12345")
    entry.get_by_label("Country").fill("cn")
    entry.get_by_label("Reason").fill("reported stolen, case 118")
    entry.get_by_role("button", name="Add").click()
    rows = ui.page.get_by_role("table", name="Entries").locator("tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("粤BD12345")
    expect(rows.first).to_contain_text("Matching")
    rows.first.get_by_role("button", name="Hits").click()
    expect(ui.page.get_by_role("region", name="Hits of this entry")).to_contain_text("No hits yet.")
    ui.shot("plate-list-entries")

    with console.api() as api:
        lists = api.get("/api/v1/watchlists/plates").json()["items"]
        made = next(x for x in lists if x["name"] == "Stolen this week")
        detail = api.get(f"/api/v1/watchlists/plates/{made['id']}").json()
    assert [(e["plate"], e["country"], e["reason"]) for e in detail["entries"]] == [
        ("粤BD12345", "CN", "reported stolen, case 118")
    ]

    rows.first.get_by_role("button", name="Take 粤BD12345 off the list").click()
    expect(rows).to_have_count(0)  # only entries matching now are listed


def test_a_person_is_added_with_a_photo_and_matching_switched_on(
    ui: ConsolePage, console: Console
) -> None:
    ui.login()
    ui.page.goto(ui.url + "/watchlists/persons")
    expect(ui.page.get_by_text("Face matching is OFF for this department.")).to_be_visible()
    ui.page.get_by_role("button", name="Switch face matching on").click()
    expect(ui.page.get_by_text("Face matching is ON for this department.")).to_be_visible()

    form = ui.page.get_by_role("form", name="Add a person")
    form.get_by_label("Name or alias").fill("Suspect Obama-lookalike")
    form.get_by_label("Reason").fill("warrant 2026/204")
    form.get_by_role("button", name="Add").click()
    ui.page.get_by_role("link", name="Suspect Obama-lookalike").click()
    ui.page.get_by_label("Photo", exact=True).set_input_files(
        files=[{"name": "obama.jpg", "mimeType": "image/jpeg", "buffer": _photo("obama.jpg")}]
    )
    ui.page.get_by_role("button", name="Enrol photo").click()
    expect(ui.page.locator("ul.photos li")).to_have_count(1)
    expect(ui.page.get_by_role("region", name="Candidates")).to_contain_text("No hits yet.")
    ui.shot("person")

    with console.api() as api:
        persons = api.get("/api/v1/watchlists/faces/persons").json()["items"]
        person = next(p for p in persons if p["label"] == "Suspect Obama-lookalike")
        photos = api.get(f"/api/v1/watchlists/faces/persons/{person['id']}").json()["photos"]
        policy = api.get(f"/api/v1/watchlists/faces/policy/{person['department_id']}").json()
    assert person["reason"] == "warrant 2026/204"
    assert len(photos) == 1
    assert policy["enabled"] is True
