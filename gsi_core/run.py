"""One run folded from its events: the only place that reads the stream's shape (start, steps, summary).

The app's live view, a replayed export, the benchmark harness, Compare, the engine bench and the toy-world
sampler all read a `Run` rather than indexing `events[0]` / `events[-1]` themselves.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Iterable

from .events import Event, RunStarted, RunSummary, StepEvent, from_dict, to_json

_DECISION_MARKS = {"fallback": "rejected → π_B", "accepted": "accepted", "n.a.": "selected"}


@dataclass(frozen=True)
class Run:
    """The events of one run so far (complete once `summary` is set); immutable, so a UI can keep it in state."""

    events: tuple[Event, ...] = ()

    @classmethod
    def of(cls, events: Iterable[Event]) -> "Run":
        """Fold a whole stream, e.g. `Run.of(run_method(…))`."""
        return cls(tuple(events))

    def add(self, event: Event) -> "Run":
        return type(self)(self.events + (event,))

    @property
    def start(self) -> RunStarted | None:
        return next((e for e in self.events if isinstance(e, RunStarted)), None)

    @property
    def steps(self) -> list[StepEvent]:
        return [e for e in self.events if isinstance(e, StepEvent)]

    @property
    def summary(self) -> RunSummary | None:
        return next((e for e in self.events if isinstance(e, RunSummary)), None)

    @property
    def acceptance(self) -> float | None:
        """Accepted π_S steps / steps with an acceptance test so far (None for single-model methods)."""
        decided = [s for s in self.steps if s.decision != "n.a."]
        return sum(s.decision == "accepted" for s in decided) / len(decided) if decided else None

    def step_choices(self) -> list[tuple[str, int]]:
        """(label, step index) for the inspector, rejected steps first."""
        steps = sorted(self.steps, key=lambda s: (s.decision != "fallback", s.index))
        return [(f"Step {s.index + 1} — {_DECISION_MARKS[s.decision]}", s.index) for s in steps]

    def to_jsonl(self) -> str:
        return "".join(to_json(e) + "\n" for e in self.events)

    @classmethod
    def from_jsonl(cls, text: str) -> "Run":
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
