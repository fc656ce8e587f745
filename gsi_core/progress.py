"""Where loading a preset stands: the loaders report each stage (joining parts, converting, loading, int8 copies)
and the fraction done where they know it, to whoever listens in the loading thread (the app's warm start)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

JOINING, CONVERTING, LOADING, QUANTIZING = "joining parts", "converting", "loading", "building int8 copies"


@dataclass(frozen=True)
class LoadStage:
    """One stage of loading one model; `fraction` in [0, 1] where the stage knows how far it is, else None."""

    stage: str
    model: str
    fraction: float | None = None

    def describe(self) -> str:
        percent = f": {self.fraction:.0%}" if self.fraction is not None else ""
        return f"{self.stage} — {self.model}{percent}"


_listener: ContextVar[Callable[[LoadStage], None] | None] = ContextVar("gsi_load_listener", default=None)


def report(stage: str, model: str, fraction: float | None = None) -> None:
    """Tell this context's listener, if any, that loading `model` has reached `stage`."""
    listener = _listener.get()
    if listener is not None:
        listener(LoadStage(stage, model, fraction))


@contextmanager
def listening(listener: Callable[[LoadStage], None]) -> Iterator[None]:
    """Within the block, `report` calls from this thread (and context) reach `listener`."""
    token = _listener.set(listener)
    try:
        yield
    finally:
        _listener.reset(token)
