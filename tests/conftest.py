import os
from pathlib import Path

import pytest

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from gsi_core import DecodingConfig, StepVerifier, TransformersStepModel  # noqa: E402

from support import launch  # noqa: E402
from testkit.tiny import build_long_lm, build_lm, build_prm, build_tokenizer  # noqa: E402

# Each folder is a layer; its tests carry the layer's marker, so `pytest -m app` runs one layer alone.
LAYER_MARKERS = {"unit": "unit", "figures": "figures", "harness": "harness", "app": "app", "browser": "browser",
                 "offline": "offline_pair", "vllm": "vllm", "space": "space", "gpu": "gpu"}


def pytest_collection_modifyitems(items):
    import torch

    no_cuda = pytest.mark.skip(reason="needs a CUDA GPU: torch sees none here")
    for item in items:
        layer = Path(item.fspath).parent.name
        if layer in LAYER_MARKERS:
            item.add_marker(LAYER_MARKERS[layer])
        if layer == "gpu" and not torch.cuda.is_available():
            item.add_marker(no_cuda)


@pytest.fixture(scope="session")
def tokenizer():
    return build_tokenizer(vocab_size=400)


@pytest.fixture(scope="session")
def other_tokenizer():
    """Trained on other problems with another vocabulary size: the same text tokenizes differently."""
    return build_tokenizer(vocab_size=520, offset=300)


@pytest.fixture
def small(tokenizer):
    return TransformersStepModel(build_lm(tokenizer, seed=1, step_bias=4.0), tokenizer, name="tiny-small")


@pytest.fixture
def big(tokenizer):
    return TransformersStepModel(build_lm(tokenizer, seed=2, step_bias=4.0), tokenizer, name="tiny-big")


@pytest.fixture
def writes_lines(tokenizer):
    """π_S leaning toward the single line-break token too, so that a step at the paper's delimiter holds lines."""
    lm = build_lm(tokenizer, seed=1, step_bias=4.0)
    lm.lm_head.bias.data[tokenizer.convert_tokens_to_ids("Ċ")] = 4.0  # byte-level BPE writes "\n" as Ċ
    return TransformersStepModel(lm, tokenizer, name="tiny-lines")


@pytest.fixture
def verifier():
    return StepVerifier()


@pytest.fixture
def config():
    return DecodingConfig(n=4, max_steps=4, max_step_tokens=12, seed=7)


@pytest.fixture(scope="session")
def tiny_presets_file(tmp_path_factory, tokenizer):
    """A presets file whose models are tiny checkpoints saved to disk, loaded back through `from_pretrained`."""
    root = tmp_path_factory.mktemp("models")
    for name, model in (("small", build_lm(tokenizer, seed=1)), ("big", build_lm(tokenizer, seed=2)),
                        ("prm", build_prm(tokenizer, seed=3)), ("long", build_long_lm(tokenizer, seed=4)),
                        ("other-long", build_long_lm(tokenizer, seed=5))):
        model.save_pretrained(root / name)
        tokenizer.save_pretrained(root / name)
    path = root / "presets.yaml"
    path.write_text(
        "presets:\n"
        "  tiny:\n"
        "    description: tiny random models for tests\n"
        f"    small: {root / 'small'}\n"
        f"    big: {{model: {root / 'big'}, dtype: float32}}\n"
        "    decoding: {n: 3, max_steps: 3, max_step_tokens: 6}\n"
        "  tiny-prm:\n"
        f"    small: {root / 'small'}\n"
        f"    big: {root / 'big'}\n"
        f"    reward: {{kind: prm, model: {root / 'prm'}}}\n"
        "    decoding: {n: 2, max_steps: 2, max_step_tokens: 6}\n"
        "  tiny-long:\n"
        f"    small: {root / 'long'}\n"
        f"    big: {root / 'long'}\n"
        "    decoding: {n: 16, max_steps: 45, max_step_tokens: 64}\n"
        "  tiny-live:\n"  # long runs in which π_B, another sharp model, rejects π_S's drafts
        f"    small: {root / 'long'}\n"
        f"    big: {root / 'other-long'}\n"
        "    decoding: {n: 4, max_steps: 45, max_step_tokens: 24}\n"
    )
    return str(path)


@pytest.fixture(scope="module")
def tiny_results_dir(tmp_path_factory):
    """Where the tiny app looks for saved benchmark runs (beside the committed ones)."""
    return tmp_path_factory.mktemp("results")


@pytest.fixture(scope="module")
def tiny_app(tiny_presets_file, tiny_results_dir):
    demo = launch("tiny", tiny_presets_file, [tiny_results_dir])
    try:
        yield demo
    finally:
        demo.close()
