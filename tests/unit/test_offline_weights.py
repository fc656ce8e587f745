"""The offline weights' first conversion: it needs gguf and accelerate (transformers refuses a GGUF file without
them), and says so before joining a gigabyte of parts rather than after."""

import pytest
import transformers.utils

from gsi_core.offline_weights import OFFLINE_WEIGHTS, OfflineWeightsError, materialize, missing_converters


def test_the_installed_requirements_can_convert_the_gguf_weights():
    assert missing_converters() == []


def test_a_missing_converter_is_named_with_the_fix_before_any_part_is_joined(tmp_path, monkeypatch):
    monkeypatch.setenv("GSI_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(transformers.utils, "is_accelerate_available", lambda: False)
    name = next(iter(OFFLINE_WEIGHTS))
    with pytest.raises(OfflineWeightsError, match=r"needs accelerate; run `pip install -r requirements.txt`"):
        materialize(name)
    assert [p.suffix for p in tmp_path.iterdir()] == [".lock"]  # nothing joined, nothing half-converted
