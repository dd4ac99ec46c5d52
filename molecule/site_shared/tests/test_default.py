"""The site playbook with auto, checked as an owner would: from the internet host, on the
server, and by running it again with --check. Shared by the default (NAT lab, Debian 12) and
default_cgnat (CGNAT lab, Debian 13) scenarios; the lab's topology says what auto must have
chosen, its image which platform it runs on.
"""

from __future__ import annotations

import json
import os
import re
import time
import xml.etree.ElementTree as ET

import pytest
import testinfra

from conftest import (DOCTOR_TEXTFILE, REPO, changed_on_server, curl, denied_login_address, doctor, fingerprint,
                      fingerprint_diff, flat, host_state, interrupted_playbook, playbook, recap, router_mappings,
                      state_diff)

DOMAIN = "jellyfin.ddns.lab.test"
CONVERGE = os.path.join(REPO, "tests", "lab", "playbooks", "site.yml")
EPHEMERAL = os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY", "")


@pytest.fixture(scope="session")
def summary():
    with open(os.path.join(EPHEMERAL, "reports", "server-summary.json"), encoding="utf-8") as handle:
        return json.load(handle)


@pytest.fixture(scope="session")
def network_xml(server):
    root = ET.fromstring(server.file("/etc/jellyfin/network.xml").content_string)
    return {
        "known_proxies": [e.text for e in root.findall("KnownProxies/string")],
        "local_subnets": [e.text for e in root.findall("LocalNetworkSubnets/string")],
    }


def test_auto_chose_what_the_network_allows(summary, lab):
    expected = {"nat": "reverse_proxy", "cgnat": "tailscale"}[lab["topology"]]
    assert summary["method"] == expected
    # First of every method the preflight ranks (6 with vps_relay; the count is the advice's).
    assert re.match(r"%s is ranked 1 of [0-9]+ by the preflight" % expected, summary["why"][0]), summary["why"][0]


def test_every_lab_host_runs_the_scenarios_platform(lab):
    """default runs on Debian 12 (bookworm), default_cgnat on Debian 13 (trixie): LAB_IMAGE."""
    suite = lab["image"].rsplit(":", 1)[-1]
    for host, info in sorted(lab["hosts"].items()):
        release = testinfra.get_host("podman://%s" % info["container"]).file("/etc/os-release").content_string
        assert "VERSION_CODENAME=%s\n" % suite in release, (host, release)


def test_the_fresh_check_run_left_a_log_without_failures():
    with open(os.path.join(EPHEMERAL, "check_fresh.log"), encoding="utf-8") as handle:
        log = handle.read()
    counts = recap(log)
    assert counts["failed"] == 0 and counts["unreachable"] == 0, counts


def test_check_on_the_converged_server_reports_nothing_to_change():
    assert changed_on_server(playbook(CONVERGE, "--check", log="check-converged.log")) == 0


# NAT lab: the reverse proxy, reached through the router's forward of 443, by the DDNS name.

nat_only = pytest.mark.skipif("os.environ.get('MOLECULE_SCENARIO_NAME') != 'default'", reason="NAT lab only")
cgnat_only = pytest.mark.skipif("os.environ.get('MOLECULE_SCENARIO_NAME') != 'default_cgnat'", reason="CGNAT lab only")


@nat_only
def test_the_ddns_name_points_at_the_router(internet, lab):
    out = internet.run("python3 -c 'import json;print(json.load(open(\"/var/lib/ddns-standin/state.json\")))'")
    assert out.rc == 0, out.stderr
    assert lab["hosts"]["router"]["addresses"]["wan"] in out.stdout and DOMAIN in out.stdout


@nat_only
def test_https_from_the_internet_through_the_router(internet, lab, pebble_root):
    router = lab["hosts"]["router"]["addresses"]["wan"]
    status, body = curl(internet, "https://%s/System/Info/Public" % DOMAIN, "--cacert", pebble_root,
                        "--resolve", "%s:443:%s" % (DOMAIN, router))
    assert status == 200, body
    assert json.loads(body)["Id"]


@nat_only
def test_http_redirects_to_https(internet, lab):
    router = lab["hosts"]["router"]["addresses"]["wan"]
    out = internet.run("curl -sS -m 10 -o /dev/null -w '%%{http_code} %%{redirect_url}' --resolve %s:80:%s http://%s/"
                       % (DOMAIN, router, DOMAIN))
    assert out.rc == 0, out.stderr
    code, location = out.stdout.split(" ", 1)
    assert code in ("301", "308") and location.startswith("https://%s/" % DOMAIN)


@nat_only
def test_jellyfin_sees_the_outside_client(internet, server, lab, pebble_root):
    router = lab["hosts"]["router"]["addresses"]["wan"]
    internet.run("printf 'cacert = %s\\nresolve = %s:443:%s\\n' > /root/.curlrc" % (pebble_root, DOMAIN, router))
    try:
        seen = denied_login_address(internet, server, "https://%s" % DOMAIN)
    finally:
        internet.run("rm -f /root/.curlrc")
    assert seen == lab["hosts"]["internet"]["addresses"]["wan"]


@nat_only
def test_jellyfin_itself_is_not_forwarded(internet, lab):
    router = lab["hosts"]["router"]["addresses"]["wan"]
    out = internet.run("curl -sS -m 5 -o /dev/null http://%s:8096/health" % router)
    assert out.rc != 0


@nat_only
def test_nat_summary_and_jellyfin_settings(summary, network_xml):
    assert summary["urls"] == ["https://%s/" % DOMAIN]
    assert any("reachable from the internet" in w for w in summary["warnings"])
    assert "127.0.0.1" in network_xml["known_proxies"]
    assert network_xml["local_subnets"] == []


# The doctor run gets the owner's variables as the lab's site playbook loads them.
SITE_VARS = ("-e", "@" + os.path.join(REPO, "tests", "lab", "vars", "services.yml"),
             "-e", "@" + os.path.join(REPO, "tests", "lab", "vars", "site.yml"))
CADDY_CERTS = "/var/lib/caddy/.local/share/caddy/certificates"
# A certificate three days from its end, signed by a CA made for the purpose (as a proxy whose
# renewals failed for weeks would hold); the CA's key is thrown away.
SHORT_LIVED = (
    "set -e; d=$(mktemp -d); cd $d; "
    "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem -days 30 "
    "-subj /CN=lab-short-lived-ca 2>/dev/null; "
    "openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout leaf.key -out leaf.csr "
    "-subj /CN=%s 2>/dev/null; "
    "openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 3 -out leaf.pem 2>/dev/null; "
    "cat leaf.pem; cd /; rm -rf $d")


@nat_only
def test_doctor_finds_the_proxy_healthy_then_a_certificate_near_expiry(server, internet, lab, pebble_root):
    """Issue 26: after converge every check is OK (also in check mode), the internet host as the
    observer outside the home included (it resolves the name as the DDNS record says, and trusts
    the lab's ACME CA); Caddy's certificate swapped for one three days from its end is its own
    FAIL line; nothing changes either way."""
    router = lab["hosts"]["router"]["addresses"]["wan"]
    observer = ("-e", "doctor_observer=internet", "-e", "doctor_observer_ca_file=%s" % pebble_root)
    assert internet.run("cp /etc/hosts /root/hosts.saved && echo '%s %s' >> /etc/hosts" % (router, DOMAIN)).rc == 0
    try:
        runs = [doctor(server, log, *SITE_VARS, *observer, *args)
                for args, log in (((), "doctor-proxy.log"), (("--check",), "doctor-proxy-check.log"))]
    finally:
        internet.run("cat /root/hosts.saved > /etc/hosts")
    for proc, output in runs:
        text = flat(proc)
        assert proc.returncode == 0, output[-3000:]
        assert re.search(r"OK from outside \(internet\) https://%s/ answered 200 in [0-9.]+ s, from this Jellyfin; its "
                         r"certificate verifies there and expires in \d+\.\d days" % re.escape(DOMAIN), text), text[-3000:]
        assert "(reverse_proxy): OK (" in text and ", 0 WARN, 0 FAIL; looked in" in text, text[-3000:]
        for line in ("OK unit caddy.service caddy.service is active", "OK unit fail2ban.service",
                     "OK fail2ban jail jellyfin 0 addresses banned now", "OK jellyfin settings",
                     "OK router mapping tcp 443 TCP 443 -> %s:443" % lab["hosts"]["server"]["addresses"]["lan"],
                     "OK certificate %s.crt" % DOMAIN, "OK ddns record %s A %s (the public address)"
                     % (DOMAIN, lab["hosts"]["router"]["addresses"]["wan"])):
            assert line in text, (line, text[-3000:])
    assert server.service("jellyfin-remote-doctor.timer").is_running  # jellyfin_remote_doctor_timer: true
    crt = server.check_output("ls %s/*/%s/%s.crt" % (CADDY_CERTS, DOMAIN, DOMAIN)).strip()
    assert server.run("cp -p %s %s.saved && sh -c %s > %s" % (crt, crt, json.dumps(SHORT_LIVED % DOMAIN), crt)).rc == 0
    try:
        proc, output = doctor(server, "doctor-certificate.log", *SITE_VARS)
    finally:
        assert server.run("mv %s.saved %s" % (crt, crt)).rc == 0
    text = flat(proc)
    assert proc.returncode != 0
    assert re.search(r"FAIL certificate %s\.crt %s expires in [23]\.\d days" % (re.escape(DOMAIN), re.escape(crt)),
                     text), text[-3000:]
    assert "-> Renewals are failing" in text and "1 FAIL and 0 WARN (doctor_fail_on: fail)" in text, text[-3000:]


# CGNAT lab: Tailscale, nothing opened on the router.

@cgnat_only
def test_tailscale_is_up_and_serves_jellyfin(server):
    status = json.loads(server.check_output("tailscale status --json"))
    assert status["BackendState"] == "Running"
    serve = json.loads(server.check_output("tailscale serve status --json"))
    assert "127.0.0.1:8096" in json.dumps(serve)


@cgnat_only
def test_nothing_is_opened_for_the_outside(server, lab):
    tables = server.check_output("nft list tables")
    assert "jellyfin_remote" not in tables
    mapping = server.run("python3 -c 'import miniupnpc; u=miniupnpc.UPnP(); u.discoverdelay=2000; u.discover(); "
                         "u.selectigd(); print([u.getgenericportmapping(i) for i in range(3)])'")
    assert "8096" not in mapping.stdout and "443" not in mapping.stdout


@cgnat_only
def test_cgnat_summary_and_jellyfin_settings(summary, network_xml, lab, server):
    assert summary["urls"] and summary["urls"][0].startswith("https://jellyfin.")
    assert any("CGNAT" in line for line in summary["why"])
    assert "127.0.0.1" in network_xml["known_proxies"]
    # The owner's own tailnet nodes count as local (not the whole 100.64.0.0/10, which holds
    # nodes others share in), and the LAN stays local with them.
    assert "100.64.0.0/10" not in network_xml["local_subnets"]
    assert network_xml["local_subnets"][0] == lab["subnets"]["lan"]
    own = json.loads(server.check_output("tailscale status --json"))["Self"]["TailscaleIPs"]
    assert network_xml["local_subnets"][1:] == ["%s/%d" % (ip, 128 if ":" in ip else 32) for ip in own]


# Safe by default: the site playbook refuses an unsafe Jellyfin before it changes anything.

UNSAFE = (
    # the setup wizard not finished (Jellyfin keeps that in system.xml)
    "sed -i 's#<IsStartupWizardCompleted>true<#<IsStartupWizardCompleted>false<#' /etc/jellyfin/system.xml",
    # a release below the security floor
    "sed -i 's/^JELLYFIN_STANDIN_VERSION=.*/JELLYFIN_STANDIN_VERSION=10.11.9/' /etc/default/jellyfin",
    # "Allow remote connections to this server" off
    "sed -i 's#<EnableRemoteAccess>true<#<EnableRemoteAccess>false<#' /etc/jellyfin/network.xml",
)
SAVED = ("/etc/jellyfin/system.xml", "/etc/default/jellyfin", "/etc/jellyfin/network.xml")


def restart_jellyfin(server):
    server.run_expect([0], "systemctl restart jellyfin && for i in $(seq 100); do "
                           "curl -sf -o /dev/null http://127.0.0.1:8096/health && exit 0; sleep 0.2; done; exit 1")


@nat_only
def test_an_unsafe_jellyfin_is_refused_before_anything_changes(server, lab):
    for path in SAVED:
        server.run_expect([0], "cp -p %s %s.jfr-saved" % (path, path))
    try:
        for command in UNSAFE:
            server.run_expect([0], command)
        restart_jellyfin(server)
        info = json.loads(server.check_output("curl -sf http://127.0.0.1:8096/System/Info/Public"))
        assert info["StartupWizardCompleted"] is False and info["Version"] == "10.11.9"
        before = fingerprint(server)
        # A misspelt variable on top: warned about by name, with the nearest known one.
        proc = playbook(CONVERGE, "-e", "jellyfin_remote_methd=tailscale", log="unsafe.log")
        after = fingerprint(server)
    finally:
        for path in SAVED:
            server.run("mv -f %s.jfr-saved %s" % (path, path))
        restart_jellyfin(server)
    # Whitespace and the callback's quoting (YAML doubles an apostrophe) made plain.
    output = proc.stdout + proc.stderr  # ansible-core 2.19 writes task errors to stderr
    text = " ".join(output.replace("\\n", " ").split()).replace("''", "'")
    assert proc.returncode != 0, text[-3000:]
    for needle in ("jellyfin_remote_methd is not a variable of homelab.jellyfin_remote (did you mean "
                   "jellyfin_remote_method?)",
                   "startup wizard is not finished",
                   "anyone who reaches the server can create its first administrator",
                   "Jellyfin 10.11.9 is older than 10.11.10",
                   "set jellyfin_remote_accept_vulnerable: true to expose it anyway",
                   "EnableRemoteAccess is false",
                   "set jellyfin_remote_enable_remote_access: true",
                   "Nothing was changed."):
        assert needle in text, "%r not in the output: %s" % (needle, text[-4000:])
    assert fingerprint_diff(before, after) == {}



# Switching method closes the old doors, and removal returns the server to where it was:
# reverse_proxy (converge: 80/443 forwarded by UPnP, Caddy, fail2ban, DDNS) -> wireguard
# (51820/udp) -> port_forward (8096 in clear, acknowledged) -> tailscale (no port) -> wireguard
# again, interrupted half-way -> jellyfin_remote_state: absent. Last in this file, in this
# order: each step starts from the one before.

WIREGUARD = ("-e", "jellyfin_remote_method=wireguard")
# What the packages the roles installed made themselves, and may stay with them (removal keeps
# packages): caddy's postinst makes its account with a home (useradd's skeleton files), and
# Caddy saves its running configuration there when it starts.
PACKAGE_ARTEFACTS = {
    "caddy": ["caddy", "/var/lib/caddy/.bashrc", "/var/lib/caddy/.profile", "/var/lib/caddy/.bash_logout",
              "/var/lib/caddy/.config/caddy/autosave.json"],
}
# Kept on purpose: tailscaled's own state (a node keeps its machine key after logout, and the
# daemon rewrites the file on every login and logout), and the repository the tailscale role
# added, since the tailscale package and its daemon stay and must keep getting updates.
KEPT = ("/var/lib/tailscale/tailscaled.state", "/etc/apt/sources.list.d/tailscale.sources",
        "/usr/share/keyrings/tailscale-archive-keyring.gpg")
# Removal with every role's keys wiped too, so that nothing the collection made may remain.
WIPE_KEYS = ("-e", '{"jellyfin_remote_state": "absent", "reverse_proxy_wipe_keys": true, "wireguard_wipe_keys": true}')
TAILSCALE = ("-e", "jellyfin_remote_method=tailscale")
PORT_FORWARD = ("-e", '{"jellyfin_remote_method": "port_forward", "jellyfin_remote_accept_plain_http": true}')
RECORD = "/var/lib/jellyfin-remote/state.json"


def assert_unchanged_rerun(*args, log):
    again = playbook(CONVERGE, *args, log=log)
    assert changed_on_server(again) == 0, flat(again)[-3000:]


def saved_summary():
    with open(os.path.join(EPHEMERAL, "reports", "server-summary.json"), encoding="utf-8") as handle:
        return json.load(handle)


def known_proxies(server):
    root = ET.fromstring(server.file("/etc/jellyfin/network.xml").content_string)
    return [e.text for e in root.findall("KnownProxies/string")]


@nat_only
def test_switching_from_the_proxy_to_wireguard_closes_80_and_443(server, internet, lab):
    assert {m[0] for m in router_mappings(lab)} == {"80", "443"}
    assert known_proxies(server) == ["127.0.0.1"]
    before = fingerprint(server)
    check = playbook(CONVERGE, "--check", *WIREGUARD, log="switch-wireguard-check.log")
    text = flat(check)
    assert check.returncode == 0, text[-3000:]
    assert "Switching from reverse_proxy to wireguard: closing reverse_proxy; Jellyfin settings put back: " \
           "known_proxies" in text, text[-3000:]
    assert "reverse_proxy: closed on server (check mode: would close):" in text
    assert fingerprint_diff(before, fingerprint(server)) == {}
    assert {m[0] for m in router_mappings(lab)} == {"80", "443"}

    switch = playbook(CONVERGE, *WIREGUARD, log="switch-wireguard.log")
    text = flat(switch)
    assert switch.returncode == 0, text[-3000:]
    assert saved_summary()["method"] == "wireguard"
    assert "Closed, of what an earlier method opened:" in text
    assert {(m[0], m[2]) for m in router_mappings(lab)} == {("51820", "51820")}
    router = lab["hosts"]["router"]["addresses"]["wan"]
    for url in ("https://%s/" % router, "http://%s/" % router):
        assert internet.run("curl -sS -m 5 -k -o /dev/null %s" % url).rc != 0, url
    for port in (80, 443):
        assert not server.socket("tcp://0.0.0.0:%d" % port).is_listening, port
    assert not server.service("caddy").is_running and not server.service("caddy").is_enabled
    assert "jellyfin" not in server.run("fail2ban-client status").stdout
    assert known_proxies(server) == []
    assert server.run("wg show wg0").rc == 0
    assert_unchanged_rerun(*WIREGUARD, log="switch-wireguard-again.log")


def jellyfin_from_outside(internet, lab):
    """curl's exit code for Jellyfin's /health through the router's port 8096, from the internet."""
    router = lab["hosts"]["router"]["addresses"]["wan"]
    return internet.run("curl -sf -m 5 -o /dev/null http://%s:8096/health" % router).rc


@nat_only
def test_switching_from_wireguard_to_port_forward_closes_the_tunnel_and_opens_8096(server, internet, lab):
    assert jellyfin_from_outside(internet, lab) != 0
    switch = playbook(CONVERGE, *PORT_FORWARD, log="switch-port-forward.log")
    text = flat(switch)
    assert switch.returncode == 0, text[-3000:]
    assert saved_summary()["method"] == "port_forward"
    assert "over PLAIN HTTP" in text, text[-3000:]
    assert "wireguard: closed on server" in text and "interface wg0" in text, text[-3000:]
    assert {(m[0], m[2]) for m in router_mappings(lab)} == {("8096", "8096")}
    assert jellyfin_from_outside(internet, lab) == 0
    assert server.run("nft list table inet jellyfin_remote_wireguard").rc != 0
    assert server.run("ip link show wg0").rc != 0
    assert server.service("ddclient").is_running
    assert_unchanged_rerun(*PORT_FORWARD, log="switch-port-forward-again.log")


@nat_only
def test_switching_to_tailscale_closes_what_the_port_forward_opened(server, internet, lab):
    assert {m[0] for m in router_mappings(lab)} == {"8096"}
    switch = playbook(CONVERGE, *TAILSCALE, log="switch-tailscale.log")
    text = flat(switch)
    assert switch.returncode == 0, text[-3000:]
    assert saved_summary()["method"] == "tailscale"
    assert "Closed, of what an earlier method opened:" in text
    assert "- router mapping of port 8096" in text and "- ddclient (stopped, disabled)" in text
    # The record stays unless removal was asked to delete it (dyndns2 could not anyway).
    assert "- DNS record %s left as it is at dyndns2 (ddns_delete_record_on_removal is false)" % DOMAIN in text
    assert router_mappings(lab) == []
    assert jellyfin_from_outside(internet, lab) != 0
    assert server.run("systemctl cat jellyfin-remote-upnp-renew.timer").rc != 0
    assert server.run("nft list table inet jellyfin_remote_port_forward").rc != 0
    assert not server.service("ddclient").is_running and not server.service("ddclient").is_enabled
    assert not server.file("/etc/ddclient.conf").exists  # it held the DDNS password
    serve = json.loads(server.check_output("tailscale serve status --json"))
    assert "127.0.0.1:8096" in json.dumps(serve)
    assert_unchanged_rerun(*TAILSCALE, log="switch-tailscale-again.log")


@nat_only
def test_doctor_names_a_tailnet_node_that_was_logged_out(server):
    """Issue 26: tailscale's step is OK; the node logged out of the tailnet is a FAIL line, in
    check mode too; the site playbook logs it in again."""
    proc, output = doctor(server, "doctor-tailscale.log", *SITE_VARS)
    text = flat(proc)
    assert proc.returncode == 0, output[-3000:]
    assert "OK tailscale the node is logged in and running; Serve publishes https://" in text, text[-3000:]
    assert "OK unit tailscaled.service" in text and ", 0 FAIL; looked in" in text, text[-3000:]
    assert server.run("tailscale logout").rc == 0
    proc, output = doctor(server, "doctor-tailscale-logged-out.log", *SITE_VARS, "--check")
    text = flat(proc)
    assert proc.returncode != 0
    assert "FAIL tailscale BackendState is NeedsLogin: the tailnet cannot reach Jellyfin" in text, text[-3000:]
    assert "1 FAIL and 0 WARN (doctor_fail_on: fail)" in text, text[-3000:]
    login = playbook(CONVERGE, *TAILSCALE, log="tailscale-login-again.log")
    assert login.returncode == 0, flat(login)[-3000:]
    assert json.loads(server.check_output("tailscale status --json"))["BackendState"] == "Running"


@nat_only
def test_an_interrupted_switch_leaves_a_record_of_both_methods(server, lab):
    """A switch to wireguard killed once wg0 is up (tailscale already closed, the record not
    yet final): the host record names both methods, so removal (next test) finds all of it."""
    def wireguard_is_up():
        return server.run("ip link show wg0").rc == 0

    text = interrupted_playbook(CONVERGE, *WIREGUARD, until=wireguard_is_up, log="switch-wireguard-interrupted.log")
    assert "tailscale: closed on server" in text and "tailnet login of this node (logged out)" in text, text[-3000:]
    # A module the kill cut off from the controller may still run in the container: let it end.
    for _ in range(60):
        if server.run("pgrep -f AnsiballZ").rc != 0:
            break
        time.sleep(0.5)
    site = json.loads(server.check_output("cat %s" % RECORD))["sections"]["site"]
    assert site["method"] == "wireguard" and {"tailscale", "wireguard"} <= set(site["roles"]), site
    assert site["ports"] == [], site  # still tailscale's: the final record (51820/udp) is written last


@nat_only
def test_removal_returns_the_server_to_where_it_was(server, lab):
    with open(os.path.join(EPHEMERAL, "pre-converge-server.json"), encoding="utf-8") as handle:
        before = json.load(handle)
    removal = playbook(CONVERGE, *WIPE_KEYS, log="absent.log")
    text = flat(removal)
    assert removal.returncode == 0, text[-3000:]
    assert "Removing everything homelab.jellyfin_remote set up" in text
    assert "wireguard: closed on server" in text and "interface wg0" in text, text[-3000:]
    assert router_mappings(lab) == []
    now = host_state(server)
    for picture in (before["state"], now):
        # The doctor runs' textfile is the tests' own output (doctor_textfile_path on their
        # command line), not something the site set up.
        for path in KEPT + (DOCTOR_TEXTFILE,):
            picture["files"].pop(path, None)
    diff = state_diff(before["state"], now, PACKAGE_ARTEFACTS)
    assert diff == {}, json.dumps(diff, indent=1)
    assert server.file("/etc/jellyfin/network.xml").content_string == before["network_xml"]
    assert not server.file("/var/lib/jellyfin-remote/state.json").exists
    assert not os.path.exists(os.path.join(EPHEMERAL, "reports", "server-summary.json"))
    assert_unchanged_rerun(*WIPE_KEYS, log="absent-again.log")
