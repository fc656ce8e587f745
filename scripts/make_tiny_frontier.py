"""Write the tiny frontier the tests read (tests/data/frontier-tiny): the real engine on the tests' tiny random
models (testkit), three GSI points and their baselines on two GSM8K problems, one point over two seeds. Its
numbers mean nothing about GSI; it fixes the format the frontier's table, figure and Compare tab read.

    python scripts/make_tiny_frontier.py            # about a minute on a laptop CPU; replaces the directory
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from gsi_core.config import get_preset  # noqa: E402
from gsi_core.data import load_problems  # noqa: E402
from gsi_core.frontier import load_plan, run_frontier  # noqa: E402
from testkit.tiny import build_lm, build_tokenizer  # noqa: E402

OUT = REPO / "tests" / "data" / "frontier-tiny"
PLAN = """\
# The tiny frontier of the tests (scripts/make_tiny_frontier.py): tiny random models, two problems.
dataset: gsm8k
preset: tiny
limit: 2
seeds: [0]
points:
  - {name: sv-u0.3, threshold: 0.3, seeds: [0, 1]}
  - {name: sv-u0.7, threshold: 0.7}
  - {name: cal-u0.5-ns2, reward: calibrated-verifier, threshold: 0.5, n_small: 2}
"""


def tiny_presets(root: Path) -> Path:
    """The tests' `tiny` preset (tests/conftest.py): π_S and π_B tiny random Qwen2 models saved to `root`."""
    tokenizer = build_tokenizer(vocab_size=400)
    for name, seed in (("small", 1), ("big", 2)):
        build_lm(tokenizer, seed=seed).save_pretrained(root / name)
        tokenizer.save_pretrained(root / name)
    presets = root / "presets.yaml"
    presets.write_text("presets:\n  tiny:\n"
                       f"    small: {root / 'small'}\n    big: {{model: {root / 'big'}, dtype: float32}}\n"
                       "    decoding: {n: 3, max_steps: 3, max_step_tokens: 6}\n")
    return presets


def main() -> None:
    with tempfile.TemporaryDirectory() as root:
        presets = tiny_presets(Path(root))
        shutil.rmtree(OUT, ignore_errors=True)
        OUT.mkdir(parents=True)
        (OUT / "plan.yaml").write_text(PLAN)
        plan = load_plan(OUT / "plan.yaml")
        preset = get_preset("tiny", presets)
        os.environ["GSI_PRESETS_FILE"] = str(presets)
        problems = load_problems(plan.dataset, None, plan.limit)
        done = run_frontier(OUT, plan, problems, preset, "python scripts/make_tiny_frontier.py")
    print(f"{'wrote' if done else 'stopped writing'} {OUT}")


if __name__ == "__main__":
    main()
