"""Warm start and memory of `app.py` itself: started with GSI_PRELOAD=1, how long until the page reports the models
loaded, then from Run to the first streamed step of the default example, and the whole run; with the app process's
peak RSS (VmHWM) after each stage. Writes JSON with the machine's CPU flags.

    python scripts/measure_warm_start.py --preset offline-cpu --out assets/warm_start_offline_cpu.json
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from gradio_client import Client  # noqa: E402

from gsi_core.bench import cpu_flags  # noqa: E402
from gsi_core.config import get_preset  # noqa: E402
from gsi_core.data import load_problems  # noqa: E402
from gsi_core.provenance import provenance  # noqa: E402


def peak_rss_gib(pid: int) -> float:
    """A process's peak resident memory so far (VmHWM), in GiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 2**20
    raise RuntimeError("no VmHWM in /proc (Linux only)")


def start_app(preset: str) -> tuple[subprocess.Popen, str]:
    """`python app.py` on a free local port with the warm start on; returns the process and its URL once up."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "GSI_PRELOAD": "1", "GSI_PRESET": preset, "GRADIO_SERVER_PORT": str(port)}
    app = subprocess.Popen([sys.executable, "app.py"], cwd=REPO, env=env)
    url = f"http://127.0.0.1:{port}/"
    for _ in range(600):
        try:
            Client(url, verbose=False)
            return app, url
        except Exception:  # not serving yet
            if app.poll() is not None:
                raise SystemExit(f"app.py exited with {app.returncode}")
            time.sleep(0.5)
    raise SystemExit("app.py did not start serving in 5 minutes")


def wait_loaded(client: Client, started: float) -> tuple[float, list[str]]:
    """Seconds from start-up until the page reports the models loaded, and the distinct statuses seen on the way."""
    seen: list[str] = []
    while True:
        status = client.predict(api_name="/load_status")[0]
        if not seen or status.split(" (")[0] != seen[-1].split(" (")[0]:
            seen.append(status)
        if status.startswith("**Models loaded**"):
            return time.perf_counter() - started, seen
        if status.startswith("**Models failed"):
            raise SystemExit(status)
        time.sleep(0.5)


def run_default_example(client: Client, preset_name: str, pid: int) -> dict:
    """The Explore tab's default run (GSM8K problem 0, the preset's settings), timed and memory-sampled."""
    defaults = get_preset(preset_name).decoding
    problem = load_problems("gsm8k", limit=1)[0]
    args = (problem.question, "gsi", defaults.candidates("small"), defaults.candidates("big"), defaults.beta,
            defaults.threshold, defaults.temperature, defaults.seed, min(defaults.max_steps, 45))
    started = time.perf_counter()
    job = client.submit(*args, api_name="/run")
    first_step = peak_first = None
    while not job.done():
        if first_step is None and any(o[4].startswith("**Running** — step 1") for o in job.outputs()):
            first_step, peak_first = time.perf_counter() - started, peak_rss_gib(pid)
        time.sleep(0.05)
    final = job.result()
    events = [json.loads(line) for line in open(final[5])]
    return {"first_step_s": round(first_step, 2), "end_to_end_s": round(time.perf_counter() - started, 1),
            "peak_first_step_gib": round(peak_first, 2), "peak_whole_run_gib": round(peak_rss_gib(pid), 2),
            "steps": events[-1]["steps"], "answer": events[-1]["answer"], "gold": problem.gold}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="offline-cpu")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    started = time.perf_counter()
    app, url = start_app(args.preset)
    try:
        client = Client(url, verbose=False, httpx_kwargs={"timeout": 300})
        loaded_s, statuses = wait_loaded(client, started)
        result = {"preset": args.preset, "load_average": os.getloadavg(), "loaded_s_after_start": round(loaded_s, 1),
                  "statuses_seen": statuses,
                  "peak_models_loaded_gib": round(peak_rss_gib(app.pid), 2),
                  **run_default_example(client, args.preset, app.pid)}
    finally:
        app.terminate()
        app.wait(timeout=60)
    command = "python scripts/measure_warm_start.py " + " ".join(sys.argv[1:])
    result = {**provenance(command, get_preset(args.preset)), "cpu": cpu_flags(), **result}
    print(json.dumps(result, indent=2, ensure_ascii=False))
    if args.out:
        args.out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
