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

test: cluster-deps
	$(PY) -m pytest

test-unit: install
	$(PY) -m pytest -m "not integration"

clean:
	rm -rf $(VENV) .snapmode .pytest_cache

# Everything the native cluster needs (JDK, Maven, the jars from Maven Central); idempotent.
.PHONY: cluster-deps
cluster-deps: $(VENV)/.cluster

$(VENV)/.cluster: $(VENV)/.installed infra/setup.sh infra/pom.xml infra/artifacts.py
	infra/setup.sh $(PY)
	touch $@

# The shipped CBIR-GAN and plain-triplet checkpoints (model/weights/), from a sample catalog of seed 101, and their
# evaluation against every baseline on a catalog of an unseen seed. A GPU takes minutes; the CPU takes hours.
TRAIN_CATALOG ?= .snapmode/catalog-train-101
EVAL_CATALOG ?= .snapmode/catalog-eval-2024
TRAIN_FLAGS ?= --epochs 30 --batch-size 64 --seed 0 --half-weights

.PHONY: train-default eval-default
train-default: install
	$(VENV)/bin/snapmode catalog generate --out $(TRAIN_CATALOG) --products 2000 --views 4 --seed 101 --no-site
	$(VENV)/bin/snapmode train --data $(TRAIN_CATALOG) --out model/weights/cbir_gan $(TRAIN_FLAGS)
	$(VENV)/bin/snapmode train --data $(TRAIN_CATALOG) --out model/weights/triplet --triplet-only $(TRAIN_FLAGS)
	rm -f model/weights/cbir_gan/resume.pt model/weights/triplet/resume.pt

eval-default: install
	$(VENV)/bin/snapmode catalog generate --out $(EVAL_CATALOG) --products 300 --views 4 --seed 2024 --no-site
	$(VENV)/bin/snapmode eval --data $(EVAL_CATALOG) --baselines --out model/weights/eval
