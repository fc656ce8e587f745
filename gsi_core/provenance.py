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


def machine_label() -> str:
    """The CPU model and core count (and GPU, if torch sees one): what a latency was measured on."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
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
