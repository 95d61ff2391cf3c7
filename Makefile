# convnet-course: one command to learn, one command to test.
#   make lab    install everything into .venv and open the course in JupyterLab
#   make test   install everything into .venv and run the whole test suite
# Both work on a fresh clone; the install step is shared and only runs when
# pyproject.toml or requirements.lock change.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
KERNEL := convnet-course
# nbgrader shells out to alembic, so the venv's bin/ must be on PATH.
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: install lab test lint release execute validate grade grade-all bundle bench browser sandbox \
	doctor data clean

install: $(STAMP)

$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip==26.1"
	$(BIN)/python -m pip install --quiet -c requirements.lock -e ".[test]"
	$(BIN)/python -m ipykernel install --sys-prefix --name $(KERNEL) \
		--display-name "Python (convnet-course)"
	$(BIN)/python -m cs231n_lib doctor
	touch $(STAMP)

lab: install
	$(BIN)/jupyter lab --notebook-dir=notebooks \
		--MappingKernelManager.default_kernel_name=$(KERNEL)

# The browser test needs Debian's chromium; install it when we can (root +
# apt), otherwise the browser test skips itself and says why.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	      || echo "chromium could not be installed: the browser test will be skipped"; \
	  else echo "not root or no apt-get: the browser test will be skipped"; fi; }

# Grading runs every submission's kernel in a bubblewrap sandbox (bwrap). Install it when we
# can (root + apt), otherwise say how; `grade` refuses to run without it (or --no-sandbox).
sandbox:
	@command -v bwrap >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap >/dev/null) \
	      || echo "bubblewrap could not be installed: $(BWRAP_HINT)"; \
	  else echo "not root or no apt-get: $(BWRAP_HINT)"; fi; }
BWRAP_HINT = bubblewrap (bwrap) is missing: Debian/Ubuntu \`sudo apt-get install bubblewrap\`, \
Fedora \`sudo dnf install bubblewrap\`; grading refuses to run without it (or pass --no-sandbox)

doctor: install
	$(BIN)/python -m cs231n_lib doctor

lint: install
	$(BIN)/ruff check cs231n_lib tests benchmarks solutions notebooks

test: install browser sandbox lint
	$(BIN)/python -m pytest -n 2 --dist loadfile

# Instructor commands (see README): solutions/ is the only source.
execute: install
	$(BIN)/python -m cs231n_lib execute

release: install
	$(BIN)/python -m cs231n_lib release

validate: install
	$(BIN)/python -m cs231n_lib validate

# make grade SUB=path/to/submission.ipynb [STUDENT=name] [GRADE_FLAGS="--memory 8"]
# Each kernel runs in the bubblewrap sandbox; GRADE_FLAGS=--no-sandbox only for trusted code.
grade: install
	@command -v bwrap >/dev/null 2>&1 || echo "$(BWRAP_HINT)"
	$(BIN)/python -m cs231n_lib grade $(SUB) $(if $(STUDENT),--student $(STUDENT)) --out grades \
		$(GRADE_FLAGS)

# make grade-all DIR=submissions   (DIR/<student>/<NAME>.ipynb or DIR/<student>.ipynb)
grade-all: install
	@command -v bwrap >/dev/null 2>&1 || echo "$(BWRAP_HINT)"
	$(BIN)/python -m cs231n_lib grade-all $(DIR) --out grades $(GRADE_FLAGS)

# make bundle BUNDLE=/tmp/ps1 NAMES="01_conv_layer"   (student hand-out without answers)
bundle: install
	$(BIN)/python -m cs231n_lib release --bundle $(BUNDLE) $(NAMES)

# CIFAR-10 for students who have a network: fetched once, verified, into $$CS231N_DATA
# (default: a per-user cache folder). The course never needs it; notebooks use it when
# their DATASET knob says "cifar10".
data: install
	$(BIN)/python -m cs231n_lib download cifar10

bench: install
	$(BIN)/python benchmarks/bench_layers.py
	$(BIN)/python benchmarks/bench_models.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis gradebook.db
