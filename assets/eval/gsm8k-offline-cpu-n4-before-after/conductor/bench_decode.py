"""Time π_B's batched drafting (n = 4 rows, int8 decoding, one step from GSM8K problem 0's prompt and from that
prompt plus the first drafted step) in the engine checked out in the working directory.
Usage: python bench_decode.py LABEL REPEATS [variant ...]; variants: default, deepcopy (the engine before's
_expanded), contiguous (views made contiguous),
nokeep (kept K/V switched off). Prints one JSON line per call."""
import copy
import json
import os
import sys
import time

sys.path.insert(0, os.getcwd())

from gsi_core.config import get_preset  # noqa: E402
from gsi_core.data import load_problems  # noqa: E402
from gsi_core.loading import load_step_model  # noqa: E402
from gsi_core.models import TransformersStepModel  # noqa: E402
from gsi_core.vocabulary import Prompt  # noqa: E402

label, repeats, variants = sys.argv[1], int(sys.argv[2]), sys.argv[3:] or ["default"]
model = load_step_model(get_preset("offline-cpu").big)
prompt = Prompt(load_problems("gsm8k", limit=1)[0].question)
original = TransformersStepModel._expanded


def deepcopied(cache, rows):
    copied = copy.deepcopy(cache)
    if rows > 1:
        copied.batch_repeat_interleave(rows)
    return copied


def contiguous(cache, rows):
    expanded = original(cache, rows)
    for layer in expanded.layers:
        if layer.is_initialized:
            layer.keys, layer.values = layer.keys.contiguous(), layer.values.contiguous()
    return expanded


patches = {"default": original, "deepcopy": deepcopied, "contiguous": contiguous}
first = model.draft(prompt, [], 4, temperature=0.7, max_tokens=160, seed=0)  # warm-up; its first row is step 1
for repeat in range(repeats):
    for variant in variants:
        TransformersStepModel._expanded = staticmethod(patches.get(variant, original))
        model.keep_computed = variant != "nokeep"  # the engine after with kept K/V switched off
        for steps in ([], first[:1]):
            model.draft(prompt, steps, 1, temperature=0.7, max_tokens=1, seed=99)  # the prefix in place, untimed
            start = time.perf_counter()
            drafts = model.draft(prompt, steps, 4, temperature=0.7, max_tokens=160, seed=repeat)
            seconds = time.perf_counter() - start
            print(json.dumps({"engine": label, "variant": variant, "steps": len(steps), "repeat": repeat,
                              "seconds": round(seconds, 3), "tokens": [len(d.token_ids) for d in drafts]}), flush=True)
