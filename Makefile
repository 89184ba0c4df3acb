# rdsaudit — `make demo` and `make test` set up everything they need (venv, local OpenSearch) and stay quiet on success.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test test-engines lint unit integration opensearch-up opensearch-down synth lock bench fuzz clean chromium mariadb
# jsii prints a banner about Node 20's end of life on every run; synthesis works (see shared toolchain notes).
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION := 1

$(STAMP): pyproject.toml requirements.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is needed")'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install -q --disable-pip-version-check --upgrade pip >$(VENV)/pip.log 2>&1 || { cat $(VENV)/pip.log; exit 1; }
	@$(PY) -m pip install -q --disable-pip-version-check -r requirements.txt -e '.[dev]' >>$(VENV)/pip.log 2>&1 \
		|| { cat $(VENV)/pip.log; exit 1; }
	@touch $@

venv: $(STAMP)

# The IAM policy evaluator of the contract test (tests/infra/test_iam_contract.py), from its lock file.
IAM_SIM := tests/infra/iam_simulate
IAM_STAMP := $(IAM_SIM)/node_modules/.installed
$(IAM_STAMP): $(IAM_SIM)/package-lock.json
	@cd $(IAM_SIM) && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null
	@touch $@

opensearch-up:
	@scripts/opensearch.sh up

opensearch-down:
	@scripts/opensearch.sh down

lint: $(STAMP)
	@$(VENV)/bin/ruff check --quiet .
	@$(VENV)/bin/ruff format --check --quiet .
	@$(VENV)/bin/mypy --no-error-summary handler

unit: $(STAMP)
	@$(VENV)/bin/pytest -q tests/unit

test: $(STAMP) $(IAM_STAMP) opensearch-up chromium mariadb lint
	@$(VENV)/bin/pytest -q -p no:cacheprovider tests

# Each engine of tests/engines/matrix.py in turn, on its own free port and node directory (one node at a time).
test-engines: $(STAMP)
	@$(PY) -m tests.engines.run

demo: $(STAMP) opensearch-up
	@$(PY) scripts/demo.py

# Headless Chromium (Debian's package) for the report's browser check; ~35 s the first time (scripts/apt-install.sh).
# Optional: when it cannot be installed, one line says why and the browser check does not run.
chromium:
	@command -v chromium >/dev/null || { why="$$(scripts/apt-install.sh chromium 2>&1 | tail -n 1)"; \
		command -v chromium >/dev/null || \
		echo "could not install chromium ($$why); the report's browser check will not run"; }

# MariaDB (Debian's package, with the server_audit plugin) and sysbench for the tests that read the real plugin's
# lines (tests/integration/mariadb.py); scripts/mariadb.sh starts a private server per run.
mariadb:
	@scripts/mariadb.sh install

synth: $(STAMP)
	@cd cdk && ../$(PY) app.py 2> >(grep -v '^b.!!' >&2) && echo "templates in cdk/cdk.out/"

# requirements.lock: the Lambda asset's wheels with their hashes (downloads them; run after changing requirements.txt)
lock: $(STAMP)
	@$(PY) cdk/lock_requirements.py

bench: $(STAMP) opensearch-up
	@$(PY) -m bench.storage
	@$(PY) -m bench.transform
	@$(PY) -m bench.end_to_end
	@$(PY) -m bench.kinesis
	@$(PY) -m bench.cost
	@$(PY) -m bench.cold_start
	@$(PY) -m bench.memory
	@$(PY) -m bench.backfill
	@$(PY) -m bench.report
	@$(PY) -m bench.sessions

fuzz: $(STAMP) opensearch-up
	@$(PY) -m bench.fuzz --lines 1000000 --payloads 3000

clean:
	rm -rf $(VENV) dead-letter .pytest_cache .mypy_cache .ruff_cache .hypothesis cdk/cdk.out
