# One command each: `make app` sets up and opens the explorer on the offline default; `make run` runs GSI
# once on the command line; `make test` sets up and runs every test; `make eval` / `make bench` measure.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PROBLEM ?= Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in May. How many clips did Natalia sell altogether in April and May?

.PHONY: setup run app test test-other-dtype browser eval bench vllm-setup test-vllm

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

setup: $(VENV)/.installed

run: setup
	$(PY) -m gsi_core run --method gsi --preset offline-cpu --problem "$(PROBLEM)"

app: setup
	$(PY) app.py

# The committed GSM8K comparison (resumable: run it again to continue) and the engine benchmark.
# (It ran with the offline preset's reward, n and u then, the step verifier, n = 4 and u = 0.5: a resume must give
# the same settings.)
eval: setup
	$(PY) -m gsi_core eval --dataset gsm8k --methods gsi,rsd,sbon-small,sbon-big --preset offline-cpu --n 4 \
		--seeds 0,1,2 --limit 20 --max-steps 12 --threshold 0.5 --reward step-verifier \
		--out assets/eval/gsm8k-offline-cpu-n4-seeds

bench: setup
	$(PY) -m gsi_core bench --preset offline-cpu --out assets/bench_offline_cpu.json

# The browser test drives Debian's Chromium (Playwright never downloads a browser here).
browser:
	command -v chromium >/dev/null || { apt-get update -q && apt-get install -y -q chromium; }

test: setup browser
	$(PY) -m pytest

# The harness layer loads tiny checkpoints with dtype auto (bf16 on CPUs with native bf16, fp32 elsewhere) through
# every command of the CLI: run it again with the dtype this CPU does not pick (GSI_CPU_DTYPE), so both paths run
# whichever machine CI lands on.
OTHER_DTYPE = $(shell $(PY) -c "import torch; from gsi_core.loading import auto_cpu_dtype; \
	print('fp32' if auto_cpu_dtype() == torch.bfloat16 else 'bf16')")
test-other-dtype: setup
	GSI_CPU_DTYPE=$(OTHER_DTYPE) $(PY) -m pytest -m harness

# The vLLM backend against real vLLM servers (CPU build) on tiny models: a separate venv and suite.
VLLM_VENV ?= .venv-vllm
TCMALLOC := /usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4

$(VLLM_VENV)/.installed: requirements-vllm.txt
	$(PYTHON) -m venv $(VLLM_VENV)
	$(VLLM_VENV)/bin/pip install --quiet torch==2.13.0
	$(VLLM_VENV)/bin/pip install --quiet -r requirements-vllm.txt
	$(VLLM_VENV)/bin/pip uninstall --quiet -y torchvision torchaudio torchcodec
	touch $@

vllm-setup: $(VLLM_VENV)/.installed
	test -e $(TCMALLOC) || { apt-get update -q && apt-get install -y -q libtcmalloc-minimal4; }

test-vllm: setup vllm-setup
	GSI_VLLM_PYTHON=$(VLLM_VENV)/bin/python $(PY) -m pytest -m vllm tests/vllm
