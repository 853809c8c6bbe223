# Two commands set up a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= $(or $(STREAMLIT_SERVER_PORT),8501)

.PHONY: run test check lint format bench demo clean screenshots

$(BIN)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

run: $(BIN)/.installed
	$(BIN)/streamlit run app.py --server.port $(PORT)

demo: $(BIN)/.installed
	$(BIN)/python -m dunning demo

test: $(BIN)/.installed
	$(BIN)/python -m pytest

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

check: lint test

format: $(BIN)/.installed
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: $(BIN)/.installed
	$(BIN)/python bench/import_ledger.py
	$(BIN)/python bench/search.py
	$(BIN)/python bench/campaign.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache

# Screenshots of the main screens for the README, taken by the browser journey.
screenshots: $(BIN)/.installed
	DUNNING_SCREENSHOTS=docs/screenshots $(BIN)/python -m pytest -q tests/e2e/test_journey.py
