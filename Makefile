# Ciclo — build, demo and test entry points.
#
#   make venv   Python virtualenv in .venv with the pinned host (requirements.txt)
#               and Ciclo installed editable; re-runs pip only when
#               requirements.txt or pyproject.toml change.
#   make sao    Tryton web client (tryton-sao 8.0.x from npm) unpacked in .sao/
#   make test   whole test suite on a throwaway PostgreSQL (scripts/test.sh)
#               extra pytest arguments: make test ARGS='-k boleto -x'
#   make demo   demo database + web client on http://127.0.0.1:8000 (scripts/demo.sh)
#               PostgreSQL instead of SQLite: make demo CICLO_DB=postgresql
#
# Works on a fresh Debian 12 as root: missing Debian packages (python3-venv,
# nodejs, npm, postgresql) are installed with apt-get when needed.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

ROOT := $(patsubst %/,%,$(dir $(abspath $(lastword $(MAKEFILE_LIST)))))
VENV := $(ROOT)/.venv
VENV_STAMP := $(VENV)/.ciclo-installed
SAO_DIR := $(ROOT)/.sao
# npm version range of the web client; must stay on the host's series (8.0).
SAO_VERSION ?= 8.0
SAO_STAMP := $(SAO_DIR)/.ciclo-sao-$(SAO_VERSION)
ARGS ?=

# Runs apt-get (through sudo when not root) for the packages given as arguments.
define APT_INSTALL
apt_install() { \
  local sudo=""; \
  if [ "$$(id -u)" != 0 ]; then \
    if command -v sudo >/dev/null; then sudo="sudo"; \
    else echo "ERROR: need root (or sudo) to apt-get install $$*" >&2; exit 1; fi; \
  fi; \
  echo ">> apt-get install $$*" >&2; \
  $$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq; \
  $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$$@"; \
}
endef

.PHONY: help venv sao test demo pg-start pg-stop clean-var

help:
	@sed -n '2,12p' $(ROOT)/Makefile | sed 's/^# \{0,1\}//'

venv: $(VENV_STAMP)

$(VENV_STAMP): $(ROOT)/requirements.txt $(ROOT)/pyproject.toml
	@$(APT_INSTALL); \
	py=""; \
	for c in python3.11 python3; do \
	  if command -v $$c >/dev/null && $$c -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then py=$$c; break; fi; \
	done; \
	if [ -z "$$py" ]; then \
	  apt_install python3 python3-venv; py=python3; \
	fi; \
	if [ ! -x "$(VENV)/bin/python" ] || ! "$(VENV)/bin/python" -m pip --version >/dev/null 2>&1; then \
	  rm -rf "$(VENV)"; \
	  echo ">> creating $(VENV) with $$py ($$($$py --version))"; \
	  if ! $$py -m venv "$(VENV)" >/dev/null 2>&1; then \
	    rm -rf "$(VENV)"; \
	    apt_install python3-venv; \
	    $$py -m venv "$(VENV)"; \
	  fi; \
	fi; \
	"$(VENV)/bin/python" -m pip install --quiet -r "$(ROOT)/requirements.txt"; \
	"$(VENV)/bin/python" -m pip install --quiet -e "$(ROOT)"; \
	"$(VENV)/bin/python" -c 'import trytond, psycopg, pytest; from importlib.metadata import entry_points; \
mods = sorted(e.name for e in entry_points(group="trytond.modules") if e.dist.name == "ciclo"); \
print(">> venv ready: trytond", trytond.__version__, "| Ciclo modules:", " ".join(mods))'; \
	touch "$@"

sao: $(SAO_STAMP)

# DESIGN.md §1: `npm install tryton-sao` hoists the dependencies out of the
# package folder and breaks index.html's relative paths (node_modules/...).
# So: `npm pack` the package, unpack it into its own folder and install its
# runtime dependencies inside that folder. --legacy-peer-deps: npm resolves the
# devDependencies' peers even with --omit=dev, and grunt-po2json's peer
# (grunt ~0.4) conflicts with sao's own grunt ^1.6. custom.js/custom.css are
# sao's optional site hooks, loaded by index.html; empty ones avoid two 404s.
$(SAO_STAMP):
	@$(APT_INSTALL); \
	if ! command -v npm >/dev/null; then apt_install nodejs npm; fi; \
	build="$(ROOT)/var/sao-build"; rm -rf "$$build"; mkdir -p "$$build/package"; \
	cd "$$build"; \
	tgz=$$(npm pack --silent "tryton-sao@$(SAO_VERSION)" | tail -n 1); \
	echo ">> unpacking $$tgz"; \
	tar -xzf "$$tgz" -C package --strip-components=1; \
	cd package; \
	npm install --omit=dev --legacy-peer-deps --no-audit --no-fund --no-package-lock --loglevel=error; \
	test -f index.html && test -f dist/tryton-sao.js; \
	touch custom.js custom.css; \
	rm -rf "$(SAO_DIR)"; mv "$$build/package" "$(SAO_DIR)"; rm -rf "$$build"; \
	touch "$@"; \
	echo ">> web client $$(sed -n 's/.*"version": *"\(.*\)".*/\1/p' "$(SAO_DIR)/package.json") in $(SAO_DIR)"

test: venv
	@"$(ROOT)/scripts/test.sh" $(ARGS)

demo: venv sao
	@"$(ROOT)/scripts/demo.sh" $(ARGS)

pg-start:
	@"$(ROOT)/scripts/pg.sh" start

pg-stop:
	@"$(ROOT)/scripts/pg.sh" stop

# Stops the test PostgreSQL and removes generated state (databases, caches).
clean-var: pg-stop
	rm -rf "$(ROOT)/var"
