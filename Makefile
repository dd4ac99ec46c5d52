# Two commands for a fresh Debian 12 machine, as root:
#   make demo   the main job against the built-in lab
#   make test   every test
# Both install what they need: Debian packages, a virtual environment, the lab image.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV      ?= .venv
PY        := $(CURDIR)/$(VENV)/bin/python
# The lab images: bookworm for every scenario, trixie for default_cgnat and units-trixie.
LAB_SUITES ?= bookworm trixie
SCENARIOS ?= $(notdir $(patsubst %/molecule.yml,%,$(wildcard molecule/*/molecule.yml)))

export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
export CONTAINERS_CONF := $(CURDIR)/tests/lab/containers.conf
export ANSIBLE_COLLECTIONS_PATH := $(CURDIR)/.cache/collections
export ANSIBLE_PYTHON_INTERPRETER := auto_silent

.PHONY: help deps venv collection image units units-trixie lint sanity docs packaging ee changelog fuzz molecule bench test demo demo-down clean

help:
	@echo "make demo       bring up the lab and run the main job in it (make demo-down removes it)"
	@echo "make test       every test: units, lint, Molecule scenarios ($(SCENARIOS))"
	@echo "make units | units-trixie | lint | sanity | docs | packaging | ee | changelog | fuzz | molecule [SCENARIOS=name]"
	@echo "make bench      benchmarks (figures and ratios; not part of make test)"

deps:
	@bash tests/install-deps.sh

$(VENV)/.installed: tests/requirements.txt
	/usr/bin/python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --disable-pip-version-check -r tests/requirements.txt
	touch $@

venv: deps $(VENV)/.installed

# Ansible finds the collection under .cache/collections/ansible_collections/homelab/, and
# the lab's test-only connection (tests/lab/collection: podman with pipelining) beside it.
collection:
	@mkdir -p .cache/collections/ansible_collections/homelab .cache/collections/ansible_collections/jellyfin_remote_lab
	@ln -sfn $(CURDIR) .cache/collections/ansible_collections/homelab/jellyfin_remote
	@ln -sfn $(CURDIR)/tests/lab/collection .cache/collections/ansible_collections/jellyfin_remote_lab/podman

image: deps
	@set -e; for suite in $(LAB_SUITES); do bash tests/lab/image.sh $$suite; done

units: venv collection
	$(PY) -m pytest -q tests/unit --ignore=tests/unit/fuzz

# The unit tests on the second platform: Debian 13 (trixie), its Python 3.13, in a throwaway
# container from the lab's trixie image.
units-trixie: deps image
	bash tests/gates/units_trixie.sh

# Quality gates (each also has a test in tests/unit/gates that feeds it a broken input).
sanity: venv
	bash tests/gates/sanity.sh

docs: venv collection
	bash tests/gates/docs.sh

packaging: venv
	bash tests/gates/packaging.sh

ee: venv
	$(PY) tests/gates/ee_check.py

changelog: venv
	bash tests/gates/changelog.sh

fuzz: venv collection
	$(PY) -m pytest -q tests/unit/fuzz

# Benchmarks print figures and ratios; they are not tests and not part of `make test`.
bench: venv collection image
	$(PY) benchmarks/public_ip_race.py
	$(PY) benchmarks/ddns_requests.py
	$(PY) benchmarks/wireguard_bench.py
	$(PY) benchmarks/vpn_bench.py
	$(PY) benchmarks/reverse_proxy_bench.py
	$(PY) benchmarks/site_bench.py

lint: venv collection
	ansible-lint

# Two scenarios at a time (MOLECULE_JOBS), the longest first (by the last full run's times;
# .cache/logs/times.tsv), so that both slots end about together; scenarios not named here last.
MOLECULE_ORDER ?= default vps_relay jellyfin_https openvpn default_cgnat port_forward port_forward_cgnat \
	reverse_proxy_nginx wireguard tailscale jellyfin_network reverse_proxy_caddy cloudflare_tunnel port_forward_public
molecule: venv collection image
	@bash tests/gates/molecule_all.sh $(foreach s,$(MOLECULE_ORDER),$(filter $(s),$(SCENARIOS))) \
		$(filter-out $(MOLECULE_ORDER),$(SCENARIOS))

test: venv collection image
	@bash tests/run-gates.sh

# The demo and the benchmarks run on bookworm only: they need no trixie image.
demo bench: LAB_SUITES := bookworm

demo: venv collection image
	bash tests/lab/demo.sh

demo-down:
	$(PY) tests/lab/lab.py down --lab demo

clean: demo-down
	rm -rf $(VENV) .cache
