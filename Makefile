# SnapMode: `make demo` runs the platform on this machine, `make test` runs every test. Both set up .venv first.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
EXTRAS ?= test,docs

.PHONY: install demo test test-unit clean docs docs-serve reference

$(VENV)/.installed: pyproject.toml setup.py
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -U pip "setuptools<81" wheel
	$(PY) -m pip install -q -e ".[$(EXTRAS)]"
	touch $@

install: $(VENV)/.installed

demo: install
	$(VENV)/bin/snapmode demo

test: cluster-deps browser-deps client-generator docs
	$(PY) -m pytest

test-unit: install
	$(PY) -m pytest -m "not integration"

clean:
	rm -rf $(VENV) $(OPENAPI_VENV) .snapmode .pytest_cache site

# The documentation site, built strictly (a broken link, anchor or a page missing from the nav fails), into site/.
docs: install
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict

docs-serve: install
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs serve --dev-addr 127.0.0.1:8001

# The generated CLI and configuration references and .env.example (tests/test_reference.py fails when they drift).
reference: install
	$(PY) -m snapmode.cli.reference

# Everything the native cluster needs (JDK, Maven, the jars from Maven Central); idempotent.
.PHONY: cluster-deps
cluster-deps: $(VENV)/.cluster

$(VENV)/.cluster: $(VENV)/.installed infra/setup.sh infra/pom.xml infra/artifacts.py
	infra/setup.sh $(PY)
	touch $@

# The OpenAPI client generator of tests/services/test_generated_client.py, in an environment of its own: its command
# line pins an older Typer than SnapMode's. The client it generates needs only httpx and attrs, which .venv has.
OPENAPI_VENV ?= .venv-openapi
.PHONY: client-generator
client-generator: $(OPENAPI_VENV)/.installed

$(OPENAPI_VENV)/.installed:
	$(PYTHON) -m venv $(OPENAPI_VENV)
	$(OPENAPI_VENV)/bin/python -m pip install -q "openapi-python-client==0.29.1"
	touch $@

# Debian's Chromium for the browser tests (tests/browser): Playwright launches it by path, no browser is downloaded.
.PHONY: browser-deps
browser-deps:
	@test -x "$${SNAPMODE_TEST_CHROMIUM:-/usr/bin/chromium}" || { \
	  if [ "$$(id -u)" -ne 0 ]; then echo "please install chromium (needs root: apt-get install -y chromium)" >&2; exit 1; fi; \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium; }

# The shipped CBIR-GAN and plain-triplet checkpoints (model/weights/), from a sample catalog of seed 101, run
# identically for both: one epoch from the ImageNet encoder whose trunk stays as it was below its last block, half the
# photos seen as thumbnails, its projection started as a whitening learned from drawings of the Debian package
# openclipart-png (downloaded once into the package cache) (model/recipes/frozen-trunk.json; about 26 minutes on two
# CPU cores), kept in $(FULL_CODES) with their 1280-d codes; the shipped ones are their 256-d compact checkpoints with
# int8 graphs (`snapmode compact`, about 4 minutes each). Then their evaluation against every baseline on a catalog
# of an unseen seed.
TRAIN_CATALOG ?= .snapmode/catalog-train-101
EVAL_CATALOG ?= .snapmode/catalog-eval-9001-500
TRAIN_FLAGS ?= --seed 0 --half-weights
FULL_CODES ?= .snapmode/models

.PHONY: train-default eval-default
$(TRAIN_CATALOG)/catalog.jsonl: | install
	$(VENV)/bin/snapmode catalog generate --out $(TRAIN_CATALOG) --products 2000 --views 4 --seed 101 --no-site

train-default: $(TRAIN_CATALOG)/catalog.jsonl
	$(VENV)/bin/snapmode train --data $(TRAIN_CATALOG) --out $(FULL_CODES)/cbir-gan-1280 --config model/recipes/frozen-trunk.json $(TRAIN_FLAGS)
	$(VENV)/bin/snapmode train --data $(TRAIN_CATALOG) --out $(FULL_CODES)/triplet-1280 --config model/recipes/frozen-trunk.json --triplet-only $(TRAIN_FLAGS)
	rm -rf model/weights/cbir_gan model/weights/triplet
	$(VENV)/bin/snapmode compact model/weights/cbir_gan --model $(FULL_CODES)/cbir-gan-1280
	$(VENV)/bin/snapmode compact model/weights/triplet --model $(FULL_CODES)/triplet-1280
	cp $(FULL_CODES)/cbir-gan-1280/*.png model/weights/cbir_gan/ && cp $(FULL_CODES)/triplet-1280/*.png model/weights/triplet/

# The synthetic-only recipe (the previous default), in two stages: 30 epochs from the ImageNet encoder, every layer
# learning (model/recipes/pretrain.json; about two hours on two CPU cores), then 4 epochs with occluders in the photos,
# where the CBIR-GAN's generator learns to reconstruct the unoccluded photo (model/recipes/finetune.json).
SYNTHETIC ?= .snapmode/synthetic

.PHONY: train-synthetic finetune-synthetic
train-synthetic: $(TRAIN_CATALOG)/catalog.jsonl
	$(VENV)/bin/snapmode train --data $(TRAIN_CATALOG) --out $(SYNTHETIC)/pretrained/cbir_gan --config model/recipes/pretrain.json $(TRAIN_FLAGS)
	$(VENV)/bin/snapmode train --data $(TRAIN_CATALOG) --out $(SYNTHETIC)/pretrained/triplet --config model/recipes/pretrain.json --triplet-only $(TRAIN_FLAGS)
	$(MAKE) finetune-synthetic

finetune-synthetic: $(TRAIN_CATALOG)/catalog.jsonl
	$(VENV)/bin/snapmode train --data $(TRAIN_CATALOG) --out $(SYNTHETIC)/cbir_gan --config model/recipes/finetune.json --init $(SYNTHETIC)/pretrained/cbir_gan $(TRAIN_FLAGS)
	$(VENV)/bin/snapmode train --data $(TRAIN_CATALOG) --out $(SYNTHETIC)/triplet --config model/recipes/finetune.json --init $(SYNTHETIC)/pretrained/triplet --triplet-only $(TRAIN_FLAGS)

$(EVAL_CATALOG)/catalog.jsonl: | install
	$(VENV)/bin/snapmode catalog generate --out $(EVAL_CATALOG) --products 500 --views 4 --seed 9001 --no-site

eval-default: $(EVAL_CATALOG)/catalog.jsonl
	$(VENV)/bin/snapmode eval --data $(EVAL_CATALOG) --baselines --out model/weights/eval

# A one-stage recipe that keeps what the ImageNet encoder knew about real photographs (model/recipes/distill.json):
# from the ImageNet encoder, z also keeps the in-batch feature distances of the frozen encoder (relational
# distillation); the plain triplet network gets the same data, schedule and distillation. Not the shipped weights:
# `make eval-real MODEL=$(DISTILLED)/cbir_gan TRIPLET=$(DISTILLED)/triplet` scores them on the real-image sets.
DISTILLED ?= .snapmode/distilled
MODEL ?= model/weights/cbir_gan
TRIPLET ?= model/weights/triplet
REAL_SETS ?= photos icons
REAL_REPORTS ?= .snapmode/eval-real

.PHONY: distill-default eval-real
distill-default: $(TRAIN_CATALOG)/catalog.jsonl
	$(VENV)/bin/snapmode train --data $(TRAIN_CATALOG) --out $(DISTILLED)/cbir_gan --config model/recipes/distill.json $(TRAIN_FLAGS)
	$(VENV)/bin/snapmode train --data $(TRAIN_CATALOG) --out $(DISTILLED)/triplet --config model/recipes/distill.json --triplet-only $(TRAIN_FLAGS)

eval-real: | install
	for set in $(REAL_SETS); do \
	  test -f .snapmode/datasets/$$set/manifest.json || $(VENV)/bin/snapmode dataset build $$set || exit 1; \
	  $(VENV)/bin/snapmode eval --data .snapmode/datasets/$$set --model $(MODEL) --triplet-model $(TRIPLET) --baselines \
	    --out $(REAL_REPORTS)/$$set || exit 1; \
	done
