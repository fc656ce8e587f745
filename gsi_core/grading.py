"""Grading a predicted answer against the gold one: math-verify for math answers, letters for MMLU.

math-verify's own timeouts use SIGALRM, which works only on the main thread (math-verify issues #11, #50, #55),
so the app's and the harness's worker threads cannot use them. They are switched off here, and every check runs
in a separate worker process with a deadline of our own: a pathological answer is marked wrong when the
deadline passes, the worker is replaced, and nothing hangs or crashes the caller.
"""

from __future__ import annotations

import multiprocessing
import re
import threading
from multiprocessing.connection import Connection

MMLU_LETTER = re.compile(r"\b([ABCD])\b")
# GSM8K's golds are numbers, so "the latest time she can start" is `2`; models answer `2:00 \text{ pm}`.
CLOCK_HOUR = re.compile(r"^\s*(\d{1,2}):00\s*(?:\\[,;]\s*)?(?:\\text\{\s*)?[AaPp]\.?\s*[Mm]\.?\s*\}?\s*$")


def mmlu_letter(prediction: str) -> str | None:
    """The choice a prediction names: `B`, `(B)`, `B) 42`, `\\text{B}`…; the first standalone letter A–D."""
    match = MMLU_LETTER.search(prediction.replace("\\text{", " ").replace("(", " ").replace(")", " "))
    return match.group(1) if match else None


def _math_equal(prediction: str, gold: str) -> bool:
    """Runs in the worker: both sides parsed as LaTeX math, compared by math-verify with its timeouts off."""
    import logging

    from math_verify import parse, verify

    logging.getLogger("math_verify").setLevel(logging.ERROR)  # it warns that we time out ourselves; we do
    parsed_gold = parse(f"${gold}$", parsing_timeout=None)
    parsed_prediction = parse(f"${prediction}$", parsing_timeout=None)
    return bool(verify(parsed_gold, parsed_prediction, timeout_seconds=None))


def _serve(connection: Connection) -> None:
    import math_verify  # noqa: F401  (imported before "ready", so the deadline never counts the start-up)

    connection.send("ready")
    while True:
        try:
            prediction, gold = connection.recv()
        except (EOFError, OSError):  # the parent closed the pipe or exited: nothing left to grade
            return
        try:
            connection.send(_math_equal(prediction, gold))
        except Exception:  # an answer math-verify cannot read is not equal to anything
            connection.send(False)


class Grader:
    """Thread-safe grading with a per-answer deadline. Keep one and reuse it: the worker starts once."""

    def __init__(self, timeout: float = 5.0):
        self.timeout = timeout
        self._lock = threading.Lock()
        self._process: multiprocessing.Process | None = None
        self._connection: Connection | None = None

    def _start(self) -> None:
        context = multiprocessing.get_context("spawn")  # no fork of a process that holds torch's threads
        self._connection, child = context.Pipe()
        self._process = context.Process(target=_serve, args=(child,), daemon=True)
        self._process.start()
        if not self._connection.poll(120) or self._connection.recv() != "ready":
            self._stop()
            raise RuntimeError("the grading worker did not start")

    def _stop(self) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.join()
        self._process = self._connection = None

    def close(self) -> None:
        with self._lock:
            self._stop()

    def equal(self, prediction: str, gold: str) -> bool:
        """Whether two math answers are equivalent; False if that cannot be decided within the deadline."""
        with self._lock:
            if self._process is None or not self._process.is_alive():
                self._start()
            self._connection.send((prediction, gold))
            if self._connection.poll(self.timeout):
                return self._connection.recv()
            self._stop()  # stuck on this answer: replace the worker
            return False

    def grade(self, prediction: str | None, gold: str, dataset: str) -> bool:
        if prediction is None or not prediction.strip():
            return False
        if dataset == "mmlu_stem":
            return mmlu_letter(prediction) == gold.strip()
        if dataset == "gsm8k" and (clock := CLOCK_HOUR.match(prediction)):
            prediction = clock.group(1)  # a time of day on the hour is graded by its hour
        return self.equal(prediction, gold)
