# The two commands of the README: `make run` and `make test`. Needs only python3.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8080
WORKERS ?= 1
DEMO_USERS := 1015 1014 1016 1012 1013
RUN_ENV := INTERVIEWS_DATABASE_URL=$${INTERVIEWS_DATABASE_URL:-sqlite:///var/interviews.db}

.PHONY: run test bench clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(BIN)/.test-installed: $(BIN)/.installed
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@

run: $(BIN)/.installed
	$(RUN_ENV) $(BIN)/interviews migrate
	$(RUN_ENV) $(BIN)/interviews people import db/demo_people.json
	@echo; echo "Demo tokens (1015 coordinator, 1014/1016 interviewers, 1012/1013 drivers):"
	@for id in $(DEMO_USERS); do echo "  $$id: $$($(RUN_ENV) $(BIN)/interviews token issue $$id)"; done
	@echo; echo "Try the documented request:"
	@echo "  curl -i -X POST http://127.0.0.1:$(PORT)/api/v1/interviews/ \\"
	@echo "    -H 'Authorization: Bearer $$($(RUN_ENV) $(BIN)/interviews token issue 1015)' \\"
	@echo "    -H 'Content-Type: application/json' -H 'Accept: application/json' \\"
	@echo "    -d '{\"interview\": {\"interviewee_id\": 289, \"interviewer_id\": 1014, \"kind\": \"video_call\", \"location\": \"https://zoom.com\", \"start_at\": \"2025-11-20T08:13:05Z\", \"end_at\": \"2025-11-20T08:43:05Z\"}}'"
	@echo; echo "Swagger UI: http://127.0.0.1:$(PORT)/api/v1/ui/"; echo
	$(RUN_ENV) $(BIN)/interviews serve --port $(PORT) --workers $(WORKERS)

# The whole suite on SQLite; again on PostgreSQL when INTERVIEWS_TEST_DATABASE_URL is set.
test: $(BIN)/.test-installed
	env -u INTERVIEWS_TEST_DATABASE_URL $(BIN)/python -m pytest
	@if [ -n "$$INTERVIEWS_TEST_DATABASE_URL" ]; then \
	  echo "== again on PostgreSQL ($$INTERVIEWS_TEST_DATABASE_URL)"; \
	  $(BIN)/python -m pytest; \
	fi

clean:
	rm -rf $(VENV) var

# Benchmark against a Starlette ceiling and across data sizes, on SQLite and PostgreSQL (see
# bench/run.py); needs wrk (installed if missing). E.g. `make bench SIZES=1k,1M BACKENDS=sqlite`.
bench: $(BIN)/.installed
	@command -v wrk >/dev/null || apt-get install -y wrk || (apt-get update && apt-get install -y wrk)
	$(BIN)/python bench/run.py $(if $(SIZES),--sizes $(SIZES)) $(if $(BACKENDS),--backends $(BACKENDS))
