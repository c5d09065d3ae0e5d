# The two commands the README starts with:
#   make demo   set everything up, then run the main job on the embedded default
#   make test   set everything up, then run ruff, mypy and the whole test suite
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# checkov pins versions that clash with the project's (packaging, networkx): its own environment.
CHECKOV := $(VENV)/tools/checkov/bin/checkov
CODE := models streams tests bench

.PHONY: setup demo test lint bench

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

$(CHECKOV):
	$(PYTHON) -m venv $(VENV)/tools/checkov
	$(VENV)/tools/checkov/bin/pip install --quiet checkov==3.3.30

setup: $(STAMP)
	$(BIN)/flarewatch model build

demo: setup
	$(BIN)/flarewatch demo --once --fresh

lint: $(STAMP)
	$(BIN)/ruff check $(CODE)
	$(BIN)/ruff format --check $(CODE)
	$(BIN)/mypy

test: setup lint $(CHECKOV)
	command -v chromium >/dev/null || (apt-get update && apt-get install -y chromium)
	$(BIN)/pytest -q -ra --durations=12

bench: setup
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	$(BIN)/python bench/bench_scoring.py
	$(BIN)/python bench/bench_pipeline.py --profile .flarewatch/bench/worker.svg
	$(BIN)/python bench/bench_latency.py
	$(BIN)/python bench/bench_startup.py
	$(BIN)/python bench/bench_detect.py
	$(BIN)/python bench/bench_detect_agent.py
	$(BIN)/python bench/bench_rules.py
	$(BIN)/python bench/bench_noise.py
