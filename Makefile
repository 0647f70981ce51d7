# Two virtual environments:
#   .venv       Python 3.11, everything but Lava (torch CPU build pinned first, then norse, brian2, nir)
#   .venv-lava  Python 3.10, lava-nc with numpy < 2, no torch
SHELL := /bin/bash
PY311 ?= python3.11
PY310 ?= $(shell command -v python3.10 >/dev/null 2>&1 && python3.10 --version >/dev/null 2>&1 && echo python3.10 || echo "env PYENV_VERSION=3.10.13 python3.10")
VENV := .venv
VENV_LAVA := .venv-lava
PYTEST_ARGS ?=

.PHONY: all demo docs test test-main test-lava bench lint format clean venv venv-lava fuzz

all: test

$(VENV)/.stamp: pyproject.toml
	$(PY311) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q torch==2.13.0
	$(VENV)/bin/pip install -q -e '.[torch,brian2,nir,dask,dev,docs]' torch==2.13.0
	touch $@

$(VENV_LAVA)/.stamp: pyproject.toml
	$(PY310) -m venv $(VENV_LAVA)
	$(VENV_LAVA)/bin/pip install -q --upgrade pip
	$(VENV_LAVA)/bin/pip install -q -e '.[lava,nir,dev]' 'numpy<2'
	touch $@

venv: $(VENV)/.stamp
venv-lava: $(VENV_LAVA)/.stamp

demo: $(VENV)/.stamp
	$(VENV)/bin/spikelab demo

# The documentation site (docs/*.md and the API reference from the docstrings, mkdocs.yml)
# into site/, strict: any warning (a broken link or reference, a page missing from the nav,
# a docstring griffe cannot parse) fails. NO_MKDOCS_2_WARNING silences mkdocs-material's
# end-of-life banner about its successor, not a warning about these docs.
docs: $(VENV)/.stamp
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --site-dir site

test: test-main test-lava

# .venv-lava first: the .venv suite runs Lava through the worker (conformance, worker tests)
test-main: $(VENV)/.stamp $(VENV_LAVA)/.stamp
	$(VENV)/bin/ruff check spikelab tests benchmarks examples
	$(VENV)/bin/python -m pytest -q -n 2 $(PYTEST_ARGS)

# .venv-lava runs the Lava tests (marker needs_lava: the Lava backend in its own interpreter,
# the worker compared with it bit for bit, the Lava artifact, Lava in the conformance suite);
# everything else runs in .venv, which also runs Lava through the worker
test-lava: $(VENV_LAVA)/.stamp
	$(VENV_LAVA)/bin/python -m pytest -q -n 2 -m needs_lava $(PYTEST_ARGS)

# The fuzzers of tests/fuzz with FUZZ_EXAMPLES times the examples of `make test` (random
# seeds, failures shrunk): at the default, more than 10 minutes on 2 cores. The statistics
# give the inputs tried per fuzzer.
FUZZ_EXAMPLES ?= 40
fuzz: $(VENV)/.stamp
	SPIKELAB_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(VENV)/bin/python -m pytest -q -p no:cacheprovider \
		tests/fuzz --hypothesis-show-statistics $(PYTEST_ARGS)

bench: $(VENV)/.stamp $(VENV_LAVA)/.stamp
	$(VENV)/bin/spikelab bench --json results/bench.json
	$(VENV)/bin/python benchmarks/ceiling.py --json results/ceiling.json
	$(VENV_LAVA)/bin/spikelab bench --suite lava --json results/bench-lava.json

lint: $(VENV)/.stamp
	$(VENV)/bin/ruff check spikelab tests benchmarks examples
	$(VENV)/bin/ruff format --check spikelab tests benchmarks examples

format: $(VENV)/.stamp
	$(VENV)/bin/ruff format spikelab tests benchmarks examples
	$(VENV)/bin/ruff check --fix spikelab tests benchmarks examples

clean:
	rm -rf $(VENV) $(VENV_LAVA) results build *.egg-info
