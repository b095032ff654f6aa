# riskengine: two commands do all set-up on a fresh machine.
#   make demo   creates .venv, installs riskengine, assesses the bundled examples into reports/demo/
#   make test   creates .venv, installs riskengine with its test extras, runs the test suite
# durable-rules 2.0.28 does not import on Python 3.13: use 3.11 (or 3.12) for the virtual environment.
PYTHON ?= $(shell python3.11 -c 'pass' >/dev/null 2>&1 && echo python3.11 || echo python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test bench clean venv

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m riskengine.demo --out reports/demo

test: $(STAMP)
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) reports/demo build dist
