# volmachine: `make demo` and `make test` work on a machine with only python3.11 and make.
PY ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
export VOLMACHINE_HOME ?= $(CURDIR)/var

.PHONY: demo test test-fast dev bench lint clean-var

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test,dev]'
	$(BIN)/python -m volmachine_core.warmup
	@touch $(STAMP)

## demo: materialise the whole asset graph on the embedded simulated market (history + latest day)
demo: $(STAMP)
	$(BIN)/volmachine demo

## test: the whole test suite (unit, asset-level, end-to-end)
test: $(STAMP)
	$(BIN)/python -m pytest -q -n 2

## test-fast: skip the slow end-to-end tests
test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow"

## dev: the Dagster UI on the same warehouse and instance as the CLI
dev: $(STAMP)
	mkdir -p $(VOLMACHINE_HOME)/dagster
	test -s $(VOLMACHINE_HOME)/dagster/dagster.yaml || printf 'telemetry:\n  enabled: false\n' > $(VOLMACHINE_HOME)/dagster/dagster.yaml
	DAGSTER_HOME=$(VOLMACHINE_HOME)/dagster $(BIN)/dagster dev -w workspace.yaml

## bench: speed benchmarks (tables of rates and ratios)
bench: $(STAMP)
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

lint: $(STAMP)
	$(BIN)/ruff check .

clean-var:
	rm -rf $(VOLMACHINE_HOME)
