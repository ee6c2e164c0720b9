# Two commands do all set-up (SPEC §1):
#   make run   - create .venv, install requirements.txt, run the bot (python -m bot)
#   make test  - create .venv, install requirements-dev.txt, run the whole test suite
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV   := .venv
PY     := $(VENV)/bin/python

.PHONY: run test bench demo clean

$(PY):
	$(PYTHON) -m venv $(VENV)

# Stamp files re-install only when the pinned requirements change.
$(VENV)/.runtime: requirements.txt | $(PY)
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt | $(PY)
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.runtime

run: $(VENV)/.runtime
	$(PY) -m bot

demo: $(VENV)/.runtime
	$(PY) -m bot --demo

test: $(VENV)/.dev
	$(PY) -m pytest

bench: $(VENV)/.dev
	$(PY) -m bench

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
