# HallWatch — the two commands of the README: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)
SHARED ?= $(abspath ../shared)

.PHONY: demo test install bench accuracy clean schemas

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install -q -e '.[all]'
	# The ultralytics backend (parity, export and train tests). torch + torchvision as a matching pair (a CPU
	# torch beside PyPI's CUDA torchvision fails to import); ultralytics without its deps because it pulls
	# opencv-python, which clashes with opencv-python-headless.
	$(PY) -m pip install -q torch==2.14.1 torchvision==0.29.1
	$(PY) -m pip install -q --no-deps ultralytics==8.4.190
	$(PY) -m pip install -q polars ultralytics-thop psutil requests onnx nncf
	rm -f $(VENV)/.installed-*
	touch $@

install: $(STAMP)

# Starts broker, server, one edge agent and the sensor simulator on embedded defaults.
demo: install
	HALLWATCH_SHARED_DIR=$(SHARED) $(VENV)/bin/hallwatch demo

# The whole suite. Tests talk to Mosquitto/PostgreSQL when HALLWATCH_TEST_MQTT /
# HALLWATCH_TEST_DATABASE_URL are set (.ci/run sets them), otherwise to throwaway ones.
test: install
	HALLWATCH_SHARED_DIR=$(SHARED) $(PY) -m pytest $(PYTEST_ARGS)

schemas: install
	$(VENV)/bin/hallwatch config schema --out configs/schema

bench: install
	HALLWATCH_SHARED_DIR=$(SHARED) $(PY) bench/edge_throughput.py
	HALLWATCH_SHARED_DIR=$(SHARED) $(PY) bench/detector_crops.py

# Regenerates models/ACCURACY.md (pasted into the README) from the shared labelled media.
accuracy: install
	HALLWATCH_SHARED_DIR=$(SHARED) $(PY) -m models.accuracy

clean:
	rm -rf $(VENV) .pytest_cache data
