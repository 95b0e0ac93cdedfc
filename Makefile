# hitl-active — two commands on a fresh machine:
#   make demo   set up, then run the active-learning loop on a generated dataset
#   make test   set up, then run the test suite (starts a real Label Studio itself)

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
TOOLS := .tools
UV := $(shell command -v uv 2>/dev/null || echo $(TOOLS)/bin/uv)
export YOLO_OFFLINE := 1
export UV_LINK_MODE := copy

.PHONY: setup browser test demo lint format bench clean

$(TOOLS)/bin/uv:
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet uv

$(VENV)/.synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --extra scale
	touch $@

setup: $(VENV)/.synced

# The browser tests drive Debian's Chromium: installed here where it is missing and apt works
# (as root); elsewhere they skip and say why.
browser:
	@if [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	  (apt-get update -qq && apt-get install -y -qq chromium >/dev/null) \
	    || echo "chromium not installed; the browser tests will skip" >&2; \
	fi

test: setup browser
	$(VENV)/bin/ruff check hitl_active tests scripts
	$(VENV)/bin/lint-imports
	$(VENV)/bin/python -m pytest $(PYTEST_ARGS)

demo: setup
	$(VENV)/bin/hitl-active demo $(if $(LABEL_STUDIO),--label-studio,) $(DEMO_ARGS)

lint: setup
	$(VENV)/bin/ruff check hitl_active tests scripts
	$(VENV)/bin/lint-imports
	$(VENV)/bin/ruff format --check hitl_active tests scripts

format: setup
	$(VENV)/bin/ruff format hitl_active tests scripts
	$(VENV)/bin/ruff check --fix hitl_active tests scripts

bench: setup
	$(VENV)/bin/python scripts/bench_prelabel.py
	$(VENV)/bin/python scripts/bench_sampling.py

clean:
	rm -rf $(VENV) $(TOOLS) .cache .pytest_cache .ruff_cache
