# Yara ORM developer commands. `make demo` and `make test` work on a fresh machine.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# Pin the interpreter pyo3 builds against, so PATH changes do not trigger rebuilds.
export PYO3_PYTHON := $(abspath $(PY))
# Rust tests that need PostgreSQL read the same variable as the Python tests.
export YARA_PG_URL ?=

.PHONY: help venv develop demo test lint fmt test-rust test-py pg mariadb wheel clean perf-gate bench bench-peers conformance compat soak

help:
	@echo "make demo   - create the venv, build the engine, run the examples (quickstart, relations, migrations) on SQLite"
	@echo "make test   - lint, cargo tests, pytest on SQLite, PostgreSQL and MariaDB"
	@echo "make wheel  - build a release wheel (fat LTO) into dist/"
	@echo "make fmt    - format Rust and Python sources"

$(STAMP): requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements-dev.txt
	touch $@

venv: $(STAMP)

# Release profile: fast enough to iterate (~7 s incremental) and representative for tests.
develop: $(STAMP)
	VIRTUAL_ENV=$(abspath $(VENV)) $(VENV)/bin/maturin develop --release -q

demo: develop
	$(PY) examples/quickstart.py
	$(PY) examples/relations.py
	$(PY) examples/migrations_demo/demo.py

lint: develop
	cargo fmt --all --check
	cargo clippy --all-targets -- -D warnings
	cargo clippy --all-targets --features python -p yara-engine -- -D warnings
	$(VENV)/bin/ruff check python tests examples perf compat
	$(VENV)/bin/ruff format --check python tests examples perf compat
	$(VENV)/bin/mypy
	$(VENV)/bin/python -m mypy.stubtest yara_orm._engine --allowlist scripts/stubtest-allowlist.txt
	$(PY) scripts/check_layers.py

fmt: $(STAMP)
	cargo fmt --all
	$(VENV)/bin/ruff format python tests examples perf compat
	$(VENV)/bin/ruff check --fix python tests examples perf compat

# Find PostgreSQL (YARA_PG_URL, or a local server, started if installed and down).
pg:
	@bash scripts/ensure-postgres.sh

# Find MariaDB/MySQL (YARA_MYSQL_URL, or a local server on 3306, started if installed and
# down); fails without one, so the MariaDB tests never silently drop out.
mariadb:
	@bash scripts/ensure-mariadb.sh

test-rust: pg mariadb
	cargo test --release --all-targets

test-py: develop pg mariadb
	$(PY) -m pytest -q

test: lint test-rust test-py perf-gate conformance

# Backend conformance kit, Python level: SQLite, PostgreSQL (scratch database) and the asyncpg
# example backend; JSON reports in a temp dir. Fails (never skips) without PostgreSQL.
conformance: develop pg mariadb
	$(PY) -m pip install -q --no-deps -e conformance/examples/asyncpg_backend
	$(PY) scripts/conformance.py --out "$$(mktemp -d -t yara-conformance-XXXXXX)"

# Performance gate (perf/budgets.toml): same-run ratios, statement counts, instruction counts.
perf-gate: $(STAMP) pg mariadb
	$(PY) perf/gate.py

# Soak (not part of `make test`): 1000 tasks on a pool of 10 for 10 minutes against PostgreSQL,
# reads, transactions and cancelled transactions mixed; ops/s and RSS every 10 s, then checks
# that no committed row was lost, no cancelled one stayed, and no session is left open.
SOAK_ARGS ?=
soak: develop pg
	$(PY) scripts/soak.py $(SOAK_ARGS)

# Benchmarks with full data sizes (not part of `make test`); see perf/README.md.
bench: $(STAMP) pg
	cargo bench -p yara-engine --bench value_conversion
	$(PY) perf/decode.py
	$(PY) perf/vs_driver.py

# Peer ORMs (Tortoise, SQLAlchemy 2 async) in their own venv: markdown table + PNG chart.
PEERS_VENV ?= .venv-peers
bench-peers: pg
	test -x $(PEERS_VENV)/bin/python || $(PYTHON) -m venv $(PEERS_VENV)
	$(PEERS_VENV)/bin/python -m pip install -q -r perf/requirements-peers.txt
	$(PEERS_VENV)/bin/python perf/peers.py --out perf/results

# yara-orm 1.19.1's and Tortoise ORM's own tests against ours and against the real packages
# (downloaded from PyPI at run time, never committed; needs the network, so not in `make test`).
# See compat/README.md; COMPAT_ARGS passes options (e.g. COMPAT_ARGS="--suite yara --backend sqlite").
compat: develop pg
	$(PY) compat/run.py $(COMPAT_ARGS)

wheel: $(STAMP)
	$(VENV)/bin/maturin build --profile dist --out dist

clean:
	cargo clean
	rm -rf $(VENV) dist
