"""port_forward on the NAT lab: UPnP mapping, host firewall, DDNS, reachability from outside."""

from __future__ import annotations

import json
import os
import shlex

import pytest

from conftest import (REPO, changed_on_server, converge, curl, denied_login_address, doctor, exposure, fingerprint,
                      fingerprint_diff, flat, host_record_section, playbook, recap_changed, router_chain)

NAME = "jellyfin.ddns.lab.test"
SECRET = "Lab-DDNS-pw-4f9c2e7a1b"  # tests/lab/vars/services.yml


def resolve(internet, lab, name=NAME):
    """Ask the lab's DNS (the DDNS stand-in on wan_alt:53) from the internet host."""
    script = (
        "import dns.resolver,sys; r=dns.resolver.Resolver(configure=False); r.nameservers=[sys.argv[1]];"
        "print(' '.join(a.address for a in r.resolve(sys.argv[2], 'A')))"
    )
    out = internet.run("python3 -c %s %s %s" % (shlex.quote(script), lab["hosts"]["internet"]["addresses"]["wan_alt"], name))
    assert out.rc == 0, out.stderr
    return out.stdout.split()


@pytest.fixture(scope="module")
def public_base(internet, lab):
    addresses = resolve(internet, lab)
    assert len(addresses) == 1
    return "http://%s:8096" % addresses[0]


def test_ddns_name_resolves_to_the_router_wan(internet, lab):
    assert resolve(internet, lab) == [lab["hosts"]["router"]["addresses"]["wan"]]


def test_jellyfin_is_reachable_from_outside_by_the_ddns_name(internet, public_base):
    status, body = curl(internet, public_base + "/System/Info/Public")
    assert status == 200
    assert json.loads(body)["ProductName"] == "Jellyfin Server"


def test_jellyfin_sees_the_outside_client_address(internet, server, lab, public_base):
    assert denied_login_address(internet, server, public_base) == lab["hosts"]["internet"]["addresses"]["wan"]


def test_router_maps_the_port_to_the_server(lab):
    out = router_chain(lab)
    assert "dport 8096 dnat ip to %s:8096" % lab["hosts"]["server"]["addresses"]["lan"] in out, out


def test_firewall_table_opens_exactly_the_port(server):
    out = server.run("nft list table inet jellyfin_remote_port_forward")
    assert out.rc == 0, out.stderr
    rules = [line.strip() for line in out.stdout.splitlines() if "dport" in line]
    assert len(rules) == 1 and rules[0].startswith("tcp dport 8096 ") and "accept" in rules[0], rules
    assert server.service("jellyfin-remote-firewall.service").is_enabled


def test_renewal_timer_runs_without_ansible(server):
    assert server.service("jellyfin-remote-upnp-renew.timer").is_enabled
    assert server.service("jellyfin-remote-upnp-renew.timer").is_running
    out = server.run("systemctl start jellyfin-remote-upnp-renew.service && "
                     "journalctl -u jellyfin-remote-upnp-renew.service -o cat --no-pager")
    assert out.rc == 0, out.stderr
    assert "upnp-renew: renewed TCP 8096" in out.stdout, out.stdout


def test_ddclient_config_is_root_only(server):
    conf = server.file("/etc/ddclient.conf")
    assert (conf.user, conf.group, conf.mode) == ("root", "root", 0o600)
    assert "protocol=dyndns2" in conf.content_string and NAME in conf.content_string
    assert server.service("ddclient").is_enabled and server.service("ddclient").is_running


def test_ddclient_restores_the_record(server, internet, lab):
    wan = lab["hosts"]["internet"]["addresses"]["wan"]
    seed = json.dumps({"hostname": NAME, "provider": "dyndns2", "records": {"A": ["192.0.2.99"]}, "ttl": 60})
    curl(internet, "http://%s:8245/_standin/hosts" % wan, "-X", "POST", "--data", seed)
    assert resolve(internet, lab) == ["192.0.2.99"]
    out = server.run("ddclient -daemon=0 -force -noquiet -file /etc/ddclient.conf -cache /tmp/ddclient-verify.cache")
    assert out.rc == 0, out.stdout + out.stderr
    assert SECRET not in out.stdout + out.stderr
    assert resolve(internet, lab) == [lab["hosts"]["router"]["addresses"]["wan"]]


def test_no_secret_in_a_verbose_rerun(server):
    """Re-run the converge at -vvv: no change, and the DDNS password appears nowhere."""
    proc = converge(os.environ["MOLECULE_SCENARIO_DIRECTORY"], None, "-vvv", log="rerun-vvv.log")
    assert changed_on_server(proc) == 0
    output = proc.stdout + proc.stderr
    assert SECRET not in output
    assert "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER" in output  # the module's password option, masked


# ---------------------------------------------------------------- the doctor (read-only health check)
# The doctor run gets the scenario's settings as converge.yml has them (its vars_files).
LAB_VARS = ["-e", "@" + os.path.join(REPO, "tests", "lab", "vars", "services.yml"),
            "-e", "@" + os.path.join(REPO, "tests", "lab", "vars", "port_forward.yml"),
            "-e", "ddns_public_ip_options={{ lab_public_ip }}"]
DELETE_MAPPING = ("import miniupnpc; u = miniupnpc.UPnP(); u.discoverdelay = 2000; u.discover(); u.selectigd(); "
                  "u.deleteportmapping(8096, 'TCP')")


def test_doctor_says_all_ok(server, lab):
    proc, output = doctor(server, "doctor-ok.log", *LAB_VARS)
    text = flat(proc)
    assert proc.returncode == 0, output[-3000:]
    for line in ("OK router mapping tcp 8096 TCP 8096 -> %s:8096, lease" % lab["hosts"]["server"]["addresses"]["lan"],
                 "OK unit ddclient.service ddclient.service is active",
                 "OK unit jellyfin-remote-upnp-renew.timer", "OK unit jellyfin-remote-firewall.service",
                 "OK jellyfin health",
                 "OK ddns record %s A %s (the public address)" % (NAME, lab["hosts"]["router"]["addresses"]["wan"])):
        assert line in text, text[-3000:]
    assert ", 0 WARN, 0 FAIL; looked in" in text, text[-3000:]


def _set_record(internet, lab, address):
    body = json.dumps({"hostname": NAME, "provider": "dyndns2", "records": {"A": [address]}})
    status, out = curl(internet, "http://%s:8245/_standin/hosts" % lab["hosts"]["internet"]["addresses"]["wan"],
                       "-X", "POST", "-H", "Content-Type: application/json", "--data", body)
    assert status == 200, out


def test_doctor_reports_a_lost_mapping_a_stopped_ddclient_and_a_changed_record(server, internet, lab):
    """The router dropped the mapping (as after a reboot), ddclient stopped and the DNS record
    was changed at the provider: each its own FAIL line with what to do; nothing changes. Then
    the renewal unit puts the mapping back and the record is set again."""
    wan = lab["hosts"]["router"]["addresses"]["wan"]
    gone = server.run("python3 -c %s && systemctl stop ddclient" % shlex.quote(DELETE_MAPPING))
    assert gone.rc == 0, gone.stderr
    _set_record(internet, lab, "203.0.113.77")
    try:
        assert "dport 8096 " not in router_chain(lab)
        proc, output = doctor(server, "doctor-faults.log", *LAB_VARS)
        text = flat(proc)
        assert proc.returncode != 0
        assert "FAIL router mapping tcp 8096 the router has no mapping of TCP 8096" in text, text[-3000:]
        assert "-> systemctl start jellyfin-remote-upnp-renew.service adds it again" in text
        assert "FAIL unit ddclient.service ddclient.service is inactive" in text, text[-3000:]
        assert "FAIL ddns record %s A is 203.0.113.77, the public address is %s" % (NAME, wan) in text, text[-3000:]
        assert "3 FAIL and 0 WARN (doctor_fail_on: fail)" in text
        assert SECRET not in output  # the provider was asked with the password; it is never shown
    finally:
        _set_record(internet, lab, wan)
        server.run("systemctl start ddclient && systemctl start jellyfin-remote-upnp-renew.service")
    assert "dport 8096 " in router_chain(lab)
    assert doctor(server, "doctor-again.log", *LAB_VARS)[0].returncode == 0


def test_a_port_no_longer_planned_is_unmapped_on_the_router(lab):
    """Changed ports (as when the method changes): the old mapping is removed, not left to its lease."""
    extra = json.dumps({"port_forward_ports": [{"port": 8097, "internal_port": 8096, "protocol": "tcp",
                                               "description": "Jellyfin HTTP"}]})
    proc = playbook(os.path.join(os.environ["MOLECULE_SCENARIO_DIRECTORY"], "converge.yml"), "-e", extra,
                    log="ports-changed.log")
    assert proc.returncode == 0, proc.stdout[-3000:]
    out = router_chain(lab)
    server = lab["hosts"]["server"]["addresses"]["lan"]
    assert "dport 8097 dnat ip to %s:8096" % server in out, out
    assert "dport 8096 " not in out, out


@pytest.mark.parametrize("unit", ["jellyfin-remote-upnp-renew.service", "jellyfin-remote-firewall.service"])
def test_the_units_are_hardened(server, unit):
    """Both were 9.3 / 9.6 (UNSAFE) before; seccomp and capability limits, no mount namespaces."""
    assert exposure(server, unit) <= 4.0


def test_the_renewal_runs_as_its_own_user(server):
    user = server.user("jellyfin-remote-upnp")
    assert user.exists and user.shell == "/usr/sbin/nologin"
    out = server.run("systemctl show -p User --value jellyfin-remote-upnp-renew.service")
    assert out.stdout.strip() == "jellyfin-remote-upnp"


# Last: removal (port_forward_state absent) closes what the role opened; the lab's dyndns2
# record stays (dyndns2 has no delete), and the summary line says so.

KEPT_LINE = "DNS record %s left as it is at dyndns2 (ddns_delete_record_on_removal is false)" % NAME
NO_DELETE_LINE = ("DNS record %s left as it is: dyndns2 has no delete: its update protocol (/nic/update) can only "
                  "set addresses; remove the record in the provider's control panel" % NAME)


def standin_records(internet, lab):
    return json.loads(curl(internet, "http://%s:8245/_standin/records" % lab["hosts"]["internet"]["addresses"]["wan"])[1])


def test_removal_closes_the_ports_and_leaves_the_dyndns2_record(server, internet, lab):
    scenario = os.environ["MOLECULE_SCENARIO_DIRECTORY"]
    before = fingerprint(server)
    # --check, asking for the record's deletion: dyndns2 has none, so the line says why it stays.
    check = converge(scenario, {"port_forward_state": "absent", "ddns_delete_record_on_removal": True}, "--check",
                     log="absent-check.log")
    text = flat(check)
    assert check.returncode == 0, text[-3000:]
    assert "port_forward: closed on server (check mode: would close):" in text
    assert NO_DELETE_LINE in text, text[-3000:]
    assert fingerprint_diff(before, fingerprint(server)) == {}

    real = converge(scenario, {"port_forward_state": "absent"}, log="absent.log")
    text = flat(real)
    assert real.returncode == 0, text[-3000:]
    assert "port_forward: closed on server:" in text and KEPT_LINE in text, text[-3000:]
    assert "ddclient (stopped, disabled)" in text
    assert "dport 8096 " not in router_chain(lab)
    assert server.run("nft list table inet jellyfin_remote_port_forward").rc != 0
    assert server.run("systemctl cat jellyfin-remote-upnp-renew.timer").rc != 0
    assert not server.service("ddclient").is_running and not server.file("/etc/ddclient.conf").exists
    assert host_record_section(server, "ddns") is None
    # the record stays at the provider, as said
    assert resolve(internet, lab) == [lab["hosts"]["router"]["addresses"]["wan"]]

    again = converge(scenario, {"port_forward_state": "absent"}, log="absent-again.log")
    assert recap_changed(again.stdout) == 0
    assert KEPT_LINE not in flat(again)  # nothing of the collection's DDNS is left on the host to speak of


def test_removal_deletes_a_record_where_the_provider_can(server, internet, lab):
    """A second name at the stand-in's Cloudflare route: published, then a removal without the
    token stops before anything changes, naming it; then ddns_state absent with
    ddns_delete_record_on_removal deletes it. (Check mode of a deletion: the removal test above
    shows the role's, the module's unit tests the module's.)"""
    book = os.path.join(os.environ["MOLECULE_SCENARIO_DIRECTORY"], "ddns_cloudflare.yml")
    wan = lab["hosts"]["internet"]["addresses"]["wan"]
    name = "jellyfin2.cf.lab.test"
    curl(internet, "http://%s:8245/_standin/zones" % wan, "-X", "POST", "--data",
         json.dumps({"name": "cf.lab.test", "provider": "cloudflare"}))
    first = playbook(book, "-e", json.dumps({"lab_cloudflare_remove": True, "lab_cloudflare_removal_token": ""}),
                     log="cloudflare-no-token.log")
    text = flat(first)
    assert first.returncode != 0, text[-3000:]
    assert "ddns_delete_record_on_removal is true, but the record of %s cannot be removed without ddns_token" % name in text
    assert "Nothing was changed." in text
    # published by the first play, and still there: the removal stopped before anything changed
    assert standin_records(internet, lab)["hosts"][name]["records"]["A"] == [lab["hosts"]["router"]["addresses"]["wan"]]
    assert host_record_section(server, "ddns")["provider"] == "cloudflare"

    removal = playbook(book, "-e", json.dumps({"lab_cloudflare_publish": False, "lab_cloudflare_remove": True}),
                       log="cloudflare-absent.log")
    assert removal.returncode == 0, flat(removal)[-3000:]
    assert "DNS record %s (A) deleted at cloudflare" % name in flat(removal)
    assert standin_records(internet, lab)["hosts"][name]["records"]["A"] == []
    assert host_record_section(server, "ddns") is None
