# The two commands of the README: `make run` and `make test`. Needs only python3.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8080
WORKERS ?= 1
RUN_ENV := INTERVIEWS_DATABASE_URL=$${INTERVIEWS_DATABASE_URL:-sqlite:///var/interviews.db}

.PHONY: run test lint bench bench-availability clean

$(BIN)/.installed: pyproject.toml
	@echo "Installing into $(VENV) (first time: about a minute)..."
	@$(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --quiet --upgrade pip
	@$(BIN)/python -m pip install --quiet --quiet -e .
	@touch $@

$(BIN)/.test-installed: $(BIN)/.installed
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@

# One screen: the demo command migrates, imports the demo people, mints their tokens (one
# process) and says what to do next; then the server. pip stays quiet unless it fails.
run: $(BIN)/.installed
	@$(RUN_ENV) $(BIN)/interviews demo --port $(PORT)
	@$(RUN_ENV) $(BIN)/interviews serve --port $(PORT) --workers $(WORKERS)

# The whole suite on SQLite; again on PostgreSQL when INTERVIEWS_TEST_DATABASE_URL is set.
test: $(BIN)/.test-installed
	env -u INTERVIEWS_TEST_DATABASE_URL $(BIN)/python -m pytest
	@if [ -n "$$INTERVIEWS_TEST_DATABASE_URL" ]; then \
	  echo "== again on PostgreSQL ($$INTERVIEWS_TEST_DATABASE_URL)"; \
	  $(BIN)/python -m pytest; \
	fi

# OpenAPI linters, pinned in package.json/package-lock.json; `npm ci` only when they changed.
# Both fail on any warning: Redocly's recommended-strict, Spectral's --fail-severity=warn.
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

lint: node_modules/.installed $(BIN)/.test-installed
	$(BIN)/ruff check .
	node_modules/.bin/redocly lint openapi.yaml --format=stylish
	node_modules/.bin/spectral lint openapi.yaml --fail-severity=warn

clean:
	rm -rf $(VENV) var node_modules

# Benchmark against a Starlette ceiling and across data sizes, on SQLite and PostgreSQL (see
# bench/run.py); needs wrk (installed if missing). E.g. `make bench SIZES=1k,1M BACKENDS=sqlite`.
bench: $(BIN)/.installed
	@command -v wrk >/dev/null || apt-get install -y wrk || (apt-get update && apt-get install -y wrk)
	$(BIN)/python bench/run.py $(if $(SIZES),--sizes $(SIZES)) $(if $(BACKENDS),--backends $(BACKENDS))

# Availability (mode any and all), loop search, a scheduling request's options, creates with
# and without a panel of 4 and over a hold, at 1k and 1,000,000 interviews, on SQLite and
# (when BENCH_DATABASE_URL is set) PostgreSQL.
bench-availability: $(BIN)/.installed
	$(BIN)/python bench/availability.py $(if $(SIZES),--sizes $(SIZES))
	@if [ -n "$$BENCH_DATABASE_URL" ]; then $(BIN)/python bench/availability.py --database-url "$$BENCH_DATABASE_URL" $(if $(SIZES),--sizes $(SIZES)); fi
