"""The preflight's probe tasks (roles/preflight/tasks/probe.yml) run by ansible-playbook on
localhost where they decide without the router: check mode and a CGNAT line skip the probe with a
line saying so and keep the owner's blocked ports; nothing is started, nothing is sent."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

COLLECTIONS = os.environ["JFR_COLLECTIONS_ROOT"]  # set by tests/unit/conftest.py
NAT = {"ipv4": "81.2.69.160", "classification": "nat", "port_forwarding_possible": True, "wan_source_used": "upnp"}
CGNAT = dict(NAT, classification="cgnat", port_forwarding_possible=False)


def run_probe_tasks(tmp_path, public_ip, *args):
    play = [{"hosts": "localhost", "gather_facts": False, "tasks": [
        {"name": "Probe", "ansible.builtin.include_role": {"name": "homelab.jellyfin_remote.preflight",
                                                            "tasks_from": "probe"}},
        {"name": "Show", "ansible.builtin.debug": {"msg": "VERDICT {{ __preflight_port_probe | to_json }}"}},
    ]}]
    book = tmp_path / "play.yml"
    book.write_text(json.dumps(play))
    extra = {"preflight_probe_host": "localhost", "preflight_public_ip_result": public_ip,
             "preflight_blocked_ports": [8096]}
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", "localhost,",
                           "-c", "local", str(book), "-e", json.dumps(extra)] + list(args),
                          capture_output=True, text=True, check=False,
                          env=dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_HOME=str(tmp_path),
                                   ANSIBLE_NOCOLOR="1", ANSIBLE_STDOUT_CALLBACK="default"))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    line = next(text for text in proc.stdout.splitlines() if "VERDICT " in text)
    return proc.stdout, json.loads(line.split("VERDICT ", 1)[1].rstrip('"').replace('\\"', '"'))


@pytest.mark.parametrize("public_ip, args, why", [
    (NAT, ["--check"], "check mode: the probe adds temporary mappings on the router"),
    (CGNAT, [], "port forwarding is not possible here (cgnat)"),
])
def test_a_skipped_probe_says_why_and_keeps_the_owners_ports(tmp_path, public_ip, args, why):
    out, verdict = run_probe_tasks(tmp_path, public_ip, *args)
    assert verdict["measured"] is False and verdict["blocked_ports"] == [8096] and verdict["skipped"] == why
    assert "Ports: not measured (%s); blocked ports are the owner's: 8096" % why in out
    for task in ("Open the listeners and temporary router mappings at home", "Connect to each port from the probe host"):
        assert out.split(task, 1)[1].split("\n")[1] == "skipping: [localhost]", task
    assert "changed=0" in out
