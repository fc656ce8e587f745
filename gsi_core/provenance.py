"""Where a measurement comes from: the command, the code's commit, the models, the machine and the date.

Written beside every saved result (`run.json` of an evaluation, the engine bench's JSON, the step measurements).
"""

from __future__ import annotations

import datetime
import os
import platform
from pathlib import Path
from typing import Any

from .config import Preset


# The vector extensions CPU decoding speed hangs on: two machines both called "AMD EPYC" can differ by 6× when
# one has only AVX2 and the other AVX512 with VNNI / BF16 (or AMX) for the int8 and bf16 kernels.
VECTOR_FLAGS = ("avx2", "avx_vnni", "avx512f", "avx512_vnni", "avx512_bf16", "amx_int8", "amx_bf16")


def vector_extensions(flags: str) -> list[str]:
    """The `VECTOR_FLAGS` present in a /proc/cpuinfo `flags` line, in that order."""
    present = set(flags.split())
    return [flag for flag in VECTOR_FLAGS if flag in present]


def cpu_fields() -> dict[str, str]:
    """The first processor's /proc/cpuinfo fields ("model name", "flags", …); empty where there is none."""
    fields: dict[str, str] = {}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            fields.setdefault(key.strip(), value.strip())
    except OSError:
        pass
    return fields


def machine_label() -> str:
    """The CPU model, its vector extensions and core count (and GPU, if torch sees one): what a latency was
    measured on."""
    fields = cpu_fields()
    cpu = fields.get("model name") or platform.processor() or platform.machine()
    if "flags" in fields:  # Linux; elsewhere the model name is all there is
        cpu += f" ({' '.join(vector_extensions(fields['flags'])) or 'no AVX2'})"
    label = f"{cpu}, {os.cpu_count()} cores"
    try:
        import torch

        if torch.cuda.is_available():
            label += f", {torch.cuda.get_device_name(0)}"
    except ImportError:
        pass
    return label


def provenance(command: str, preset: Preset) -> dict[str, Any]:
    """Which command, code and models made a measurement, on which machine and when: written beside every
    saved result (`run.json`, the bench's JSON)."""
    return {
        "command": command,
        "models": preset.models,
        "machine": machine_label(),
        "date": datetime.date.today().isoformat(),
        "commit": _git_commit(),
    }


def _git_commit() -> str | None:
    """The code's commit, when it runs from a git checkout."""
    import subprocess

    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=Path(__file__).parent, capture_output=True,
                             text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() or None
