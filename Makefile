# iadnb: the two commands of the README, and a few helpers.
#   make test   set up .venv (torch CPU-usable build, the package with its dev extra) and run every test
#   make eval   run the evaluation notebook on the embedded default data (SynthLOCO, generated on first use)
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
METHOD ?= patchcore
export HF_HUB_OFFLINE ?= 1

.PHONY: test setup check-export nbtest pytest eval bench clean

$(PY):
	python3 -m venv $(VENV)

setup: $(PY)
	$(PIP) install -q --upgrade pip
	# torch/torchvision pinned to the builds on this machine's disk (never newer: see shared/toolchain.md)
	$(PIP) install -q torch==2.14.1 torchvision==0.29.1
	$(PIP) install -q -e '.[dev]'

check-export: setup
	cd nbs && ../$(VENV)/bin/nbdev_export
	@git diff --quiet -- iadnb || { echo 'nbdev_export changed iadnb/: notebooks and package are out of sync'; git --no-pager diff --stat -- iadnb; exit 1; }
	@test -z "$$(git status --porcelain -- iadnb)" || { echo 'nbdev_export created untracked files in iadnb/'; git status --porcelain -- iadnb; exit 1; }

nbtest: setup
	$(VENV)/bin/nbdev_test --n_workers 2 --timing

pytest: setup
	$(VENV)/bin/pytest -q tests

test: setup nbtest pytest

eval: setup
	mkdir -p runs
	$(VENV)/bin/papermill nbs/eval.ipynb runs/eval_$(METHOD).ipynb -p method $(METHOD)

bench: setup
	$(PY) -m iadnb.bench

clean:
	rm -rf runs _proc _docs
