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

## test: install the tap and its test tools in .venv, lint, run the whole test suite
test: $(BIN)/tap-matomo
	$(BIN)/ruff check tap_matomo tests bench
	$(BIN)/pytest

lint: $(BIN)/tap-matomo
	$(BIN)/ruff check tap_matomo tests bench
	$(BIN)/ruff format --check tap_matomo tests bench

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
