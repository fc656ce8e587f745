import os

import pytest

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from gsi_core import DecodingConfig, StepVerifier, TransformersStepModel  # noqa: E402

from tiny import build_lm, build_tokenizer  # noqa: E402


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
def verifier():
    return StepVerifier()


@pytest.fixture
def config():
    return DecodingConfig(n=4, max_steps=4, max_step_tokens=12, seed=7)
