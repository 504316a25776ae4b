"""The live map: the simulated fleet on the map, moving; a recorder's panel; a command."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.web.conftest import FLEET_DEVICES, Console, ConsolePage

pytestmark = [pytest.mark.slow, pytest.mark.browser]

# Recorders on the map: single markers plus the counts of the clusters that hold the rest.
ON_MAP = """() => document.querySelectorAll('.rec-marker').length + [...document.querySelectorAll(
  '.rec-cluster [data-count]')].reduce((sum, el) => sum + Number(el.dataset.count), 0)"""
POSITIONS = """() => Object.fromEntries([...document.querySelectorAll('[data-recorder-id]')]
  .map((el) => [el.dataset.recorderId, el.dataset.lat + ',' + el.dataset.lon]))"""
MOVED = """(before) => [...document.querySelectorAll('[data-recorder-id]')].some((el) =>
  before[el.dataset.recorderId] !== undefined && el.dataset.lat !== ''
  && before[el.dataset.recorderId] !== el.dataset.lat + ',' + el.dataset.lon)"""


def _sign_in(ui: ConsolePage) -> None:
    """Sign in through the form; a loaded machine may take a while to check the password."""
    ui.page.set_default_timeout(60_000)
    ui.login()
    ui.page.set_default_timeout(20_000)


def test_the_fleet_moves_on_the_map_and_a_recorder_takes_a_command(
    ui: ConsolePage, console: Console
) -> None:
    _sign_in(ui)
    ui.page.get_by_role("navigation").get_by_role("link", name="Live map").click()
    # The fleet's recorders (serials SIM1-*); other tests of the session may add their own.
    entries = ui.page.get_by_test_id(re.compile(r"^recorder-SIM1-"))
    expect(entries).to_have_count(FLEET_DEVICES, timeout=60_000)
    listed = ui.page.get_by_test_id("recorder-list").get_by_role("button").count()
    ui.page.wait_for_function(f"() => ({ON_MAP})() === {listed}", timeout=60_000)
    expect(ui.page.get_by_role("region", name=re.compile("^Map of recorders"))).to_be_visible()
    ui.shot("map")

    before = ui.page.evaluate(POSITIONS)
    ui.page.wait_for_function(MOVED, arg=before, timeout=60_000)

    first = entries.first
    serial = first.get_attribute("data-testid")
    assert serial is not None
    first.click()
    expect(first).to_have_attribute("aria-pressed", "true")
    panel = ui.page.get_by_test_id("recorder-panel")
    expect(panel.get_by_role("heading", level=2)).to_have_text(serial.removeprefix("recorder-"))
    expect(panel.get_by_test_id("panel-battery")).to_have_text(re.compile(r"^\d+(\.\d)? %$"))
    expect(ui.page.locator(".rec-marker.selected")).to_have_count(1)
    expect(panel.get_by_role("link", name="Open live view")).to_have_attribute(
        "href", f"/wall?recorder={first.get_attribute('data-recorder-id')}"
    )
    ui.shot("recorder-panel")

    panel.get_by_label("Command", exact=True).select_option("text_message")
    panel.get_by_label("Message text").fill("Report to the north gate")
    panel.get_by_role("button", name="Send command").click()
    state = panel.get_by_test_id("command-state")
    # Accepted by the API (pending), then delivered: the recorder acknowledges and succeeds.
    expect(state).to_have_attribute(
        "data-state", re.compile("^(acknowledged|succeeded)$"), timeout=120_000
    )
    expect(state).to_have_text(re.compile("^Text message: (acknowledged|done)$"))
    ui.shot("command-done")
