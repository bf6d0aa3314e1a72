# The two set-up commands of a fresh machine are `make demo` and `make test`; everything they
# need (virtualenv, packages, the real servers the tests talk to) is done here.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test install dev servers lint bench mutate clean

$(BIN)/python:
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "neural-tui needs Python 3.11 or newer (set PYTHON=...)"; exit 2; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .

dev: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'

demo: install
	$(BIN)/neural-tui --demo

servers:
	bash scripts/install-servers

lint: dev
	$(BIN)/ruff check neural_tui tests bench examples

test: dev servers lint
	$(BIN)/python -m pytest

bench: install
	$(BIN)/python bench/bench_headless.py
	$(BIN)/python bench/bench_tail_to_snapshot.py
	$(BIN)/python bench/bench_decode.py
	$(BIN)/python bench/bench_producer.py
	$(BIN)/python bench/bench_drift.py
	$(BIN)/python bench/bench_quality.py
	$(BIN)/python bench/bench_slo.py
	$(BIN)/python bench/bench_alert_rules.py
	$(BIN)/python bench/bench_alert_submit.py
	$(BIN)/python bench/bench_metrics_scrape.py
	$(BIN)/python bench/bench_remote_parse.py
	$(BIN)/python bench/bench_targets.py
	$(BIN)/python bench/bench_prediction_analyzer.py
	$(BIN)/python bench/bench_prometheus_round.py
	$(BIN)/python bench/bench_console_keys.py
	$(BIN)/python bench/bench_console_models.py --models 3,100

# Mutation testing, not part of `test` (tens of minutes): MUTATE=engines, sources, decode or a
# module such as engines.drift; settings in pyproject's [tool.mutmut].
MUTATE ?= engines sources decode
mutate: dev
	$(BIN)/mutmut run $(foreach t,$(MUTATE),'neural_tui.$(t).*')
	$(BIN)/python scripts/mutation-score

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache bench/data
