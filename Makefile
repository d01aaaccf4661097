# The two commands a newcomer needs: `make run` and `make test`. Both work on a fresh clone.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
HOST ?= 127.0.0.1:8000
PYTEST_ARGS ?=

.PHONY: run test install install-dev lint format schema client examples screens ci clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip

$(VENV)/.installed: requirements.txt | $(PY)
	$(PIP) install -q -r requirements.txt
	touch $@

$(VENV)/.dev-installed: requirements.txt requirements-dev.txt | $(PY)
	$(PIP) install -q -r requirements-dev.txt
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-dev: $(VENV)/.dev-installed

## Install, migrate, load the demo program into an empty database, print an admin login and an API key (the
## first time; a second run changes nothing and says how to get new ones), serve on $(HOST).
run: $(VENV)/.installed
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo --admin --api-key demo
	@echo "Admin: http://$(HOST)/admin/   API docs: http://$(HOST)/api/docs/   About: http://$(HOST)/api/v1/about"
	$(PY) manage.py runserver $(HOST)

## Install the dev requirements and run the whole suite (SQLite and in-process tasks unless
## DATABASE_URL / CELERY_BROKER_URL say otherwise).
test: $(VENV)/.dev-installed
	$(PY) -m pytest $(PYTEST_ARGS)

## The browser tests again, saving their screenshots into docs/screens/ (docs/admin.md shows them).
screens: $(VENV)/.dev-installed
	SCREENS_DIR=$(CURDIR)/docs/screens $(PY) -m pytest -m browser -q

lint: $(VENV)/.dev-installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(VENV)/.dev-installed
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

schema: $(VENV)/.installed
	$(PY) manage.py spectacular --validate --fail-on-warn --format openapi-json --file schema.json

## The Python client of the API, generated from the schema with openapi-python-client (docs/integrators.md).
client: $(VENV)/.dev-installed
	$(PY) clients/generate.py --output build/loyalty-client

## The schema's request and answer examples, recorded again from the demo program through the generated client
## (needs DATABASE_URL on PostgreSQL and CELERY_BROKER_URL: the flow starts gunicorn and a worker).
examples: $(VENV)/.dev-installed
	RECORD_API_EXAMPLES=1 $(PY) -m pytest tests/client -q -p no:cacheprovider

ci:
	bash .ci/run

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache staticfiles build
