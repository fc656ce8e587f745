"""Grading real answers from the five benchmarks, equivalent and not, and the deadline off the main thread."""

import subprocess
import sys
import threading
import time

import pytest

from gsi_core.grading import Grader, mmlu_letter
from testkit.tiny import REPO


@pytest.fixture(scope="module")
def grader():
    grader = Grader(timeout=10.0)
    yield grader
    grader.close()


CASES = [
    # (dataset, prediction, gold, equal)
    ("gsm8k", "18", "18", True),
    ("gsm8k", "18.0", "18", True),
    ("gsm8k", "18.00", "18", True),
    ("gsm8k", "\\$18", "18", True),
    ("gsm8k", "17", "18", False),
    ("gsm8k", "1,000", "1000", True),
    ("gsm8k", "70000", "70000", True),
    ("gsm8k", "125000", "70000", False),
    ("gsm8k", "2:00 \\text{ pm}", "2", True),  # "the latest time of day she can start": the gold is the hour
    ("gsm8k", "2:00 PM", "2", True),
    ("gsm8k", "4:00 \\text{ pm}", "2", False),
    ("gsm8k", "2:30 \\text{ pm}", "2", False),
    ("math500", "\\frac{1}{2}", "0.5", True),
    ("math500", "0.5", "\\frac{1}{2}", True),
    ("math500", "\\frac{1}{3}", "0.33", False),
    ("math500", "-q+p", "p - q", True),
    ("math500", "q - p", "p - q", False),
    ("math500", "(3, \\pi/2)", "\\left( 3, \\frac{\\pi}{2} \\right)", True),
    ("math500", "(3, \\pi)", "\\left( 3, \\frac{\\pi}{2} \\right)", False),
    ("math500", "\\text{Evelyn}", "\\text{Evelyn}", True),
    ("math500", "Evelyn", "\\text{Evelyn}", True),
    ("math500", "\\text{Angela}", "\\text{Evelyn}", False),
    ("math500", "[2,5)", "[2, 5)", True),
    ("math500", "[2,5]", "[2, 5)", False),
    ("math500", "90", "90^\\circ", True),
    ("math500", "2\\sqrt{2}", "\\sqrt{8}", True),
    ("math500", "\\sqrt{2}", "\\sqrt{8}", False),
    ("minerva", "1.6", "1.6", True),
    ("minerva", "1.60", "1.6", True),
    ("minerva", "41.8", "41.8", True),
    ("minerva", "4.18", "41.8", False),
    ("olympiadbench", "2", "2", True),
    ("olympiadbench", "3, 2", "2, 3", True),  # multiple answers, any order
    ("olympiadbench", "2, 4", "2, 3", False),
    ("olympiadbench", "x^2+2x+1", "(x+1)^2", True),
    ("mmlu_stem", "C", "C", True),
    ("mmlu_stem", "(C) reduce the carrying capacity", "C", True),
    ("mmlu_stem", "\\text{B}", "C", False),
    ("mmlu_stem", "the answer", "C", False),
]


@pytest.mark.parametrize("dataset, prediction, gold, equal", CASES)
def test_real_answers(grader, dataset, prediction, gold, equal):
    assert grader.grade(prediction, gold, dataset) is equal


def test_no_answer_is_wrong(grader):
    assert grader.grade(None, "18", "gsm8k") is False and grader.grade("  ", "18", "gsm8k") is False


def test_mmlu_letters():
    assert [mmlu_letter(p) for p in ("B", "(D)", "A) 42", "\\text{C}", "none")] == ["B", "D", "A", "C", None]


def test_a_pathological_answer_times_out_off_the_main_thread_and_the_grader_recovers():
    grader = Grader(timeout=2.0)
    try:
        assert grader.grade("1", "1", "math500")  # the worker is up
        results = {}

        def grade_in_thread():
            started = time.perf_counter()
            results["equal"] = grader.grade("9^{9^{9^{9^{9}}}}", "1", "math500")
            results["seconds"] = time.perf_counter() - started

        worker = threading.Thread(target=grade_in_thread)
        worker.start()
        worker.join(timeout=60)
        assert not worker.is_alive()
        assert results["equal"] is False and results["seconds"] < 10
        assert grader.grade("\\frac{1}{2}", "0.5", "math500")  # a fresh worker took over
    finally:
        grader.close()


def test_the_worker_exits_quietly_when_its_parent_goes_away():
    script = ("from gsi_core.grading import Grader\n"
              "if __name__ == '__main__':\n"
              "    print(Grader().grade('\\\\frac{1}{2}', '0.5', 'math500'))\n")  # no close(): the parent just exits
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "True"
    assert "Traceback" not in done.stderr and "EOFError" not in done.stderr, done.stderr
