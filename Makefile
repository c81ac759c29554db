# iadnb: the two commands of the README, and a few helpers.
#   make test   set up .venv (torch CPU-usable build, the package with its dev extra) and run every test
#   make eval   run the evaluation notebook on the embedded default data (SynthLOCO, generated on first use)
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
METHOD ?= patchcore
export HF_HUB_OFFLINE ?= 1

.PHONY: test setup check-export check-readme readme outputs nbtest pytest eval bench lab clean

$(PY):
	python3 -m venv $(VENV)

# installs once, and again only when the dependencies change (the stamp is newer than settings.ini / setup.py)
setup: $(VENV)/.installed
$(VENV)/.installed: settings.ini setup.py pyproject.toml | $(PY)
	$(PIP) install -q --upgrade pip
	# torch/torchvision pinned to the builds on this machine's disk (never newer: see shared/toolchain.md)
	$(PIP) install -q torch==2.14.1 torchvision==0.29.1
	$(PIP) install -q -e '.[dev]'
	touch $@

check-export: setup
	cd nbs && ../$(VENV)/bin/nbdev_export
	@git diff --quiet -- iadnb || { echo 'nbdev_export changed iadnb/: notebooks and package are out of sync'; git --no-pager diff --stat -- iadnb; exit 1; }
	@test -z "$$(git status --porcelain -- iadnb)" || { echo 'nbdev_export created untracked files in iadnb/'; git status --porcelain -- iadnb; exit 1; }

# README.md is nbs/index.ipynb's markdown cells (Quarto, which nbdev_readme needs, cannot be installed here)
readme:
	@python3 -c "import json; nb = json.load(open('nbs/index.ipynb')); md = [''.join(c['source']).strip() for c in nb['cells'] if c['cell_type'] == 'markdown']; open('README.md', 'w').write('<!-- Generated from nbs/index.ipynb by make readme: edit the notebook, not this file. -->\n\n' + '\n\n'.join(md) + '\n')"

# the chapters committed with the outputs of a CPU run (cells skipped as nbdev_test skips them), then cleaned
outputs: setup
	env -u MPLBACKEND -u IADNB_PROGRESS $(PY) tools/run_notebooks.py $(sort $(wildcard nbs/[0-9]*.ipynb))
	cd nbs && ../$(VENV)/bin/nbdev_clean

check-readme: readme
	@git diff --quiet -- README.md || { echo 'README.md differs from nbs/index.ipynb: run make readme'; git --no-pager diff --stat -- README.md; exit 1; }

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

lab: setup
	$(VENV)/bin/jupyter lab nbs/

clean:
	rm -rf runs _proc _docs
