"""`python -m gsi_core reward-eval` with the judge beside the verifiers, its models taken from a preset."""

import json

from support import cli
from testkit.tiny import build_lm, build_tokenizer

QUESTION = "Tom has 3 boxes of 12 pens. He gives away 5 pens. How many pens does he have left?"


def test_reward_eval_prints_the_judge_beside_the_verifiers_with_its_cost_per_step(tmp_path):
    tokenizer = build_tokenizer(vocab_size=400)
    tokenizer.add_tokens(["Yes", "No"])
    for name, seed in (("small", 1), ("big", 2)):
        build_lm(tokenizer, seed=seed).save_pretrained(tmp_path / name)
        tokenizer.save_pretrained(tmp_path / name)
    presets = tmp_path / "presets.yaml"
    plain = build_tokenizer(vocab_size=400)  # "Yes" and "No" take two tokens each
    build_lm(plain, seed=3).save_pretrained(tmp_path / "plain")
    plain.save_pretrained(tmp_path / "plain")
    # float32: a random tiny model's Yes/No logits differ by less than bf16 resolves
    presets.write_text(f"presets:\n  tiny-judge:\n    small: {{model: {tmp_path / 'small'}, dtype: float32}}\n"
                       f"    big: {{model: {tmp_path / 'big'}, dtype: float32}}\n"
                       f"  tiny-plain:\n    small: {tmp_path / 'plain'}\n    big: {tmp_path / 'plain'}\n")
    labelled = [("He has 3 * 12 = 36 pens.\n\n", 1.0), ("He has 3 * 12 = 38 pens.\n\n", 0.0),
                ("He has 40 pens.\n\n", 0.0), ("So he has 31.\n\n", 0.5)]
    data = tmp_path / "results.jsonl"
    data.write_text(json.dumps({"problem_id": "1", "row": 1, "question": QUESTION, "gold": "31", "position": 0,
                                "previous": [], "candidates": [
                                    {"text": t, "soft_label": s, "hard_any": s > 0, "hard_majority": s > 0.5}
                                    for t, s in labelled]}) + "\n")
    done = cli("reward-eval", "--reward", "step-verifier,judge,{kind: judge, judge: small, verifier: none}",
               "--preset", "tiny-judge", "--data", str(data), env={"GSI_PRESETS_FILE": str(presets)})
    assert done.returncode == 0, done.stderr
    rows = {cells[1].strip(): cells for cells in (line.split("|") for line in done.stdout.splitlines())
            if len(cells) > 11 and cells[2].strip() == "4"}
    assert set(rows) == {"step-verifier", "judge-big", "judge-small (no verifier)"}
    # the verifier: ¾, ¼, ½, ½ → half the drafts at its most common value; the judges tell all four apart
    assert rows["step-verifier"][9].strip() == "50.0%"
    assert rows["judge-small (no verifier)"][9].strip() == "25.0%"
    assert float(rows["judge-big"][10]) > 0 and float(rows["judge-small (no verifier)"][10]) > 0
    refused = cli("reward-eval", "--reward", "judge", "--preset", "tiny-plain", "--data", str(data),
                  env={"GSI_PRESETS_FILE": str(presets)})
    assert refused.returncode == 2 and "needs 'Yes' and 'No' as single tokens" in refused.stderr
