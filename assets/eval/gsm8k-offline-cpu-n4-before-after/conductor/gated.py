"""Run an engine's own `eval` command, one (problem, method) at a time when the conductor says go.

Usage (cwd = the engine's checkout): python gated.py NAME eval ARGS...
Before each pending run it writes "<problem> <method> <seed>" to NAME.ready and waits for a line on NAME.go;
after the run's record is on disk it writes the same key to NAME.done."""
import os
import sys

sys.path.insert(0, os.getcwd())
import gsi_core.evaluation as evaluation  # noqa: E402
from gsi_core.cli import main  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
name = sys.argv[1] if __name__ == "__main__" else None
original = evaluation.evaluate


def say(kind, text):
    with open(os.path.join(HERE, f"{name}.{kind}"), "w") as fifo:
        fifo.write(text + "\n")


def gated(directory, todo, run, grade):
    for item in todo:
        problem, method, seed = item
        key = f"{problem.id} {method} {seed}"
        say("ready", key)
        with open(os.path.join(HERE, f"{name}.go")) as fifo:
            assert fifo.readline().strip() == key
        yield from original(directory, [item], run, grade)
        say("done", key)
    say("ready", "finished")


if __name__ == "__main__":  # the grader's worker is spawned: it imports this file again, and must not run it
    evaluation.evaluate = gated
    sys.exit(main(sys.argv[2:]))
