"""Render a run directory's accuracy-vs-latency chart to PNG in headless Debian Chromium (for the docs), where
no Plotly image renderer (kaleido) is installed.

    python scripts/chart_png.py assets/eval/gsm8k-offline-cpu-n4
"""

from __future__ import annotations

import argparse
from pathlib import Path


def main() -> None:
    from playwright.sync_api import sync_playwright

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", type=Path)
    args = parser.parse_args()
    html = (args.directory / "accuracy_vs_latency.html").resolve()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium",
                                             args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        page = browser.new_page(viewport={"width": 900, "height": 520})
        page.goto(html.as_uri())
        page.wait_for_selector(".js-plotly-plot", timeout=60_000)
        page.locator(".js-plotly-plot").first.screenshot(path=str(args.directory / "accuracy_vs_latency.png"))
        browser.close()


if __name__ == "__main__":
    main()
