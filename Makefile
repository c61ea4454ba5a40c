# Entry points for people and CI. A fresh clone needs nothing but python3 (>= 3.11) and make:
# everything else (the venv, Python packages, the system packages the tests use) comes from here.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Debian packages the tests use: a browser for the page tests, a real PostgreSQL server, a
# real Redis server (relay nodes and several signaling processes), CJK glyphs so screenshots
# of the Chinese UI show text instead of boxes, ffprobe (ffmpeg) to check that converted
# recordings play outside PyAV too, coturn, the TURN server calls go through with
# relay-only ICE (configured by docs/coturn/turnserver.conf), and iptables, whose statistic
# match makes packet loss on loopback for the relay's RTCP tests (the kernel has no netem).
TEST_SYSTEM_PACKAGES := chromium postgresql redis-server fonts-noto-cjk ffmpeg coturn iptables
# Extra arguments, e.g. make run SERVE_ARGS="--port 9000", make test PYTEST_ARGS="-k chat".
SERVE_ARGS ?=
PYTEST_ARGS ?=

.PHONY: help run test lint lock system-packages clean

help:
	@echo "make run    serve at http://127.0.0.1:8080 (SQLite under ./data; installs on first use)"
	@echo "make test   system packages, then ruff, mypy --strict and pytest"
	@echo "make lint   ruff and mypy only"
	@echo "make lock   re-resolve the newest allowed versions into constraints.txt"
	@echo "make clean  remove the venv and caches (keeps ./data)"

# The venv is created once; a missing ensurepip (Debian's python3-venv) is installed when root.
$(BIN)/python:
	@command -v $(PYTHON) >/dev/null || tools/system-packages.sh python3 python3-venv
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "$(PYTHON) is $$($(PYTHON) --version 2>&1); LiveAssist needs 3.11 or newer" \
		  "(make PYTHON=python3.12 ...)" >&2; exit 1; }
	@echo "==> creating $(VENV) with $$($(PYTHON) --version)"
	@$(PYTHON) -m venv $(VENV) >/dev/null 2>&1 || \
		{ rm -rf $(VENV); tools/system-packages.sh python3-venv; $(PYTHON) -m venv $(VENV); }

# Stamps: reinstall only when the declared dependencies or the lock change.
$(VENV)/.installed-run: pyproject.toml constraints.txt | $(BIN)/python
	@echo "==> installing liveassist (pinned by constraints.txt)"
	@$(BIN)/pip install -q -c constraints.txt -e .
	@touch $@

$(VENV)/.installed-test: pyproject.toml constraints.txt | $(BIN)/python
	@echo "==> installing liveassist[test] (pinned by constraints.txt)"
	@$(BIN)/pip install -q -c constraints.txt -e '.[test]'
	@touch $@

run: $(VENV)/.installed-run
	@$(BIN)/liveassist serve $(SERVE_ARGS)

system-packages:
	@tools/system-packages.sh $(TEST_SYSTEM_PACKAGES)

lint: $(VENV)/.installed-test
	@echo "==> ruff check"
	@$(BIN)/ruff check --quiet .
	@echo "==> mypy (strict)"
	@$(BIN)/mypy

test: system-packages lint
	@echo "==> pytest"
	@$(BIN)/pytest $(PYTEST_ARGS)

# Resolve in a throw-away venv so nothing already installed leaks into the lock.
lock: | $(BIN)/python
	@echo "==> resolving .[test] in a clean venv"
	@tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	$(PYTHON) -m venv "$$tmp/venv"; \
	"$$tmp/venv/bin/pip" install -q -e '.[test]'; \
	{ echo "# Exact versions CI tested; regenerate with 'make lock', never edit by hand."; \
	  echo "# Used as pip -c constraints.txt, so it pins without adding requirements."; \
	  "$$tmp/venv/bin/pip" freeze --exclude-editable; } > constraints.txt.new; \
	mv constraints.txt.new constraints.txt
	@echo "==> wrote constraints.txt ($$(grep -c '==' constraints.txt) pins)"

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache liveassist.egg-info

# What the benchmarks need beyond `make test`: Janus (the C baseline) and iproute2 (the veth
# pair Janus gathers ICE candidates on, benchmarks/call_compare.py), iptables and
# libnetfilter-queue-dev (loss and delay in benchmarks/bad_network.py's namespaces; the latter
# to build the `netfilterqueue` binding), and the `bench` extra (plots, that binding).
.PHONY: bench-deps
bench-deps: | $(BIN)/python
	@tools/system-packages.sh janus iproute2 iptables libnetfilter-queue-dev
	@$(BIN)/pip install -q -c constraints.txt -e '.[bench]'
