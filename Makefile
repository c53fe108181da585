# Comptoir — `make run` serves the demo on http://127.0.0.1:8000, `make test` runs every check.
# The work is done by the scripts in scripts/ (readable on their own); this file only names it.

SHELL := /bin/bash
ADDR ?= 127.0.0.1:8000
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/comptoir
PYTEST_WORKERS ?= 2
export ADDR TEST_DATABASE_URL PYTEST_WORKERS

.PHONY: help setup run test lint format messages check-migrations test-sqlite test-postgres test-browser check-services

help:
	@echo "make run               set up, migrate, load the demo and serve http://$(ADDR)"
	@echo "make test              lint, migrations check, tests on SQLite and PostgreSQL, browser test"
	@echo "make setup             .venv (uv), npm assets, translations, Debian gettext"
	@echo "make lint | format     ruff check + format --check | ruff format + fix"
	@echo "make messages          refresh comptoir/locale/en/LC_MESSAGES/django.po from the code, then compile it"
	@echo "make test-sqlite | test-postgres | test-browser | check-migrations   one step of make test"

setup:
	@scripts/setup.sh

run:
	@scripts/run.sh

test:
	@scripts/test.sh all

lint:
	@scripts/test.sh lint

format: setup
	.venv/bin/ruff format .
	.venv/bin/ruff check --fix .

messages: setup
	.venv/bin/comptoir makemessages -l en --ignore=node_modules --ignore=var --ignore=.venv --ignore=tests --ignore=docs --no-obsolete
	.venv/bin/comptoir compilemessages --ignore=.venv --ignore=node_modules

check-migrations:
	@scripts/test.sh migrations

test-sqlite:
	@scripts/test.sh sqlite

test-postgres:
	@scripts/test.sh postgres

test-browser:
	@scripts/test.sh browser

check-services: setup
	@scripts/check-services.sh "$(TEST_DATABASE_URL)"
