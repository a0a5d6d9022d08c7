# Two commands on a fresh machine (Python 3.11+ and make): `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 5000
EMULATOR_PORT ?= 5001
export FLASK_APP := wsgi.py

.PHONY: run test lint format install worker beat bench bench-roster screenshots clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "需要 Python 3.11 或更高版本"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	@touch $@

install: $(VENV)/.installed

# Runs the whole thing on its embedded default: SQLite, the built-in WeChat emulator, demo data.
run: install
	$(BIN)/flask db upgrade
	$(BIN)/flask seed-demo --site-url http://127.0.0.1:$(PORT) --emulator-url http://127.0.0.1:$(EMULATOR_PORT)
	@set -e; \
	WECHAT_API_BASE=http://127.0.0.1:$(EMULATOR_PORT)/ $(BIN)/flask wechat-emulator --port $(EMULATOR_PORT) & \
	EMULATOR=$$!; \
	( while sleep 60; do $(BIN)/flask run-periodic >/dev/null 2>&1; done ) & PERIODIC=$$!; \
	trap 'kill $$EMULATOR $$PERIODIC 2>/dev/null' EXIT INT TERM; \
	echo ""; \
	echo "  管理后台:      http://127.0.0.1:$(PORT)/admin/   （演示账号见上方，密码 demo12345）"; \
	echo "  接口文档:      http://127.0.0.1:$(PORT)/api/docs"; \
	echo "  OpenAPI:       http://127.0.0.1:$(PORT)/api/v1/openapi.json"; \
	echo "  微信模拟器:    http://127.0.0.1:$(EMULATOR_PORT)/ （演示会员和认证一位会员的四条命令见上方）"; \
	echo ""; \
	WECHAT_API_BASE=http://127.0.0.1:$(EMULATOR_PORT)/ $(BIN)/flask run --host 127.0.0.1 --port $(PORT)

# The same command CI runs. With TEST_DATABASE_URL / TEST_REDIS_URL set it also runs the
# PostgreSQL and Redis tests (locking, concurrency, real Celery workers).
# TEST_WORKERS: pytest-xdist processes (auto: one per CPU; 0 runs everything in this process). Each
# worker gets a PostgreSQL database and a Redis database number of its own (tests/conftest.py).
TEST_WORKERS ?= auto
test: install
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

worker: install
	$(BIN)/celery -A wsgi:celery worker --loglevel=INFO

beat: install
	$(BIN)/celery -A wsgi:celery beat --loglevel=INFO

bench: install
	$(BIN)/python bench/fanout.py

# PNGs of the main admin pages at 1366 × 768 and 390 × 844 in screenshots/, for review by eye
# (needs Chromium: apt-get install chromium fonts-noto-cjk).
screenshots: install
	$(BIN)/python -m tests.browser.screenshots screenshots

# The roster import against a raw bulk insert of the same rows (bench/README.md); DATABASE_URL for PostgreSQL.
bench-roster: install
	$(BIN)/python bench/roster_import.py

clean:
	rm -rf $(VENV) instance .pytest_cache .ruff_cache
