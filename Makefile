# The two commands from the README: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
MANAGE := $(BIN)/python manage.py
HOST ?= 127.0.0.1:8000

.PHONY: run test install lint format check migrate demo worker clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

migrate: install
	mkdir -p var
	$(MANAGE) migrate --noinput

demo: migrate
	DJANGO_DEBUG=1 $(MANAGE) seed_demo

# Serves the portal with the embedded defaults (SQLite, server-less broker,
# simulated provider) and a Celery worker with beat beside it, on the
# development settings (a worker started without them runs production). A
# message with no receipt is "Delivery unknown" after 2 minutes, not 72 hours,
# and a quiet campaign closes after 3 minutes, not 48 hours: a demo campaign
# ends while you watch.
RUN_ENV := DJANGO_SETTINGS_MODULE=portal.settings.local DJANGO_DEBUG=1 \
	PORTAL_RECEIPT_WAIT_HOURS=0.03 PORTAL_CLOSE_WINDOW_HOURS=0.05
run: demo
	@echo ""
	@echo "  Portal:  http://$(HOST)/   (log in as demo / demo)"
	@echo "  Support: http://$(HOST)/support/"
	@echo ""
	$(RUN_ENV) $(BIN)/celery -A portal worker --beat --loglevel=WARNING \
		--queues=dispatch-priority,dispatch,status,default --concurrency=2 & \
	worker=$$!; trap "kill $$worker 2>/dev/null" EXIT INT TERM; \
	$(RUN_ENV) $(MANAGE) runserver $(HOST)

lint: install
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

check: install
	$(MANAGE) makemigrations --check --dry-run
	$(MANAGE) check

test: lint check
	$(BIN)/pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) var
