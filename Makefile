# make run  — set everything up and serve the app with demo data (SQLite under var/)
# make test — set everything up and run the whole test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PYTEST_ARGS ?=
# The year `make run` lives on a fresh database: this year up to now, or last year before April
# (so that the first batches of the plan have been drawn).
DEMO_YEAR ?= $(shell [ $$(date +%-m) -ge 4 ] && date +%Y || expr $$(date +%Y) - 1)

.PHONY: setup run test lint audit bench clean

$(STAMP): pyproject.toml requirements.lock scripts/system-deps.sh
	bash scripts/system-deps.sh
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	# Exactly the locked files (their hashes are checked), then the project itself.
	$(BIN)/python -m pip install -q --require-hashes --no-deps -r requirements.lock
	$(BIN)/python -m pip install -q --no-deps -e .
	touch $(STAMP)

setup: $(STAMP)

run: setup
	$(BIN)/supervision migrate
	$(BIN)/supervision demo --if-empty --year $(DEMO_YEAR)
	@echo ""
	@echo "  打开 http://127.0.0.1:8000/ （公开门户）  ·  http://127.0.0.1:8000/docs （API）"
	@echo "  演示账号: admin / planner / reviewer / inspector / liaison，密码 demo-password"
	@echo ""
	$(BIN)/supervision serve --host 127.0.0.1 --port 8000

test: setup
	$(BIN)/pytest $(PYTEST_ARGS)

lint: setup
	$(BIN)/ruff check supervision api reports tests bench

# Known vulnerabilities of the locked dependencies (says so plainly when OSV cannot be reached).
audit: setup
	BIN=$(BIN) bash scripts/audit.sh

clean:
	rm -rf $(VENV) var
