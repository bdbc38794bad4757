# One command to set up and test, one to set up and run the main pipeline (see README).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: test lint bench clean

$(BIN)/tap-matomo: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

# The loaders of the warehouse end-to-end tests (tests/test_postgres_e2e.py, test_duckdb_e2e.py),
# in a virtualenv of their own (their singer-sdk pins are theirs); the same pins as meltano.yml.
TARGETS_VENV ?= .venv-targets
TARGET_POSTGRES_PIP ?= meltanolabs-target-postgres==0.8.1
TARGET_DUCKDB_PIP ?= target-duckdb==0.8.0 duckdb==1.2.2

$(TARGETS_VENV)/installed.stamp: Makefile
	$(PYTHON) -m venv $(TARGETS_VENV)
	$(TARGETS_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(TARGETS_VENV)/bin/python -m pip install --quiet $(TARGET_POSTGRES_PIP) $(TARGET_DUCKDB_PIP)
	touch $@

## test: install the tap and its test tools in .venv (and the loaders in .venv-targets),
##       lint, run the whole test suite (the PostgreSQL test needs the `postgresql` package)
test: $(BIN)/tap-matomo $(TARGETS_VENV)/installed.stamp
	$(BIN)/ruff check tap_matomo tests bench scripts
	$(BIN)/pytest

lint: $(BIN)/tap-matomo
	$(BIN)/ruff check tap_matomo tests bench scripts
	$(BIN)/ruff format --check tap_matomo tests bench scripts

clean:
	rm -rf $(VENV) $(TARGETS_VENV) .pytest_cache .ruff_cache

# -- the main pipeline: Meltano, tap-matomo -> DuckDB ------------------------------------------
MELTANO_VENV ?= .venv-meltano
MELTANO_VERSION ?= 4.4.1
MELTANO := $(MELTANO_VENV)/bin/meltano
LOADER ?= target-duckdb
RUN_ARGS ?=

.PHONY: run run-offline docs

$(MELTANO):
	$(PYTHON) -m venv $(MELTANO_VENV)
	$(MELTANO_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(MELTANO_VENV)/bin/python -m pip install --quiet 'meltano==$(MELTANO_VERSION)'
	touch $@

.meltano/installed.stamp: $(MELTANO) meltano.yml pyproject.toml
	$(MELTANO) install
	touch $@

## run: install Meltano (.venv-meltano) and the plugins (.meltano/), then run
##      `meltano --environment=<dev|demo> run tap-matomo target-duckdb` into
##      output/matomo.duckdb. Settings come from the environment, .env (TAP_MATOMO_URL,
##      TAP_MATOMO_TOKEN_AUTH, TAP_MATOMO_SITE_IDS...) or `meltano config set`: with a `url`
##      configured the Meltano environment is `dev`, with none `demo` (Matomo's public demo).
##      `make run RUN_ARGS=--full-refresh` ignores the saved state;
##      `make run LOADER=target-jsonl` writes output/*.jsonl instead;
##      `make run MELTANO_ENVIRONMENT=dev` forces the environment.
MELTANO_ENVIRONMENT ?=
run: .meltano/installed.stamp
	@mkdir -p output output/offline
	@env="$(MELTANO_ENVIRONMENT)"; \
	if [ -z "$$env" ]; then \
	  if $(MELTANO) --environment=dev config print tap-matomo 2>/dev/null | grep -q '"url": "[^"]'; \
	  then env=dev; else env=demo; fi; \
	fi; \
	echo "make run: Meltano environment '$$env' (state id $$env:tap-matomo-to-$(LOADER))"; \
	$(MELTANO) --environment="$$env" run $(RUN_ARGS) tap-matomo $(LOADER) || { \
	  echo "make run: the pipeline failed; the last tap-matomo (or target) error line above" \
	    "says why. Settings: TAP_MATOMO_* in the environment or .env (see .env.example)." >&2; \
	  exit 1; }
	@echo "make run: done ($(LOADER)); the data is in output/ (target-duckdb: output/matomo.duckdb," \
	  "make run-offline: output/offline/)."

## run-offline: `make run` against the loopback fake Matomo of the tests (the recorded data of
##      three sites, November 2026), to try the pipeline without a Matomo or a network. It runs
##      in the Meltano environment `offline`: its own state id and its own database
##      (output/offline/matomo.duckdb), so `make run` never resumes from the fake's bookmarks.
##      Always a full refresh: the fake's month is loaded whole each time (upserted).
run-offline: $(BIN)/tap-matomo .meltano/installed.stamp
	$(BIN)/python scripts/with_fake_matomo.py $(MAKE) run MELTANO_ENVIRONMENT=offline \
	  RUN_ARGS="--full-refresh $(RUN_ARGS)"

## docs: rewrite the generated parts of README.md and meltano.yml (settings, streams, selection)
docs: $(BIN)/tap-matomo
	$(BIN)/python scripts/gen_docs.py

## bench: run every benchmark script in bench/ (requests per sync, concurrency, throughput,
##        memory...) and print their figures; see bench/README.md
bench: $(BIN)/tap-matomo
	@for script in bench/[!_]*.py; do \
	  echo "== $$script"; $(BIN)/python $$script || exit 1; echo; \
	done
