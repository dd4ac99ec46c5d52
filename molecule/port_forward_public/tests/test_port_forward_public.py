"""port_forward on a host with a public address: from the internet only the planned ports answer."""

from __future__ import annotations

import os
import re

import pytest

from conftest import curl, listener, playbook

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def reaches(internet, address, port):
    """True when a TCP connection from the internet host to address:port is accepted."""
    out = internet.run("timeout 4 bash -c 'exec 3<>/dev/tcp/%s/%d' 2>/dev/null" % (address, port))
    return out.rc == 0


@pytest.fixture(scope="module")
def listeners(server):
    """A stand-in SSH port (22) and a service the owner never meant to publish (9999)."""
    with listener(server, 22, 9999):
        yield


def test_the_host_holds_the_public_address_and_drops_the_rest(server, lab):
    ruleset = server.run("nft list table inet jellyfin_remote_port_forward").stdout
    iface = server.run("ip -o -4 addr show | awk '$4 ~ /^%s\\// {print $2}'" % lab["hosts"]["server"]["addresses"]["lan"]).stdout.strip()
    assert iface
    assert 'iifname "%s" counter' % iface in ruleset and "drop comment" in ruleset
    assert re.search(r'iifname "%s" tcp dport 22 accept comment "kept open: SSH"' % iface, ruleset)


def test_from_the_internet_only_the_planned_ports_answer(internet, lab, listeners):
    address = lab["hosts"]["server"]["addresses"]["lan"]
    assert reaches(internet, address, 8096)
    assert reaches(internet, address, 22)  # port_forward_wan_keep_ports
    assert not reaches(internet, address, 9999)
    status, _ = curl(internet, "http://%s:8096/health" % address)
    assert status == 200


def test_the_lan_side_is_not_restricted(server, listeners):
    # Only the interface that faces the internet drops: the host itself still reaches 9999.
    assert server.run("timeout 4 bash -c 'exec 3<>/dev/tcp/127.0.0.1/9999'").rc == 0


def test_the_summary_says_what_the_outside_saw():
    proc = playbook(os.path.join(HERE, "converge.yml"), log="rerun.log")
    assert proc.returncode == 0, proc.stdout[-3000:]
    text = " ".join(proc.stdout.split())
    assert "tcp/8096: open" in text
    assert "Seen from internet: 8096/tcp answers" in text
    assert "everything else from" in text and "is dropped, except 22" in text


def test_a_drop_policy_elsewhere_is_reported_as_blocking(server):
    server.run_expect([0], "nft -f - <<'EOF'\ntable inet jfr_owner_fw {\n chain input {\n"
                           "  type filter hook input priority 0; policy drop;\n"
                           "  ct state established,related accept\n  iifname lo accept\n  tcp dport { 22, 2222 } accept\n"
                           " }\n}\nEOF")
    try:
        proc = playbook(os.path.join(HERE, "converge.yml"), log="blocked.log")
    finally:
        server.run("nft delete table inet jfr_owner_fw")
    assert proc.returncode == 0, proc.stdout[-3000:]
    text = " ".join(proc.stdout.split())
    assert "tcp/8096: blocked by inet jfr_owner_fw input" in text
    # The probe from outside saw it too.
    assert re.search(r"Seen from internet: 8096/tcp does not answer", text), text[-3000:]
