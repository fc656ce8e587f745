"""The machine a measurement names must tell an AVX2-only CPU from an AVX512 / AMX one of the same model name."""

from pathlib import Path

import pytest

from gsi_core.provenance import machine_label, vector_extensions

AVX2_ONLY = "fpu vme sse sse2 avx avx2 fma bmi2 sha_ni"
SAPPHIRE_RAPIDS = "fpu avx avx2 avx_vnni avx512f avx512bw avx512_vnni avx512_bf16 amx_bf16 amx_tile amx_int8"


def test_vector_extensions_names_what_the_kernels_use_in_a_fixed_order():
    assert vector_extensions(AVX2_ONLY) == ["avx2"]
    assert vector_extensions(SAPPHIRE_RAPIDS) == ["avx2", "avx_vnni", "avx512f", "avx512_vnni", "avx512_bf16",
                                                  "amx_int8", "amx_bf16"]
    assert vector_extensions("fpu sse sse2") == []
    assert vector_extensions("avx512fx avx2x") == []  # whole flags only, not prefixes


@pytest.mark.skipif(not Path("/proc/cpuinfo").exists(), reason="reads /proc/cpuinfo")
def test_machine_label_carries_this_cpus_vector_extensions():
    flags = next(line for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("flags"))
    expected = " ".join(vector_extensions(flags.split(":", 1)[1])) or "no AVX2"
    label = machine_label()
    assert f"({expected}), " in label and " cores" in label
