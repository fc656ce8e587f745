"""Warm start: the models load in a thread of their own, at start-up on a Space (or with GSI_PRELOAD=1), else on
the first run; the page and any run pressed meanwhile show where loading stands, and a run waits for it."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

import gradio as gr

from gsi_core.progress import LoadStage, listening

T = TypeVar("T")
POLL_SECONDS = 0.5


def preload_requested() -> bool:
    """On a Space (`SPACE_ID` set) the first visitor should not pay the load; GSI_PRELOAD=1 asks for it anywhere."""
    return bool(os.environ.get("SPACE_ID")) or os.environ.get("GSI_PRELOAD", "") == "1"


class _Attempt(threading.Thread, Generic[T]):
    """One try at loading, in its own thread; its result or error stays with it, so a retry never hides it."""

    def __init__(self, load: Callable[[], T], on_stage: Callable[[LoadStage], None]):
        super().__init__(name="gsi-model-loader", daemon=True)
        self._load, self._on_stage = load, on_stage
        self.value: T | None = None
        self.error: Exception | None = None
        self.started_at = time.perf_counter()
        self.seconds: float | None = None

    def run(self) -> None:
        with listening(self._on_stage):
            try:
                self.value = self._load()
            except Exception as error:  # raised to whoever waits for it, as a page message
                self.error = error
        self.seconds = time.perf_counter() - self.started_at


class BackgroundLoader(Generic[T]):
    """Loads once per process in a background thread; every caller waits on the same load. A load that failed
    is tried again by the next caller (its error is shown to those who waited for it)."""

    def __init__(self, load: Callable[[], T]):
        self._load = load
        self._lock = threading.Lock()
        self._attempt: _Attempt[T] | None = None
        self.stage: LoadStage | None = None

    def _on_stage(self, stage: LoadStage) -> None:
        self.stage = stage

    def start(self) -> _Attempt[T]:
        """The current load, started now unless one is running or has succeeded."""
        with self._lock:
            attempt = self._attempt
            if attempt is None or (not attempt.is_alive() and attempt.value is None):
                self.stage = None
                attempt = self._attempt = _Attempt(self._load, self._on_stage)
                attempt.start()
            return attempt

    @property
    def value(self) -> T | None:
        """The loaded value, or None while nothing has loaded (never waits, never starts a load)."""
        attempt = self._attempt
        return attempt.value if attempt is not None and not attempt.is_alive() else None

    @property
    def loading(self) -> bool:
        return self._attempt is not None and self._attempt.is_alive()

    def get(self) -> T:
        """The loaded value, waiting for the load (started if need be); a failure raises a page message."""
        attempt = self.start()
        attempt.join()
        return _result(attempt)

    def waiting(self) -> Iterator[str]:
        """Starts the load if need be and yields where it stands each time that changes, until it ends; a failure
        raises a page message."""
        attempt, shown = self.start(), None
        while attempt.is_alive():
            if (now := self.progress()) != shown:
                yield (shown := now)
            attempt.join(POLL_SECONDS)
        _result(attempt)

    def progress(self) -> str:
        """Where the running load stands: its stage, model and percentage where known, and the time so far."""
        elapsed = time.perf_counter() - self._attempt.started_at if self._attempt else 0.0
        return f"{self.stage.describe() if self.stage else 'starting'} ({elapsed:.0f} s)"

    def status(self) -> str:
        """One line for the page: not started, loading (`progress`), loaded, or failed."""
        attempt = self._attempt
        if attempt is None:
            return "Models load on the first run."
        if attempt.is_alive():
            return f"**Loading models** — {self.progress()}"
        if attempt.error is not None:
            return f"**Models failed to load** — {attempt.error}"
        return f"**Models loaded** in {attempt.seconds:.0f} s."


def _result(attempt: _Attempt[T]) -> T:
    if attempt.error is not None:
        raise gr.Error(f"Models failed to load — {attempt.error}") from None
    return attempt.value


def render(loader: BackgroundLoader) -> None:
    """A status line under the title that follows loading while it goes on (polled once a second, then idle)."""
    status = gr.Markdown(loader.status, elem_id="gsi-load-status")
    timer = gr.Timer(1.0)

    def refresh():
        return loader.status(), gr.Timer(active=loader.loading)

    timer.tick(refresh, None, [status, timer], queue=False, show_progress="hidden", api_name="load_status")
