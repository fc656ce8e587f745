# One command each: `make run` sets up and runs GSI on the offline default; `make test` sets up and tests.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PROBLEM ?= Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in May. How many clips did Natalia sell altogether in April and May?

.PHONY: setup run test

$(VENV)/.installed: requirements.txt requirements-dev.txt requirements-offline.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -r requirements-dev.txt
	$(PY) -m pip install --quiet --no-deps -r requirements-offline.txt
	touch $@

setup: $(VENV)/.installed

run: setup
	$(PY) -m gsi_core run --method gsi --preset offline-cpu --problem "$(PROBLEM)"

test: setup
	$(PY) -m pytest
