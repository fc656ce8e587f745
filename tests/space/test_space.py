"""A CPU Space as Spaces builds it: a fresh venv from requirements.txt alone, app.py with SPACE_ID set and no GPU,
one GSI run on the default preset through gradio_client. Marked `space` (minutes: the install and, on a machine
that never ran the offline preset, the weights' first conversion); .ci/run runs it as its own step."""

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from gradio_client import Client

from testkit.tiny import REPO

pytestmark = pytest.mark.space

PROBLEM = "What is 12 + 30 * 2?"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def folder_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())


def wait_for_client(url: str, server: subprocess.Popen, seconds: float) -> Client:
    deadline = time.monotonic() + seconds
    while True:
        assert server.poll() is None, "app.py exited before serving"
        try:
            return Client(url, verbose=False)
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(2)


def test_a_fresh_venv_from_requirements_txt_runs_the_default_preset_as_a_cpu_space(tmp_path):
    venv = tmp_path / "space-venv"
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin" / "pip"), "install", "--quiet", "-r", str(REPO / "requirements.txt")],
                   check=True, timeout=1800)
    installed = time.perf_counter() - started
    listed = subprocess.run([str(venv / "bin" / "pip"), "list", "--format=json"], capture_output=True, text=True,
                            check=True)
    packages = {p["name"].lower(): p["version"] for p in json.loads(listed.stdout)}
    assert "pytest" not in packages and "spaces" in packages  # requirements.txt only, as a Space installs
    # The weights' first conversion needs what transformers reads a GGUF file with; a warm cache here would hide it.
    converters = subprocess.run([str(venv / "bin" / "python"), "-c", "from gsi_core.offline_weights import "
                                 "missing_converters; print(missing_converters())"], cwd=REPO, capture_output=True,
                                text=True, check=True)
    assert converters.stdout.strip() == "[]", converters.stdout

    port = free_port()
    environment = {k: v for k, v in os.environ.items() if k not in ("GSI_PRESET", "GSI_PRESETS_FILE", "PYTHONPATH")}
    environment.update(SPACE_ID="gsi-explorer/space-test", GRADIO_SERVER_NAME="127.0.0.1",
                       GRADIO_SERVER_PORT=str(port), CUDA_VISIBLE_DEVICES="", HF_HUB_OFFLINE="1",
                       GRADIO_ANALYTICS_ENABLED="False", HF_HUB_DISABLE_TELEMETRY="1")
    log = open(tmp_path / "app.log", "w")
    server = subprocess.Popen([str(venv / "bin" / "python"), "app.py"], cwd=REPO, env=environment, stdout=log,
                              stderr=subprocess.STDOUT)
    try:
        client = wait_for_client(f"http://127.0.0.1:{port}/", server, seconds=300)
        clicked = time.perf_counter()
        job = client.submit(PROBLEM, "gsi", 2, 2, 20, 0.5, 0.7, 0, 1, api_name="/run")
        first_step = None
        while not job.done():
            if first_step is None and any(str(u[4]).startswith(("**Running** — step 1", "**Done**")) for u in job.outputs()):
                first_step = time.perf_counter() - clicked
            time.sleep(0.2)
        final = job.result()
        first_step = first_step or time.perf_counter() - clicked
        assert final[4].startswith("**Done**"), final[4]
        with open(final[5]) as lines:
            events = [json.loads(line) for line in lines]
        start = events[0]
        assert start["small_model"].startswith("qwen2.5-coder-0.5b") and start["big_model"].startswith("qwen2.5-coder-1.5b")
        assert events[-1]["type"] == "summary" and events[-1]["steps"] == 1
        print(f"\n[space] install {installed:.0f} s, venv {folder_size(venv) / 2**30:.2f} GiB, "
              f"{len(packages)} packages, torch {packages.get('torch')}; first streamed step {first_step:.1f} s after Run "
              f"(loading included)")
    finally:
        server.terminate()
        server.wait(timeout=60)
        log.close()
        shutil.rmtree(venv)  # 3 GB: pytest keeps its last three temporary folders
    assert "Traceback" not in (tmp_path / "app.log").read_text()
