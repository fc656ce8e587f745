"""The step delimiter: from the config to both backends' stop rules, through the methods into the events, and back
from JSON; exports and configs written before it existed still load, as the paper's blank line."""

import dataclasses
import json

import pytest

from gsi_core import run_method
from gsi_core.config import ConfigError, DecodingConfig
from gsi_core.data import Problem
from gsi_core.events import RunStarted, StepEvent, from_json, to_json
from gsi_core.step_labels import LabelSettings, label_position
from gsi_core.vllm_backend import VLLMStepModel
from gsi_core.vocabulary import STEP_END, Prompt

PROMPT = Prompt("Janet has 16 eggs and eats 3. How many are left?")


def test_the_config_names_the_delimiter_and_refuses_others():
    assert (DecodingConfig().step_delimiter, DecodingConfig().step_end) == ("blank-line", "\n\n")
    assert STEP_END == "\n\n"  # the StepModel's default: the paper's
    assert DecodingConfig(step_delimiter="line").step_end == "\n"
    with pytest.raises(ConfigError, match="step_delimiter must be one of blank-line, line"):
        DecodingConfig(step_delimiter="\n")


def test_a_config_survives_a_json_round_trip_and_an_old_one_loads_as_blank_line():
    config = DecodingConfig(n=3, step_delimiter="line")
    assert DecodingConfig().replace(**json.loads(json.dumps(dataclasses.asdict(config)))) == config
    old = {k: v for k, v in dataclasses.asdict(config).items() if k != "step_delimiter"}
    assert DecodingConfig().replace(**old).step_delimiter == "blank-line"


class RecordingServer:
    """Stands in for a vLLM server: keeps every request body; a drafting request is answered with the token ids of
    `texts`, the log-prob mode check with tempered log-probs."""

    url = "http://recording"

    def __init__(self, tokenizer, texts):
        self.tokenizer, self.texts, self.bodies = tokenizer, texts, []

    def request(self, path, body):
        self.bodies.append(body)
        if body["max_tokens"] == 1:
            return {"choices": [{"index": 0, "logprobs": {"top_logprobs": [{"a": -0.1 / body["temperature"]}]}}]}
        ids = [self.tokenizer.encode(text, add_special_tokens=False) for text in self.texts]
        return {"choices": [{"index": i, "token_ids": row, "logprobs": {"token_logprobs": [-0.5] * len(row)}}
                            for i, row in enumerate(ids)]}


@pytest.mark.parametrize("step_end, reasons",
                         [("\n\n", ["length", "step", "length"]), ("\n", ["step", "step", "length"])])
def test_the_vllm_backend_stops_at_the_delimiter_and_names_the_finish_by_it(tokenizer, step_end, reasons):
    texts = ["She has 13 eggs.\n", "She has 13 eggs.\n\n", "She has"]
    server = RecordingServer(tokenizer, texts)
    model = VLLMStepModel(server, "served", tokenizer)
    drafts = model.draft(PROMPT, [], 3, temperature=0.7, max_tokens=20, seed=0, step_end=step_end)
    request = server.bodies[-1]
    assert request["stop"] == [step_end] and request["include_stop_str_in_output"] and request["n"] == 3
    assert [d.finish_reason for d in drafts] == reasons and [d.text for d in drafts] == texts


def test_the_vllm_backend_defaults_to_the_papers_blank_line(tokenizer):
    server = RecordingServer(tokenizer, ["x\n\n"])
    VLLMStepModel(server, "served", tokenizer).draft(PROMPT, [], 1, temperature=0.7, max_tokens=5, seed=0)
    assert server.bodies[-1]["stop"] == ["\n\n"]


@pytest.mark.parametrize("method", ["gsi", "rsd", "sbon-small"])
def test_a_line_run_drafts_lines_and_its_events_say_so(method, writes_lines, big, verifier, config):
    config = config.replace(step_delimiter="line", max_steps=3, max_step_tokens=24)
    events = list(run_method(method, PROMPT.problem, writes_lines, big, verifier, config))
    start = events[0]
    assert isinstance(start, RunStarted) and start.config["step_delimiter"] == "line"
    steps = [e for e in events if isinstance(e, StepEvent)]
    drafts = [c for s in steps for c in s.candidates + s.fallback]
    assert any(c.finish_reason == "step" for c in drafts)
    for c in drafts:
        if c.token_texts is not None:  # π_S's drafts scored by π_B: the line break is in the last token only
            assert "\n" not in "".join(c.token_texts[:-1])
        assert c.finish_reason != "step" or (c.text.endswith("\n") and "\n" not in c.text.rstrip("\n"))
    replayed = [from_json(to_json(e)) for e in events]
    assert replayed == events and replayed[0].config["step_delimiter"] == "line"


def test_the_labelled_set_tool_drafts_at_its_delimiter(writes_lines, big):
    problem = Problem("gsm8k", "1", PROMPT.problem, "13")
    settings = LabelSettings(n=6, k=1, max_step_tokens=24, rollout_tokens=4, step_delimiter="line")
    record = label_position(problem, 1, 0, [], "small", {"small": writes_lines, "big": big}.get,
                            lambda answer, gold: answer == gold, settings)
    ended = [c for c in record["candidates"] if c["finish_reason"] == "step"]
    assert ended and all(c["text"].endswith("\n") and "\n" not in c["text"].rstrip("\n") for c in ended)
