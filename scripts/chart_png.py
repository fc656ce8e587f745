"""Render a run directory's chart to PNG in headless Debian Chromium (for the docs), where no Plotly image
renderer (kaleido) is installed: an eval directory's accuracy-vs-latency chart, or a frontier's figure (both
written by `python -m gsi_core report DIR`).

    python scripts/chart_png.py assets/eval/gsm8k-offline-cpu-n4
    python scripts/chart_png.py assets/frontier/gsm8k-offline-cpu
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gsi_core.frontier_report import FRONTIER_CHART  # noqa: E402
from gsi_core.report import ACCURACY_CHART  # noqa: E402

CHARTS = (FRONTIER_CHART, ACCURACY_CHART)  # what `report` writes for a frontier, for an eval run


def main() -> None:
    from playwright.sync_api import sync_playwright

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", type=Path)
    args = parser.parse_args()
    found = [args.directory / name for name in CHARTS if (args.directory / name).is_file()]
    if not found:
        parser.error(f"{args.directory} holds none of {', '.join(CHARTS)}: run `python -m gsi_core report` on it first")
    html = found[0].resolve()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium",
                                             args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        page = browser.new_page(viewport={"width": 900, "height": 520})
        page.goto(html.as_uri())
        page.wait_for_selector(".js-plotly-plot", timeout=60_000)
        page.locator(".js-plotly-plot").first.screenshot(path=str(html.with_suffix(".png")))
        browser.close()


if __name__ == "__main__":
    main()
