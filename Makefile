# SnapMode: `make demo` runs the platform on this machine, `make test` runs every test. Both set up .venv first.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
EXTRAS ?= test

.PHONY: install demo test test-unit clean

$(VENV)/.installed: pyproject.toml setup.py
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -U pip "setuptools<81" wheel
	$(PY) -m pip install -q -e ".[$(EXTRAS)]"
	touch $@

install: $(VENV)/.installed

demo: install
	$(VENV)/bin/snapmode demo

test: install
	$(PY) -m pytest

test-unit: install
	$(PY) -m pytest -m "not integration"

clean:
	rm -rf $(VENV) .snapmode .pytest_cache
