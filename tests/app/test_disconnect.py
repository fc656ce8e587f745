"""A visitor who leaves mid-run frees the worker: the app on 127.0.0.1 with tiny models, the visitor a separate
gradio_client process that is killed (its connections close as a closed tab's do)."""

import subprocess
import sys
import threading

from gradio_client import Client

from gsi_core.models import TransformersStepModel
from support import launch

LEAVER = "What is 7 times 8? Leave before the answer."
NEXT = "What is 2 + 2?"
# The visitor: submits a long run, prints each streamed status line, and is killed by the test mid-run.
VISITOR = """
import sys
from gradio_client import Client
job = Client(sys.argv[1], verbose=False).submit(sys.argv[2], "gsi", 4, 4, 20, 1.5, 0.7, 0, 45, api_name="/run")
seen = 0
while True:
    outputs = job.outputs()
    for update in outputs[seen:]:
        print(update[4].splitlines()[0], flush=True)
    seen = len(outputs)
    job.done() or __import__("time").sleep(0.05)
"""


class StepLog:
    """Records, per problem, how many steps the models were asked to draft, and holds the leaver's run before it
    drafts step `hold_at` until the test releases it: the visitor leaves while that step is in flight."""

    def __init__(self, hold_at: int, monkeypatch):
        self.drafted: dict[str, int] = {}
        self.hold_at, self.held, self.released = hold_at, threading.Event(), threading.Event()
        draft = TransformersStepModel.draft

        def logged_draft(model, prompt, steps, *args, **kwargs):
            problem = LEAVER if LEAVER in str(prompt) else NEXT if NEXT in str(prompt) else "other"
            self.drafted[problem] = max(self.drafted.get(problem, 0), len(steps) + 1)
            if problem == LEAVER and len(steps) + 1 >= self.hold_at:
                self.held.set()
                self.released.wait(timeout=300)
            return draft(model, prompt, steps, *args, **kwargs)

        monkeypatch.setattr(TransformersStepModel, "draft", logged_draft)


def test_a_visitor_who_leaves_mid_run_frees_the_worker_for_the_next(tiny_presets_file, monkeypatch):
    log = StepLog(hold_at=3, monkeypatch=monkeypatch)
    demo = launch("tiny-live", tiny_presets_file)
    visitor = None
    try:
        client = Client(demo.local_url, verbose=False, httpx_kwargs={"timeout": 120})
        client.predict(NEXT, "gsi", 2, 2, 20, 0.5, 0.7, 0, 1, api_name="/run")  # load the models first
        visitor = subprocess.Popen([sys.executable, "-c", VISITOR, demo.local_url, LEAVER], stdout=subprocess.PIPE,
                                   text=True)
        assert log.held.wait(timeout=120), "the leaver's run never reached step 3"
        visitor.kill()  # the tab closes while step 3 is being drafted
        visitor.wait(timeout=30)
        seen = visitor.stdout.read()
        assert "**Running** — step 1" in seen and "**Done**" not in seen
        waiting = client.submit(NEXT, "gsi", 2, 2, 20, 0.5, 0.7, 1, 2, api_name="/run")
        log.released.set()
        finished = waiting.result(timeout=300)
        assert finished[4].startswith("**Done**")
        # the dead run ended with the step in flight when its visitor left, before the next visitor's run
        assert log.drafted[LEAVER] == 3, log.drafted
    finally:
        log.released.set()
        if visitor and visitor.poll() is None:
            visitor.kill()
        demo.close()
