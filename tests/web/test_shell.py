"""The console's shell: sign-in, navigation by permission, live feeds, language switch."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import expect

from tests.web.conftest import Console, ConsolePage

pytestmark = [pytest.mark.slow, pytest.mark.browser]


def test_the_api_serves_the_console_and_keeps_api_errors_json(console: Console) -> None:
    index = httpx.get(f"{console.url}/evidence/some/deep/route", timeout=30)
    assert index.status_code == 200
    assert index.headers["content-type"].startswith("text/html")
    assert index.headers["cache-control"] == "no-cache"
    assert "default-src 'self'" in index.headers["content-security-policy"]
    asset = re.search(r'src="(/assets/[^"]+\.js)"', index.text)
    assert asset is not None
    served = httpx.get(console.url + asset.group(1), timeout=30)
    assert served.status_code == 200
    assert served.headers["cache-control"] == "public, max-age=31536000, immutable"
    missing = httpx.get(f"{console.url}/api/v1/no-such-route", timeout=30)
    assert missing.status_code == 404
    assert missing.json()["error"] == "not_found"
    assert httpx.get(f"{console.url}/assets/missing.js", timeout=30).status_code == 404


def test_a_wrong_password_is_refused_then_the_admin_signs_in(ui: ConsolePage) -> None:
    ui.page.goto(ui.url + "/")
    ui.page.get_by_label("Username").fill("console-admin")
    ui.page.get_by_label("Password").fill("not the password")
    ui.page.get_by_role("button", name="Sign in").click()
    expect(ui.page.get_by_role("alert")).to_contain_text("Sign-in failed")
    ui.shot("login-refused")
    ui.errors.clear()  # the browser logs the 401 of the refused login itself
    ui.login()
    nav = ui.page.get_by_role("navigation", name="Main navigation")
    for name in ("Live map", "Video wall", "Alerts", "Evidence", "Watch lists", "Administration"):
        expect(nav.get_by_role("link", name=name)).to_be_visible()
    expect(ui.page.get_by_test_id("feed-devices")).to_have_attribute("data-status", "open")
    expect(ui.page.get_by_test_id("feed-alerts")).to_have_attribute("data-status", "open")
    ui.shot("signed-in")


def test_the_language_switch_turns_the_console_into_chinese(ui: ConsolePage) -> None:
    ui.login()
    ui.page.get_by_label("Language").first.select_option("zh-CN")
    nav = ui.page.get_by_role("navigation", name="主导航")
    expect(nav.get_by_role("link", name="实时地图")).to_be_visible()
    expect(ui.page.locator("html")).to_have_attribute("lang", "zh-CN")
    ui.shot("zh-CN")
    ui.page.get_by_label("语言").first.select_option("en")
    expect(ui.page.get_by_role("navigation", name="Main navigation")).to_be_visible()
