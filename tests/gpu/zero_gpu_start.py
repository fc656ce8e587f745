"""A ZeroGPU Space's start-up with the real `spaces` package, run in its own process by tests/gpu/test_cuda.py
(`SPACES_ZERO_GPU` set): `spaces` is imported first and patches torch, the app builds its demo at import with its
models placed on cuda, and `spaces` packs what was placed there, as it does at launch. Prints one JSON line."""

import json

import gsi_ui.gpu  # noqa: F401  (first, as app.py does: it imports `spaces` before torch)
import gsi_ui.runs as runs
from spaces.zero import torch as zero_torch

loaded = []


def load_and_record(preset):
    loaded.append(load_components(preset))
    return loaded[-1]


load_components, runs.load_components = runs.load_components, load_and_record

import app  # noqa: E402,F401  (builds the demo and loads the models at the module's top level)

models = [part.model for parts in loaded for part in (parts.small, parts.big, parts.reward)]
placed = zero_torch.size()
print(json.dumps({
    "loads": len(loaded),
    "devices": sorted({p.device.type for model in models for p in model.parameters()}),
    "dtypes": sorted({str(p.dtype) for model in models for p in model.parameters()}),
    "placed_bytes": placed,
    "packed_bytes": zero_torch.pack(),
}))
