# The README's two commands:  `make lab` (set up, then open the course) and
# `make test` (set up, then run every test). Everything else here serves them.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
# Exact pins of the course environment (pyproject.toml only declares ranges).
CONSTRAINTS := constraints.txt
VENV   := .venv
BIN    := $(abspath $(VENV))/bin
STAMP  := $(VENV)/.installed

# nbgrader runs `alembic` (and jupyter its helpers) from PATH: the venv's bin/
# must come first in every target.
export PATH := $(BIN):$(PATH)
export MPLBACKEND ?= Agg

ROOT_FLAG  := $(if $(filter 0,$(shell id -u)),--allow-root,)
ASSIGNMENTS = $(notdir $(wildcard solutions/*))
JOBS       ?= 2

.PHONY: setup system-deps lab test release grade bench clean

setup: $(STAMP)

# Created or refreshed whenever pyproject.toml or constraints.txt changes. Python 3.10 to 3.13
# (the versions torch 2.13.0 ships wheels for); the tests run on 3.11 here.
$(STAMP): pyproject.toml $(CONSTRAINTS)
	@$(PYTHON) -c 'import sys; sys.exit(0 if (3, 10) <= sys.version_info[:2] <= (3, 13) else "lossbook needs Python 3.10 to 3.13, found %d.%d: run  make PYTHON=/path/to/python3.11 ..." % sys.version_info[:2])'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c $(CONSTRAINTS) -e '.[course,lab,dev,classroom]'
	touch $(STAMP)

# Chromium (the browser tests), bubblewrap (the grading sandbox) and npm (the site's widget
# runtime, the classroom's proxy) come from Debian's packages; installed only when missing.
system-deps:
	@missing=""; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	command -v bwrap >/dev/null || missing="$$missing bubblewrap"; \
	command -v npm >/dev/null || missing="$$missing npm"; \
	if [ -n "$$missing" ]; then \
	  echo "installing$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null \
	  || { echo "could not install$$missing: install them with your package manager"; exit 1; }; \
	fi

lab: setup
	$(BIN)/jupyter lab --notebook-dir=notebooks $(ROOT_FLAG)

test: setup system-deps
	export LOSSBOOK_STATIC=1; \
	$(BIN)/python -m pytest -n $(JOBS) --dist loadscope -q -m "not classroom"
	@# The classroom end to end creates Linux users: it needs root (CI runs as root).
	@if [ "$$(id -u)" = 0 ]; then $(MAKE) --no-print-directory test-classroom; \
	else echo "make test: the classroom test needs root; run  sudo make test-classroom"; fi

# notebooks/ is exactly what nbgrader makes from solutions/.
release: setup
	@for a in $(ASSIGNMENTS); do \
	  $(BIN)/nbgrader generate_assignment "$$a" --force || exit 1; \
	done

bench: setup
	$(BIN)/python bench/bench_losses.py
	$(BIN)/python bench/bench_widgets.py
	$(BIN)/python bench/bench_browser.py
	$(BIN)/python bench/bench_grading.py
	$(BIN)/python bench/bench_report.py
	$(BIN)/python bench/bench_linear_cross_entropy.py
	@echo "The classroom's benchmark needs root and a free machine: sudo .venv/bin/python bench/bench_classroom.py"

clean:
	rm -rf $(VENV) *.egg-info

# Grade a whole class in parallel, sandboxed: make grade ASSIGNMENT=02_regression
grade: setup system-deps
	@test -n "$(ASSIGNMENT)" || { echo "usage: make grade ASSIGNMENT=<assignment id>"; exit 2; }
	$(BIN)/python -m lossbook grade $(ASSIGNMENT) --jobs $(JOBS)

# A classroom on this machine (as root): JupyterHub on 127.0.0.1:8000, an instructor and
# STUDENTS demo students as Linux users; prints their logins (README, "Running a classroom on
# JupyterHub"). Remove everything with: .venv/bin/python deploy/classroom.py down
.PHONY: classroom test-classroom
STUDENTS ?= 3
classroom: setup system-deps
	$(BIN)/python deploy/classroom.py up --students $(STUDENTS)

# The classroom end to end, with real users (as root; creates and removes lbtest-* users).
test-classroom: setup system-deps
	export LOSSBOOK_STATIC=1; \
	$(BIN)/python -m pytest -p no:xdist -m classroom -q tests/test_classroom.py

# The course website in site/: every released chapter (notebooks/) run once and turned into a
# page whose sliders draw without a kernel, served offline (lossbook/course/site.py). Needs npm:
# the widget runtime comes from the npm packages pinned in lossbook/course/site_assets/.
.PHONY: site
site: setup
	$(BIN)/python -m lossbook.course.site --out site --notebooks notebooks
