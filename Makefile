# One command each: `make app` sets up and opens the explorer on the offline default; `make run` runs GSI
# once on the command line; `make test` sets up and runs every test.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PROBLEM ?= Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in May. How many clips did Natalia sell altogether in April and May?

.PHONY: setup run app test browser

$(VENV)/.installed: requirements.txt requirements-dev.txt requirements-offline.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -r requirements-dev.txt
	$(PY) -m pip install --quiet --no-deps -r requirements-offline.txt
	touch $@

setup: $(VENV)/.installed

run: setup
	$(PY) -m gsi_core run --method gsi --preset offline-cpu --problem "$(PROBLEM)"

app: setup
	$(PY) app.py

# The browser test drives Debian's Chromium (Playwright never downloads a browser here).
browser:
	command -v chromium >/dev/null || { apt-get update -q && apt-get install -y -q chromium; }

test: setup browser
	$(PY) -m pytest
