"""Save a screenshot of one tab of the app (for the docs, e.g. docs/explorer.md), in headless Debian Chromium.

    python scripts/screenshot_tab.py --tab "Tilted policy" --out assets/tilted_policy.png
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import app  # noqa: E402


def main() -> None:
    from playwright.sync_api import sync_playwright

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tab", default="Tilted policy")
    parser.add_argument("--wait-for", default="#gsi-lab-bars .js-plotly-plot")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    app.demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", quiet=True, css=app.CSS)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium",
                                             args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        page = browser.new_page(viewport={"width": 1366, "height": 900})
        page.goto(app.demo.local_url)
        page.get_by_role("tab", name=args.tab).click()
        page.wait_for_selector(args.wait_for, timeout=60_000)
        page.wait_for_timeout(1000)  # let Plotly finish its transition
        page.screenshot(path=str(args.out), full_page=True)
        browser.close()
    app.demo.close()


if __name__ == "__main__":
    main()
