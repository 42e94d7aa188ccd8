# 不良事件预警平台 — the two set-up commands are `make run` and `make test`.
VENV     ?= .venv
PY       := $(VENV)/bin/python
AEW      := $(VENV)/bin/aew
STAMP    := $(VENV)/.installed
HOST     ?= 127.0.0.1
PORT     ?= 8000
PYTHON   ?= python3
CORPUS   ?= ../shared/data/chineseblue-cehrner
export HF_HUB_OFFLINE = 1
export TOKENIZERS_PARALLELISM = false

.PHONY: install run test test-pg bench chromium clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# the CPU build of torch first: a plain `torch` requirement would pull gigabytes of CUDA
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

run: install
	mkdir -p var
	$(AEW) db upgrade
	$(AEW) demo load
	$(AEW) serve --host $(HOST) --port $(PORT)

# Debian's Chromium for the browser tests, and a CJK font so pages (and screenshots) show Chinese
chromium:
	@{ command -v chromium >/dev/null 2>&1 && fc-list 2>/dev/null | grep -qi -e wqy -e "noto.*cjk"; } || \
	  { echo "installing Debian chromium and a Chinese font for the browser tests"; \
	    SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	    $$SUDO apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium fonts-wqy-microhei fontconfig; }

# The whole suite on SQLite; when AEW_TEST_DATABASE_URL names a PostgreSQL database, the database-backed
# suites run again on it.
test: install chromium
	$(PY) -m pytest -q -p no:cacheprovider
	@if [ -n "$$AEW_TEST_DATABASE_URL" ]; then \
	  echo "== again on PostgreSQL: $$AEW_TEST_DATABASE_URL"; \
	  $(PY) -m pytest -q -p no:cacheprovider -m "not sqlite_only" $$(ls -d tests/api tests/web tests/notifications tests/dingtalk 2>/dev/null); \
	fi

test-pg: install
	AEW_TEST_DATABASE_URL=$${AEW_TEST_DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/test} \
	  $(PY) -m pytest -q -p no:cacheprovider $$(ls -d tests/api tests/web tests/notifications tests/dingtalk 2>/dev/null)

bench: install
	@for b in bench/bench_*.py; do echo "== $$b"; $(PY) $$b --corpus $(CORPUS) || exit 1; done

clean:
	rm -rf $(VENV) var .pytest_cache
