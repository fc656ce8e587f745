"""A visitor's run, kept in `gr.State`: the engine's `Run` fold, plus an export file of the visitor's own."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from gsi_core.run import Run


class RunState(Run):
    """`gsi_core.run.Run` (events, start, steps, summary, acceptance, step choices, JSON lines) for the UI."""

    def save(self, directory: Path) -> Path:
        """Write the export to a new file of its own, so two visitors never download each other's run."""
        handle, name = tempfile.mkstemp(prefix=f"gsi-{self.start.method if self.start else 'run'}-", suffix=".jsonl",
                                        dir=directory)
        with os.fdopen(handle, "w") as out:
            out.write(self.to_jsonl())
        return Path(name)
