"""The trainee's phone can install Làng Số, and sees the offline banner and page when the network drops."""

import re
import time

import pytest
from playwright.sync_api import expect

from tests.conftest import CHROMIUM, CHROMIUM_ARGS, PHONE
from tests.e2e.conftest import DEMO_ACCOUNTS, DEMO_PASSWORD, log_in_with_the_form, screenshot

pytestmark = pytest.mark.e2e

BRAND_GREEN = "rgb(11, 93, 75)"


def wait_until(condition, seconds=5.0):
    """Poll a condition (the app's CSP forbids the string Playwright's wait_for_function evaluates)."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


@pytest.fixture
def installable_page(browser, tmp_path):
    """A phone-sized page in a profile on disk (Chromium says an incognito context can never install an app), and its script errors."""
    # Through the session's Playwright: a second one may not run beside it.
    context = browser.browser_type.launch_persistent_context(
        str(tmp_path / "profile"), executable_path=CHROMIUM, args=CHROMIUM_ARGS, locale="vi-VN", **PHONE)
    page = context.pages[0] if context.pages else context.new_page()
    problems = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    # A probe of the offline page may fail while the network comes back: that is its job, not a fault.
    page.on("console", lambda message: message.type == "error" and not message.location["url"].endswith("/healthz")
            and problems.append(f"{message.text} {message.location['url']}"))
    yield page, problems
    context.close()


def test_trainee_installs_the_app_and_sees_when_the_network_drops(live_server, installable_page):
    page, problems = installable_page
    log_in_with_the_form(page, live_server, DEMO_ACCOUNTS["trainee"], DEMO_PASSWORD)
    assert page.url == live_server + "/learn"
    assert page.locator('link[rel="manifest"]').get_attribute("href") == "/manifest.webmanifest"

    # The worker installs (the whole shell cached), then controls the page once it is opened again.
    assert page.evaluate("navigator.serviceWorker.ready.then((r) => r.active.state)") == "activated"
    page.reload()
    assert page.evaluate("navigator.serviceWorker.controller && navigator.serviceWorker.controller.scriptURL") \
        == live_server + "/sw.js"

    cdp = page.context.new_cdp_session(page)
    assert cdp.send("Page.getInstallabilityErrors")["installabilityErrors"] == []
    manifest = cdp.send("Page.getAppManifest")
    assert manifest["url"] == live_server + "/manifest.webmanifest" and manifest["errors"] == []

    # Only the shell is kept: static files and the offline page, never a page with the trainee's data.
    kept = page.evaluate("""async () => {
        const names = await caches.keys();
        const urls = [];
        for (const name of names) for (const r of await (await caches.open(name)).keys()) urls.push(new URL(r.url).pathname);
        return {names, urls};
    }""")
    assert len(kept["names"]) == 1 and kept["names"][0].startswith("lms-shell-")
    assert "/offline" in kept["urls"] and "/static/css/app.css" in kept["urls"]
    assert all(url in ("/offline", "/manifest.webmanifest") or url.startswith("/static/") for url in kept["urls"]), kept["urls"]

    banner = page.locator("[data-offline-banner]")
    expect(banner).to_be_hidden()
    page.context.set_offline(True)
    expect(banner).to_be_visible()
    expect(banner).to_have_text(re.compile(r"^Đang mất mạng — tiến độ học được giữ trên điện thoại"))
    assert banner.get_attribute("role") == "status"
    assert page.evaluate("parseFloat(getComputedStyle(document.querySelector('[data-offline-banner]')).fontSize)") >= 16
    screenshot(page, "pwa-01-offline-banner")

    # A page the phone cannot reach: the worker's offline page, at the address asked for, styled from its cache.
    page.goto(live_server + "/courses")
    expect(page.get_by_role("heading", level=1)).to_have_text("Bạn đang mất mạng")
    assert page.url == live_server + "/courses"
    retry = page.get_by_role("button", name="Thử lại")
    expect(retry).to_be_visible()
    assert retry.evaluate("(b) => getComputedStyle(b).backgroundColor") == BRAND_GREEN
    assert retry.bounding_box()["height"] >= 44
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    expect(banner).to_be_visible()
    screenshot(page, "pwa-02-offline-page")
    retry.click()  # still offline: the offline page again, not the browser's error
    expect(page.get_by_role("heading", level=1)).to_have_text("Bạn đang mất mạng")

    # The network comes back: the page asked for opens by itself, and the banner goes. (Chromium's
    # emulation leaves navigator.onLine true in a page loaded while offline, so that page would hear
    # no "online": the network is dropped once more under the loaded page, as a phone's would be.)
    page.context.set_offline(False)
    page.context.set_offline(True)
    wait_until(lambda: page.evaluate("navigator.onLine") is False)
    page.context.set_offline(False)
    expect(page.get_by_role("heading", level=1)).not_to_have_text("Bạn đang mất mạng")
    expect(page.get_by_role("heading", name="Viết bài bán hàng trên mạng xã hội")).to_be_visible()
    expect(page.locator("[data-offline-banner]")).to_be_hidden()
    screenshot(page, "pwa-03-back-online")
    assert problems == []
