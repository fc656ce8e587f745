"""Run GSI on the offline pair in the real app through headless Chromium, open the first rejected step while
the run goes on, and report: the time from each step's decision (the engine yielding its event) to the page
showing it, the time from picking a step to its token view, and the export's size with and without the
per-token keys. Saves the token view's screenshot (for docs/explorer.md).

    python scripts/measure_live_inspection.py [--steps 5] [--screenshot assets/token_view_offline_cpu.png]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from playwright.sync_api import sync_playwright  # noqa: E402

TOKEN_KEYS = ("token_texts", "token_logprobs_small", "token_logprobs_big")


def export_sizes(path: Path) -> tuple[int, int, int]:
    """(bytes as written, bytes without the per-token keys, π_S tokens π_B scored) of an export."""
    written = without = tokens = 0
    for line in path.read_text().splitlines(keepends=True):
        written += len(line.encode())
        event = json.loads(line)
        for candidate in event.get("candidates", []) + event.get("fallback", []):
            if candidate.get("token_logprobs_big") is not None and candidate.get("token_logprobs_small") is not None:
                tokens += candidate["num_tokens"]
            for key in TOKEN_KEYS:
                candidate.pop(key, None)
        without += len((json.dumps(event, ensure_ascii=False) + "\n").encode())
    return written, without, tokens


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="offline-cpu")
    parser.add_argument("--steps", type=int, default=5, help="the run's step cap")
    parser.add_argument("--screenshot", type=Path, default=REPO / "assets" / "token_view_offline_cpu.png")
    parser.add_argument("--limit", type=float, default=3 * 3600, help="give up after this many seconds")
    args = parser.parse_args()

    import yaml

    presets = yaml.safe_load((REPO / "spaces_config.yaml").read_text())["presets"]
    chosen = presets[args.preset]
    chosen.setdefault("decoding", {})["max_steps"] = args.steps
    presets_file = Path(tempfile.mkdtemp()) / "presets.yaml"
    presets_file.write_text(yaml.safe_dump({"presets": {args.preset: chosen}}))
    os.environ["GSI_PRESETS_FILE"] = str(presets_file)

    import app
    from gsi_ui import explore

    decided: dict[int, tuple[str, float]] = {}
    engine_run = explore.run_method

    def recorded_run(*call_args, **kwargs):
        for event in engine_run(*call_args, **kwargs):
            if event.type == "step":
                decided[event.index] = (event.decision, time.perf_counter())
            yield event

    explore.run_method = recorded_run
    demo = app.build_demo(args.preset)
    demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", quiet=True, css=app.CSS)
    shown: dict[int, float] = {}
    picked = None
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                                                 args=["--no-sandbox", "--disable-gpu"])
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(demo.local_url)
            page.get_by_role("button", name="Run", exact=True).click()
            started = time.perf_counter()
            while True:
                status = page.locator("#gsi-status").inner_text(timeout=300_000)  # a loaded CPU can stall the page
                now = time.perf_counter()
                step = re.search(r"step (\d+)", status)
                if step:
                    for index in range(int(step.group(1))):
                        if index not in shown:
                            shown[index] = now
                            print(f"step {index + 1} shown at {now - started:.1f} s: {decided.get(index)}", flush=True)
                if status.startswith("Done"):
                    break
                rejected = [i for i, (decision, _) in decided.items() if decision == "fallback" and i in shown]
                if picked is None and rejected and status.startswith("Running"):
                    page.locator("#gsi-step-choice input").click()
                    page.get_by_role("option", name=re.compile(rf"^Step {rejected[0] + 1} — rejected")).click()
                    choice_made = time.perf_counter()
                    page.wait_for_selector("#gsi-token-view .gsi-token[title]", timeout=300_000)
                    picked = (rejected[0], time.perf_counter() - choice_made)
                    args.screenshot.parent.mkdir(parents=True, exist_ok=True)
                    page.locator("#gsi-token-view").screenshot(path=str(args.screenshot))
                if now - started > args.limit:
                    raise TimeoutError(f"the run took over {args.limit:g} s")
                time.sleep(0.1)
            print(status)
            browser.close()
    finally:
        demo.close()
    delays = [shown[i] - decided[i][1] for i in sorted(decided) if i in shown]
    print(f"decision → shown on the page (and in the inspector's list), per step: "
          + ", ".join(f"{d:.2f} s" for d in delays))
    if picked:
        print(f"picked rejected step {picked[0] + 1} during the run; its token view appeared {picked[1]:.2f} s later; "
              f"screenshot {args.screenshot}")
    else:
        print("no step was rejected while the run went on: no screenshot")
    export = max(Path(tempfile.gettempdir()).glob("gsi-exports-*/gsi-gsi-*.jsonl"), key=lambda p: p.stat().st_mtime)
    written, without, tokens = export_sizes(export)
    print(f"export {export}: {written:,} B, {without:,} B without the per-token keys (×{written / without:.2f}); "
          f"{(written - without) / max(tokens, 1):.1f} B per scored token over {tokens} tokens")


if __name__ == "__main__":
    main()
