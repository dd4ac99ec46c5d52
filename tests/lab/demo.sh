#!/usr/bin/env bash
# `make demo`: bring up a NAT lab (server with the stand-in Jellyfin, a home router with
# UPnP, the internet host with the stand-in DDNS provider and pebble as ACME server), run the
# collection's site playbook with auto, then show what the outside sees: the summary and
# https://<the DDNS name>/System/Info/Public fetched from the internet host through the
# router's port forward and the reverse proxy.
# The lab stays up for you to look around (tests/lab/lab.py exec --lab demo HOST -- CMD);
# `make demo-down` removes it.
set -euo pipefail
cd "$(dirname "$0")/../.."
lab=demo
inventory=.cache/lab/$lab.inventory.yml
domain=jellyfin.ddns.lab.test
mkdir -p .cache/lab
python3 tests/lab/lab.py up --lab "$lab" --topology nat --inventory "$inventory"
ansible-playbook -i "$inventory" -e @tests/lab/vars/demo.yml tests/lab/playbooks/site_prepare.yml
ansible-playbook -i "$inventory" -e @tests/lab/vars/demo.yml tests/lab/playbooks/site.yml
echo
echo "== The summary (.cache/lab/demo-reports/server-summary.json)"
python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); print("method:", s["method"]); [print("open:", u) for u in s["urls"]]; [print("warning:", w) for w in s["warnings"]]; [print("why:", w) for w in s["why"]]' \
  .cache/lab/demo-reports/server-summary.json
echo
echo "== From the internet host: GET https://$domain/System/Info/Public (certificate from the lab's pebble)"
python3 tests/lab/lab.py exec --lab "$lab" internet -- sh -c \
  "curl -sSf --cacert /etc/pebble/ca.pem -o /tmp/pebble-root.pem https://localhost:15000/roots/0 &&
   curl -sS -m 10 --cacert /tmp/pebble-root.pem https://$domain/System/Info/Public | python3 -m json.tool"
