"""The labelling job as a user runs it: tiny models, a small GSM8K file, one line per position, resumable."""

import json

from support import cli
from testkit.tiny import gsm8k_rows


def label(tmp_path, presets, *extra):
    return cli("label-steps", "--preset", "tiny", "--data", str(tmp_path / "gsm8k.jsonl"), "--start-row", "1",
               "--k", "2", "--max-steps", "2", "--rollout-tokens", "8", "--out", str(tmp_path / "labels"), *extra,
               env={"GSI_PRESETS_FILE": presets})


def test_labels_every_candidate_and_resumes_where_it_stopped(tmp_path, tiny_presets_file):
    (tmp_path / "gsm8k.jsonl").write_text("".join(json.dumps(row) + "\n" for row in gsm8k_rows(5)))
    first = label(tmp_path, tiny_presets_file, "--limit", "1")
    assert first.returncode == 0, first.stderr
    results = tmp_path / "labels" / "results.jsonl"
    positions = [json.loads(line) for line in results.read_text().splitlines()]
    assert [p["position"] for p in positions] == list(range(len(positions))) == [0, 1]
    assert {p["row"] for p in positions} == {1} and positions[-1]["end"] is not None
    for position in positions:
        assert position["drafter"] == "small" and len(position["candidates"]) == 3  # the tiny preset's n
        assert position["rollout_model"] != position["drafter_model"]  # π_B rolls out by default
        for candidate in position["candidates"]:
            outcomes = [r["correct"] for r in candidate["rollouts"]] or [candidate["soft_label"] == 1]
            assert len(candidate["rollouts"]) == (0 if candidate["terminal"] else 2)
            assert candidate["soft_label"] == sum(outcomes) / len(outcomes)
            assert candidate["hard_any"] == any(outcomes)
            assert candidate["hard_majority"] == (sum(outcomes) > len(outcomes) / 2)
    assert positions[-1]["previous"] == [p["candidates"][0]["text"] for p in positions[:-1]]
    info = json.loads((tmp_path / "labels" / "run.json").read_text())
    assert info["settings"]["config"]["k"] == 2 and "commit" in info and "resumed" not in info
    assert (info["settings"]["config"]["roller"], info["settings"]["config"]["step_delimiter"]) == ("big", "blank-line")
    for other_labels in (["--roller", "small"], ["--step-delimiter", "line"]):  # other labels: not mixed in
        other = label(tmp_path, tiny_presets_file, "--limit", "1", *other_labels)
        assert other.returncode == 2 and "other settings" in other.stderr

    lines = results.read_text().splitlines(keepends=True)
    results.write_text(lines[0] + lines[1][:40])  # killed while writing position 1: a torn line
    redone = label(tmp_path, tiny_presets_file, "--limit", "1")
    assert redone.returncode == 0, redone.stderr
    redone_positions = [json.loads(line) for line in results.read_text().splitlines()]
    assert redone_positions[0] == positions[0] and len(redone_positions) == 2
    # the trajectory continues from the same committed step (the prefix is recomputed whole rather than extended
    # from a cache, so the floats, and with them the samples, may differ in the last digits)
    for key in ("problem_id", "position", "previous", "drafter"):
        assert redone_positions[1][key] == positions[1][key]

    again = label(tmp_path, tiny_presets_file, "--limit", "3")  # the finished problem is kept, two more labelled
    assert again.returncode == 0, again.stderr
    resumed = [json.loads(line) for line in results.read_text().splitlines()]
    assert [p["problem_id"] for p in resumed[:2]] == [positions[0]["problem_id"]] * 2 and resumed[0] == positions[0]
    assert [p["row"] for p in resumed[len(positions):]][0] == 2 and {p["row"] for p in resumed} == {1, 2, 3}
    assert len(json.loads((tmp_path / "labels" / "run.json").read_text())["resumed"]) == 2


def test_a_resume_grades_the_stored_answers_again_with_todays_grader(tmp_path, tiny_presets_file):
    """Labels outlive grader fixes: answers graded wrong by an older grader are graded again, the labels follow,
    and run.json says how many changed."""
    rows = gsm8k_rows(2)
    (tmp_path / "gsm8k.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    assert label(tmp_path, tiny_presets_file, "--limit", "1").returncode == 0
    results = tmp_path / "labels" / "results.jsonl"
    positions = [json.loads(line) for line in results.read_text().splitlines()]
    candidate = next(c for p in positions for c in p["candidates"] if not c["terminal"])
    gold = positions[0]["gold"]
    for rollout, answer in zip(candidate["rollouts"], [gold, f"{gold}.0"]):  # right, as an older grader said wrong
        rollout.update(answer=answer, correct=False)
    candidate.update(soft_label=0.0, hard_any=False, hard_majority=False)
    results.write_text("".join(json.dumps(p) + "\n" for p in positions))

    resumed = label(tmp_path, tiny_presets_file, "--limit", "1")
    assert resumed.returncode == 0, resumed.stderr
    assert "1 candidates' labels changed" in resumed.stderr
    regraded = [json.loads(line) for line in results.read_text().splitlines()]
    assert len(regraded) == len(positions)
    fixed = next(c for p in regraded for c in p["candidates"] if c["text"] == candidate["text"])
    assert [r["correct"] for r in fixed["rollouts"]] == [True, True]
    assert (fixed["soft_label"], fixed["hard_any"], fixed["hard_majority"]) == (1.0, True, True)
    assert json.loads((tmp_path / "labels" / "run.json").read_text())["regraded"][0]["changed"] == 1
    assert "labels changed" not in label(tmp_path, tiny_presets_file, "--limit", "1").stderr  # nothing left to fix
