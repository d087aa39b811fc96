# opsplane: the two commands a newcomer needs are `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMPS := .stamps
WEB_DIST := src/opsplane/server/web/dist
CI ?=

.PHONY: run test lint web bench venv sysdeps clean fmt

$(STAMPS):
	@mkdir -p $(STAMPS)

# Python environment: the package with every extra, editable.
$(STAMPS)/venv: pyproject.toml | $(STAMPS)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

venv: $(STAMPS)/venv

# Debian packages the tests drive for real (installed only when missing).
sysdeps:
	@missing=""; \
	for p in prometheus:prometheus prometheus-alertmanager:prometheus-alertmanager \
	         prometheus-node-exporter:prometheus-node-exporter chromium:chromium \
	         jcmd:default-jdk-headless; do \
	  cmd=$${p%%:*}; pkg=$${p##*:}; command -v $$cmd >/dev/null 2>&1 || missing="$$missing $$pkg"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

# Web UI: npm packages, TypeScript client generated from the server's OpenAPI schema, type check
# (vue-tsc: a type error fails the build), Vite build.
$(STAMPS)/npm: web/package.json web/package-lock.json | $(STAMPS)
	cd web && npm ci --no-audit --no-fund --loglevel=error
	touch $@

web: $(STAMPS)/venv $(STAMPS)/npm
	$(BIN)/opsplane openapi > web/openapi.json
	cd web && npx openapi-typescript openapi.json -o src/api/schema.d.ts >/dev/null
	cd web && npx vue-tsc --noEmit -p tsconfig.json
	cd web && npx vite build --outDir ../$(WEB_DIST) --emptyOutDir

run: $(STAMPS)/venv web
	$(BIN)/opsplane run

# Many tests wait on real processes (heartbeats, JVMs, Prometheus), so workers beyond the
# core count still shorten the run; tests of one module stay on one worker (shared servers).
TEST_WORKERS ?= 3

test: sysdeps $(STAMPS)/venv web
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadscope

lint: $(STAMPS)/venv
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

fmt: $(STAMPS)/venv
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

bench: $(STAMPS)/venv web
	$(BIN)/python bench/fleet.py
	$(BIN)/python bench/heapdump.py

clean:
	rm -rf $(VENV) $(STAMPS) $(WEB_DIST) web/node_modules
