# trygghet: two commands matter (see README): `make demo` and `make test`.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export PREFECT_HOME ?= $(CURDIR)/.prefect
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export DO_NOT_TRACK := 1
export PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS := 120
export PREFECT_LOGGING_LEVEL ?= WARNING
unexport PREFECT_API_URL

.PHONY: install demo lint test bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test,lint]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	rm -rf out && mkdir -p out
	$(BIN)/trygghet synth --n 12000 --districts 8 --years 4 --seed 2026 --tiny-district --out out/input
	$(BIN)/trygghet run --responses out/input/responses.csv --population out/input/population.csv \
	    --out out --db sqlite:///out/trygghet.db --district-trends

# ruff (lint + format), mypy (strict on the core and the run configuration), import-linter (layer
# contracts in pyproject.toml), deptry (declared = used dependencies)
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy survey reports flows schemas
	$(BIN)/lint-imports
	$(BIN)/deptry .

test: $(STAMP) lint
	$(BIN)/python -m pytest -q -n 2 tests

bench: $(STAMP)
	$(BIN)/pip install -q -e '.[test,bench]'
	$(BIN)/python -m bench.run

# a local Prefect server, the work pool `trygghet`, every deployment and a worker (ops/serve.sh; state and
# outputs in TRYGGHET_DATA_DIR, default ~/.local/share/trygghet; port PREFECT_PORT, default 4200)
.PHONY: serve stop
serve: $(STAMP)
	BIN=$(CURDIR)/$(BIN) bash ops/serve.sh

# stop the worker, then the server, started by `make serve`
stop:
	bash ops/stop.sh

clean:
	rm -rf out .prefect .pytest_cache build *.egg-info
