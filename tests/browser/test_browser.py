"""Real headless Chromium sessions against the app: Run, watch the step chart render, open a rejected step
(after the run, and during one), and the page at a phone's width."""

import os
import re
import shutil
from urllib.parse import urlparse

import pytest
from playwright.sync_api import sync_playwright

from support import HoldBeforeStep, launch

CHROMIUM = os.environ.get("GSI_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-quic"]


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield browser
        browser.close()


def test_run_watch_and_inspect_a_step_in_the_browser(browser, tiny_app, tmp_path):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    outside = []
    page.on("request", lambda r: outside.append(r.url)
            if r.url.startswith("http") and urlparse(r.url).hostname not in ("127.0.0.1", "localhost") else None)
    page.goto(tiny_app.local_url)
    page.get_by_role("button", name="Run", exact=True).click()
    page.wait_for_selector("#gsi-step-plot .js-plotly-plot", timeout=90_000)
    page.wait_for_selector("#gsi-status :text('Done')", timeout=90_000)
    assert page.locator("#gsi-solution .gsi-step").count() >= 1

    page.locator("#gsi-step-choice input").click()
    first = page.get_by_role("option").first
    label = first.inner_text()
    first.click()
    explanation = page.get_by_text(re.compile(r"^Draft #\d+ was sampled"))  # the inspector, not a chart summary
    explanation.wait_for(timeout=30_000)
    text = explanation.inner_text()
    assert ("rejected" in text) == ("rejected" in label)
    # the decision in the reward's terms: the reward's room and π_B's view, which side decided and by how much
    assert re.search(r"the reward (gave|fell) .* nats|the reward gave no room", text) and "likely than π_S did" in text
    assert re.search(r"(decided it|outweighed|both were \w+ it), (clearing|missing) the bar by \d+\.\d\d nats", text)
    assert re.search(r"(Accepted|Rejected): the reward", page.locator("#gsi-step-summary").inner_text())
    assert page.locator("#gsi-step-plot svg text").filter(has_text=re.compile(r"^nats$")).count() >= 1  # its panel
    page.screenshot(path=str(tmp_path / "explore.png"), full_page=True)
    assert (tmp_path / "explore.png").stat().st_size > 10_000

    page.get_by_role("tab", name="Tilted policy").click()
    page.wait_for_selector("#gsi-lab-bars .js-plotly-plot", timeout=30_000)
    page.wait_for_selector("#gsi-lab-text :text('GSI accepts')", timeout=30_000)
    page.screenshot(path=str(tmp_path / "tilted-policy.png"), full_page=True)
    assert outside == [], f"the page reached outside this machine: {outside[:5]}"


def test_the_page_fits_a_phone_width(browser, tiny_app):
    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.goto(tiny_app.local_url)
    page.get_by_role("button", name="Run", exact=True).wait_for()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def test_a_rejected_step_opens_in_the_token_view_during_a_run_also_at_a_phone_width(browser, tiny_presets_file,
                                                                                  tmp_path, monkeypatch):
    hold = HoldBeforeStep(4, monkeypatch)
    demo = launch("tiny-live", tiny_presets_file)
    try:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(demo.local_url)
        page.get_by_role("button", name="Run", exact=True).click()
        assert hold.held.wait(timeout=180), "the run never reached step 4"
        page.wait_for_selector("#gsi-status :text('Running — step 3')", timeout=60_000)
        page.wait_for_selector("#gsi-time-text :text('gsi, 3 steps')", timeout=30_000)  # where the time goes, live
        # Steps 1–3 are decided (π_B, another sharp model, rejects π_S's drafts): filter the list, take the first.
        page.locator("#gsi-step-choice input").focus()
        page.keyboard.type("rejected")
        label = page.get_by_role("option").filter(has_text="rejected").first.inner_text()
        page.keyboard.press("Enter")
        page.wait_for_selector("#gsi-token-view .gsi-token[title]", state="attached", timeout=60_000)  # a token may be empty
        assert re.match(r"Step [123] — rejected", label) and page.locator("#gsi-token-view .gsi-draft").count() == 4
        assert page.locator("#gsi-status").inner_text().startswith("Running")  # inspected while the run goes on
        page.locator("#gsi-token-view").screenshot(path=str(tmp_path / "token-view.png"))
        assert (tmp_path / "token-view.png").stat().st_size > 5_000

        page.set_viewport_size({"width": 390, "height": 844})
        page.wait_for_timeout(500)
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
        page.screenshot(path=str(tmp_path / "phone.png"), full_page=True)
        assert (tmp_path / "phone.png").stat().st_size > 10_000
        page.get_by_role("button", name="Stop", exact=True).click()
        hold.released.set()
        page.wait_for_selector("#gsi-status :text('Stopped')", timeout=60_000)
        print(f"screenshots in {tmp_path}")
    finally:
        hold.released.set()
        demo.close()
