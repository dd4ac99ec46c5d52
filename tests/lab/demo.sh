#!/usr/bin/env bash
# `make demo`: bring up the lab (server, router, internet), install the stand-in Jellyfin,
# run the collection's play against the server, then show what the outside sees.
# The lab stays up for you to look around (tests/lab/lab.py exec --lab demo HOST -- CMD);
# `make demo-down` removes it.
set -euo pipefail
cd "$(dirname "$0")/../.."
lab=demo
inventory=.cache/lab/$lab.inventory.yml
mkdir -p .cache/lab
python3 tests/lab/lab.py up --lab "$lab" --topology flat --inventory "$inventory"
ansible-playbook -i "$inventory" tests/lab/playbooks/prepare.yml
ansible-playbook -i "$inventory" tests/lab/playbooks/demo.yml
echo
echo "== From the internet host: GET http://server:8096/System/Info/Public"
python3 tests/lab/lab.py exec --lab "$lab" internet -- \
  sh -c 'curl -sS -m 10 http://server:8096/System/Info/Public | python3 -m json.tool'
echo
echo "== network.xml on the server"
python3 tests/lab/lab.py exec --lab "$lab" server -- cat /etc/jellyfin/network.xml
