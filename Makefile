# The README's two commands:  `make lab` (set up, then open the course) and
# `make test` (set up, then run every test). Everything else here serves them.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(abspath $(VENV))/bin
STAMP  := $(VENV)/.installed

# nbgrader runs `alembic` (and jupyter runs its helpers) from PATH: the venv's
# bin/ must come first in every target.
export PATH := $(BIN):$(PATH)
# Keep matplotlib and Jupyter from writing into $HOME on a shared machine.
export MPLBACKEND ?= Agg

ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)

.PHONY: setup lab test release bench clean

setup: $(STAMP)

# Created or refreshed whenever pyproject.toml changes.
$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "lossbook needs Python 3.11; set PYTHON=/path/to/python3.11")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[course,dev]'
	touch $(STAMP)

lab: setup
	$(BIN)/jupyter lab --notebook-dir=notebooks $(ROOT_FLAG)

test: setup
	$(BIN)/python -m pytest -q

release: setup
	@echo "regenerating notebooks/ from solutions/ with nbgrader"

bench: setup
	$(BIN)/python bench/bench_losses.py

clean:
	rm -rf $(VENV) *.egg-info
