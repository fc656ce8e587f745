"""Time to the first streamed step and end to end, through the real app on a preset, plus a mid-run screenshot.

    python scripts/measure_app.py --preset offline-cpu --screenshot assets/explorer_offline_cpu.png
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gradio_client import Client  # noqa: E402

import app  # noqa: E402
from gsi_core.data import load_problems  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="offline-cpu")
    parser.add_argument("--problem-index", type=int, default=0)
    parser.add_argument("--screenshot", type=Path)
    args = parser.parse_args()

    demo = app.build_demo(args.preset)
    demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", quiet=True, css=app.CSS)
    problem = load_problems("gsm8k", limit=args.problem_index + 1)[-1]
    client = Client(demo.local_url, verbose=False)
    for label in ("cold (models load)", "warm"):
        started = time.perf_counter()
        job = client.submit(problem.question, "gsi", 4, 20, 0.5, 0.7, 0, 45, api_name="/run")
        first_step = None
        while not job.done():
            if first_step is None and any(o[4].startswith("**Running** — step 1") for o in job.outputs()):
                first_step = time.perf_counter() - started
            time.sleep(0.1)
        outputs = job.outputs()
        first_step = first_step or next(time.perf_counter() - started for o in outputs if "step" in o[4])
        total = time.perf_counter() - started
        events = [json.loads(line) for line in open(outputs[-1][5])]
        print(json.dumps({"run": label, "first_step_s": round(first_step, 1), "end_to_end_s": round(total, 1),
                          "steps": events[-1]["steps"], "answer": events[-1]["answer"], "gold": problem.gold}))
    if args.screenshot:
        from playwright.sync_api import sync_playwright

        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu",
                                                 "--disable-background-networking"])
            page = browser.new_page(viewport={"width": 1366, "height": 1000})
            page.goto(demo.local_url)
            page.get_by_role("button", name="Run", exact=True).click()
            page.wait_for_selector("#gsi-status :text('step 3')", timeout=600_000)
            page.screenshot(path=str(args.screenshot), full_page=False)
            page.get_by_role("button", name="Stop", exact=True).click()
            browser.close()
    demo.close()


if __name__ == "__main__":
    main()
