"""A visitor's run, kept in `gr.State`: the events so far, and what the views derive from them."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from gsi_core.events import Event, RunStarted, RunSummary, StepEvent, from_dict, to_json


@dataclass(frozen=True)
class RunState:
    events: tuple[Event, ...] = ()

    def add(self, event: Event) -> "RunState":
        return RunState(self.events + (event,))

    @property
    def start(self) -> RunStarted | None:
        return next((e for e in self.events if isinstance(e, RunStarted)), None)

    @property
    def steps(self) -> list[StepEvent]:
        return [e for e in self.events if isinstance(e, StepEvent)]

    @property
    def summary(self) -> RunSummary | None:
        return next((e for e in self.events if isinstance(e, RunSummary)), None)

    def step_choices(self) -> list[tuple[str, int]]:
        """(label, step index) for the inspector: rejected steps first, newest first within each group."""
        steps = sorted(self.steps, key=lambda s: (s.decision != "fallback", -s.index))
        marks = {"fallback": "rejected → π_B", "accepted": "accepted", "n.a.": "selected"}
        return [(f"Step {s.index + 1} — {marks[s.decision]}", s.index) for s in steps]

    def to_jsonl(self) -> str:
        return "".join(to_json(e) + "\n" for e in self.events)

    @classmethod
    def from_jsonl(cls, text: str) -> "RunState":
        """Read an export back; a malformed line is refused with its number."""
        events = []
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                events.append(from_dict(json.loads(line)))
            except (ValueError, TypeError) as error:
                raise ValueError(f"line {number} is not an event of this app: {error}") from None
        if not events:
            raise ValueError("the file holds no events")
        return cls(tuple(events))

    def save(self, directory: Path) -> Path:
        """Write the export to a new file of its own, so two visitors never download each other's run."""
        handle, name = tempfile.mkstemp(prefix=f"gsi-{self.start.method if self.start else 'run'}-", suffix=".jsonl",
                                        dir=directory)
        with os.fdopen(handle, "w") as out:
            out.write(self.to_jsonl())
        return Path(name)
