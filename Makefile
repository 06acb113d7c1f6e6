# Two entry points for a fresh machine (README): `make demo` and `make test`.
# Both create .venv, install dinos with its model and dev extras (torch pinned to the CPU wheel
# 2.13.0 first, so the unpinned `torch` of the extra never pulls the CUDA packages), then run.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# The install is redone when the build inputs change (the optional C extension is compiled at install).
BUILD_INPUTS := pyproject.toml setup.py dinos/_pcm16.c
STAMP := $(VENV)/.installed-$(shell cat $(BUILD_INPUTS) | cksum | cut -d' ' -f1)
PYTEST_ARGS ?= -n 2

.PHONY: install demo test fuzz lint clean

install: $(STAMP)

$(STAMP): $(BUILD_INPUTS)
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q "torch==2.13.0"
	$(PY) -m pip install -q -e ".[model,dev]"
	@$(PY) -c "import os; from dinos import wav; print('dinos: PCM_16 scaling:', wav.scaling() if wav.NATIVE or os.environ.get('DINOS_NO_NATIVE') else 'numpy (the optional C loop dinos/_pcm16.c was not built: no C compiler?)')"
	rm -f $(VENV)/.installed-*
	touch $@

demo: install
	$(VENV)/bin/dinos demo --out .demo --force

# `make test` replays a fixed (derandomized) set of property-test examples: the same result on
# every machine. `make fuzz` runs the property tests with new random examples on each run, no example
# database, no deadline (profile `fuzz` in tests/conftest.py; a failure it finds becomes an @example).
test: install
	$(PY) -m pytest $(PYTEST_ARGS)

fuzz: install
	HYPOTHESIS_PROFILE=fuzz $(PY) -m pytest $(PYTEST_ARGS) -m "not slow" tests/test_fuzz_csv.py tests/test_segment.py tests/test_dinos_grammar.py tests/test_dcase_names.py tests/test_metrics.py tests/test_paths.py tests/test_splits.py

lint: install
	$(VENV)/bin/ruff check dinos loaders recipes tests benchmarks

clean:
	rm -rf $(VENV) .demo build dist *.egg-info dinos/_pcm16*.so dinos/_pcm16*.pyd
