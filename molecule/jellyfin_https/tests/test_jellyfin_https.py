"""Port forwarding with Jellyfin's own HTTPS, checked from the internet host through the
router's forward of 8920, on the server, and across a forced certificate renewal.
"""

from __future__ import annotations

import json
import os
import re
import time
import xml.etree.ElementTree as ET

import pytest
import yaml

from conftest import REPO, changed_on_server, curl, denied_login_address, fingerprint, fingerprint_diff, playbook

DOMAIN = "jellyfin.ddns.lab.test"
SCENARIO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PKCS12 = "/etc/jellyfin/ssl/jellyfin.pfx"
PASSWORD_FILE = "/etc/jellyfin-remote/private/jellyfin-https-pkcs12.pass"


@pytest.fixture(scope="session")
def router(lab):
    return lab["hosts"]["router"]["addresses"]["wan"]


def served_certificate(internet, router):
    """Serial and issuer of the certificate Jellyfin serves on the router's 8920 for DOMAIN."""
    out = internet.run(
        "openssl s_client -connect %s:8920 -servername %s </dev/null 2>/dev/null | openssl x509 -noout -serial -issuer"
        % (router, DOMAIN))
    assert out.rc == 0, out.stderr
    return out.stdout


def jellyfin_pid(server):
    return server.check_output("systemctl show -p MainPID --value jellyfin")


def test_https_from_the_internet_on_8920_with_a_pebble_chain(internet, router, pebble_root):
    status, body = curl(internet, "https://%s:8920/System/Info/Public" % DOMAIN, "--cacert", pebble_root,
                        "--resolve", "%s:8920:%s" % (DOMAIN, router))
    assert status == 200, body
    assert json.loads(body)["ProductName"] == "Jellyfin Server"
    assert "issuer=" in served_certificate(internet, router)


def test_jellyfin_sees_the_outside_client(internet, server, router, pebble_root, lab):
    internet.run("printf 'cacert = %s\\nresolve = %s:8920:%s\\n' > /root/.curlrc" % (pebble_root, DOMAIN, router))
    try:
        seen = denied_login_address(internet, server, "https://%s:8920" % DOMAIN)
    finally:
        internet.run("rm -f /root/.curlrc")
    assert seen == lab["hosts"]["internet"]["addresses"]["wan"]


def test_plain_http_is_refused(internet, router, lab):
    # 8096 is not forwarded at all, and 8920 speaks only TLS.
    assert internet.run("curl -sS -m 5 -o /dev/null http://%s:8096/health" % router).rc != 0
    assert internet.run("curl -sS -m 5 -o /dev/null http://%s:8920/health" % router).rc != 0
    # On the LAN, RequireHttps redirects plain HTTP to Jellyfin's HTTPS port.
    server_lan = lab["hosts"]["server"]["addresses"]["lan"]
    out = lab_router(lab).run("curl -sS -m 5 -o /dev/null -w '%%{http_code} %%{redirect_url}' http://%s:8096/web/" % server_lan)
    assert out.rc == 0, out.stderr
    code, location = out.stdout.split(" ", 1)
    assert code == "307" and location == "https://%s:8920/web/" % server_lan


def lab_router(lab):
    import testinfra

    return testinfra.get_host("podman://%s" % lab["hosts"]["router"]["container"])


def test_router_forwards_8920_and_80_not_8096(lab):
    server_lan = lab["hosts"]["server"]["addresses"]["lan"]
    out = lab_router(lab).check_output("nft list chain inet filter prerouting_miniupnpd")
    assert "dport 8920 dnat ip to %s:8920" % server_lan in out, out
    assert "dport 80 dnat ip to %s:80" % server_lan in out, out
    assert "8096" not in out


def test_host_firewall_opens_exactly_80_and_8920(server):
    out = server.run("nft list table inet jellyfin_remote_port_forward")
    assert out.rc == 0, out.stderr
    rules = [line.strip() for line in out.stdout.splitlines() if "dport" in line]
    assert len(rules) == 1 and rules[0].startswith("tcp dport { 80, 8920 } ") and "accept" in rules[0], out.stdout


def test_files_are_private(server):
    pfx = server.file(PKCS12)
    assert (pfx.user, pfx.group, pfx.mode) == ("root", "jellyfin", 0o640)
    assert server.file(os.path.dirname(PKCS12)).mode == 0o750
    password = server.file(PASSWORD_FILE)
    assert (password.user, password.group, password.mode) == ("root", "root", 0o600)
    assert server.file(os.path.dirname(PASSWORD_FILE)).mode == 0o700


def test_network_xml_turns_on_https(server):
    root = ET.fromstring(server.file("/etc/jellyfin/network.xml").content_string)
    assert root.findtext("EnableHttps") == "true"
    assert root.findtext("RequireHttps") == "true"
    assert root.findtext("CertificatePath") == PKCS12
    assert root.findtext("InternalHttpsPort") == "8920" and root.findtext("PublicHttpsPort") == "8920"
    assert root.findtext("CertificatePassword") == server.file(PASSWORD_FILE).content_string.strip()


def test_hook_leaves_jellyfin_alone_when_the_certificate_did_not_change(server):
    pid = jellyfin_pid(server)
    out = server.run("RENEWED_LINEAGE=/etc/letsencrypt/live/%s /etc/letsencrypt/renewal-hooks/deploy/jellyfin-https-pkcs12"
                     % DOMAIN)
    assert out.rc == 0 and "already holds this certificate" in out.stdout, out.stdout + out.stderr
    assert jellyfin_pid(server) == pid


def test_forced_renewal_replaces_the_certificate_jellyfin_serves(internet, server, router, pebble_root):
    before = served_certificate(internet, router)
    pid = jellyfin_pid(server)
    # Without a terminal certbot waits a random 0-8 minutes before renewing, unless told not to.
    out = server.run("REQUESTS_CA_BUNDLE=/etc/ssl/lab-pebble-ca.pem certbot renew --force-renewal "
                     "--no-random-sleep-on-renew --cert-name %s" % DOMAIN)
    assert out.rc == 0, out.stdout + out.stderr
    assert "wrote the renewed certificate" in out.stdout + out.stderr
    deadline = time.time() + 60
    after = before
    while time.time() < deadline and after == before:
        time.sleep(2)
        after = served_certificate(internet, router) if server.run("systemctl is-active jellyfin").rc == 0 else before
    assert after != before, "Jellyfin still serves %s" % before
    assert jellyfin_pid(server) != pid
    status, _ = curl(internet, "https://%s:8920/health" % DOMAIN, "--cacert", pebble_root,
                     "--resolve", "%s:8920:%s" % (DOMAIN, router))
    assert status == 200


def test_after_the_renewal_a_check_run_changes_nothing(server):
    """The renewal hook writes the PKCS#12 file the way the role does: Ansible sees nothing to do."""
    proc = playbook(os.path.join(SCENARIO, "check_https.yml"), "--check")
    assert changed_on_server(proc) == 0
    assert server.file(PASSWORD_FILE).content_string.strip() not in proc.stdout + proc.stderr


def test_dns01_by_rfc2136_gets_a_certificate_without_port_80(server):
    """certbot's RFC 2136 path (the certbot role, as jellyfin_https and nginx use it for
    DNS-01): the TXT record goes to the lab's knot, signed with the TSIG key, and the
    DNS-01 pebble validates it there. A second run changes nothing."""
    with open(os.path.join(REPO, "tests", "lab", "vars", "services.yml"), encoding="utf-8") as handle:
        secret = yaml.safe_load(handle)["lab_dns01_tsig_secret"]
    book = os.path.join(SCENARIO, "dns01.yml")
    first = playbook(book, "-vvv", log="dns01-1.log")
    output = first.stdout + first.stderr
    assert first.returncode == 0, output[-3000:]
    name = "media.dns01.lab.test"
    cert = server.run("openssl x509 -in /etc/letsencrypt/live/%s/fullchain.pem -noout -issuer -ext subjectAltName" % name)
    assert cert.rc == 0 and "DNS:%s" % name in cert.stdout and "Pebble" in cert.stdout, cert.stdout + cert.stderr
    renewal = server.file("/etc/letsencrypt/renewal/%s.conf" % name).content_string
    assert "authenticator = dns-rfc2136" in renewal
    ini = server.file("/etc/letsencrypt/jellyfin-remote-rfc2136-%s.ini" % name)
    assert (ini.user, ini.mode) == ("root", 0o600)
    assert secret not in output
    second = playbook(book, log="dns01-2.log")
    assert changed_on_server(second) == 0


# Last: removal (jellyfin_https_state absent) takes HTTPS off the lab's Jellyfin.

HTTPS_SETTINGS = ("EnableHttps", "RequireHttps", "CertificatePath", "CertificatePassword", "InternalHttpsPort",
                  "PublicHttpsPort")
DEPLOY_HOOK = "/etc/letsencrypt/renewal-hooks/deploy/jellyfin-https-pkcs12"


def _https_settings(text):
    root = ET.fromstring(text)
    return {name: root.findtext(name) or "" for name in HTTPS_SETTINGS}


def test_state_absent_puts_jellyfin_https_back(server):
    book = os.path.join(SCENARIO, "check_https.yml")
    password = server.file(PASSWORD_FILE).content_string.strip()
    pre_converge = _https_settings(server.file("/root/network.xml.pre-converge").content_string)
    assert _https_settings(server.file("/etc/jellyfin/network.xml").content_string) != pre_converge
    # --check: nothing changes, the output says what would be closed.
    before = fingerprint(server)
    check = playbook(book, "--check", "-e", "jellyfin_https_state=absent", log="absent-check.log")
    text = " ".join(check.stdout.split())
    assert changed_on_server(check) > 0
    assert "jellyfin_https: closed on server (check mode: would close):" in text, text[-3000:]
    for what in ("Jellyfin HTTPS settings (", "file %s" % PKCS12, "file %s" % PASSWORD_FILE, "file %s" % DEPLOY_HOOK,
                 "certbot lineage %s" % DOMAIN):
        assert what in text, what
    assert fingerprint_diff(before, fingerprint(server)) == {}
    # For real: Jellyfin's settings as before converge, HTTP only, every file of the role gone.
    real = playbook(book, "-e", "jellyfin_https_state=absent", log="absent.log")
    assert changed_on_server(real) > 0
    assert _https_settings(server.file("/etc/jellyfin/network.xml").content_string) == pre_converge
    for path in (PKCS12, PASSWORD_FILE, DEPLOY_HOOK, "/etc/letsencrypt/live/%s" % DOMAIN,
                 "/etc/letsencrypt/renewal/%s" % DOMAIN + ".conf", os.path.dirname(PASSWORD_FILE)):
        assert not server.file(path).exists, path
    assert not server.socket("tcp://8920").is_listening
    assert server.run("curl -sf -o /dev/null http://127.0.0.1:8096/health").rc == 0
    # certbot's lineage from the DNS-01 test was not this role's: it stays.
    assert server.file("/etc/letsencrypt/live/media.dns01.lab.test/fullchain.pem").exists
    assert password not in real.stdout + real.stderr + check.stdout + check.stderr
    # Again: nothing left to close.
    again = playbook(book, "-e", "jellyfin_https_state=absent", log="absent-again.log")
    assert changed_on_server(again) == 0, again.stdout[-3000:]


# Last of all, on the same NAT lab: an ISP that blocks 80 and 443 (tests/lab/playbooks/isp_block.yml
# drops them on the router's wan side), which the owner does not list: the preflight measures them
# from the internet host (jellyfin_remote_probe_host), and auto switches to nginx with a certificate
# by DNS-01 (RFC 2136 against the lab's knot, validated by the DNS-01 pebble) and external port 8443,
# which the router maps to the proxy's 443 (tests/lab/vars/blocked_ports.yml).

BLOCKED_NAME = "media.dns01.lab.test"
DNS01_ROOT = "/etc/ssl/lab-pebble-dns01-root.pem"


def probe_task_seconds(output):
    """Seconds the preflight's probe tasks took (tasks/probe.yml), from the profile_tasks lines: each task
    banner's "(0:00:02.143)" is the time of the task before it."""
    with open(os.path.join(REPO, "roles", "preflight", "tasks", "probe.yml"), encoding="utf-8") as handle:
        names = set(re.findall(r"- name: (.+)", handle.read()))
    total, previous = 0.0, None
    for chunk in output.split("TASK [")[1:]:
        took = re.search(r"\((\d+):(\d+):(\d+\.\d+)\)", chunk)
        if took and previous in names:
            total += int(took.group(1)) * 3600 + int(took.group(2)) * 60 + float(took.group(3))
        previous = chunk.split("]", 1)[0].split(" : ", 1)[-1]
    return total


def test_blocked_80_and_443_reverse_proxy_by_dns01_on_external_port_8443(internet, server, router, lab, capsys):
    with open(os.path.join(REPO, "tests", "lab", "vars", "services.yml"), encoding="utf-8") as handle:
        secret = yaml.safe_load(handle)["lab_dns01_tsig_secret"]
    block = os.path.join(REPO, "tests", "lab", "playbooks", "isp_block.yml")
    assert playbook(block, log="isp-block.log").returncode == 0
    try:
        # Before: 443 on the router's wan does not answer from the internet host (dropped, not refused).
        assert internet.run("curl -sS --connect-timeout 3 -o /dev/null -k https://%s:443/" % router).rc == 28
        # The lineage of the DNS-01 test above: gone, so that this run asks for its certificate itself.
        server.run("certbot delete --non-interactive --cert-name %s" % BLOCKED_NAME)
        site = os.path.join(REPO, "tests", "lab", "playbooks", "site.yml")
        run = playbook(site, "-vvv", "-e", json.dumps({"lab_site_vars_extra": ["../vars/blocked_ports.yml"]}),
                       log="blocked-ports.log")
        output = run.stdout + run.stderr
        assert run.returncode == 0, output[-4000:]
        assert secret not in output
        # The probe measured 80 and 443 blocked and 8443 open from the internet host, without the owner
        # listing blocked ports, and auto took the reverse proxy with DNS-01 and the external port.
        report_path = os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "reports", "server.json")
        with open(report_path, encoding="utf-8") as handle:
            report = json.load(handle)
        probe = report["port_probe"]
        results = {p["port"]: p["result"] for p in probe["ports"]}
        assert probe["measured"] and probe["probe_host"] == "internet", probe
        assert results[80] == "blocked" and results[443] == "blocked" and results[8443] == "reaches", probe
        assert probe["measured_blocked"] == [80, 443] and probe["blocked_ports"] == [80, 443], probe
        assert probe["left"] == [], probe
        assert "no answer from internet within" in next(p["why"] for p in probe["ports"] if p["port"] == 443)
        proxy = next(m for m in report["methods"] if m["method"] == "reverse_proxy")
        assert proxy["rank"] == 1 and proxy["suitable"], proxy
        assert "auto chose reverse_proxy" in output
        assert "Port 443: BLOCKED" in output
        # Nothing of the probe is left: the home's side (the only process holding its listeners) ended,
        # its ready file is gone, and the router maps nothing but 8443 (checked below).
        assert server.run("pgrep -f '[A]nsiballZ_port_probe'").rc == 1
        assert server.run("ls /run/jellyfin-remote-port-probe-*.json").rc != 0
        seconds = [float(s) for s in re.findall(r'"probe_seconds": ([0-9.]+)', output)]
        tasks = probe_task_seconds(output)
        assert seconds and max(seconds) < 60 and 0 < tasks < 60, (seconds, tasks)
        with capsys.disabled():
            print("\nport probe: its tasks %.1f s, the home's side %.1f s" % (tasks, max(seconds)))
        # The summary's URL carries the external port.
        assert "https://%s:8443/" % BLOCKED_NAME in output
        # The router maps 8443 to the proxy's 443; nothing to 80 or 443.
        server_lan = lab["hosts"]["server"]["addresses"]["lan"]
        mapped = lab_router(lab).check_output("nft list chain inet filter prerouting_miniupnpd")
        assert "dport 8443 dnat ip to %s:443" % server_lan in mapped, mapped
        assert "dport 443 " not in mapped and "dport 80 " not in mapped, mapped
        # The probe's temporary mappings (8096 among them, which nothing else maps) are gone: one mapping left.
        assert "dport 8096 " not in mapped and mapped.count(" dnat ") == 1, mapped
        # From the internet host: Jellyfin through nginx on 8443, with the DNS-01 pebble's chain.
        root = internet.run("curl -sf --cacert /etc/pebble/ca.pem -o %s https://localhost:15001/roots/0" % DNS01_ROOT)
        assert root.rc == 0, root.stderr
        status, body = curl(internet, "https://%s:8443/System/Info/Public" % BLOCKED_NAME, "--cacert", DNS01_ROOT,
                            "--resolve", "%s:8443:%s" % (BLOCKED_NAME, router))
        assert status == 200 and json.loads(body)["ProductName"] == "Jellyfin Server", body
        renewal = server.file("/etc/letsencrypt/renewal/%s.conf" % BLOCKED_NAME).content_string
        assert "authenticator = dns-rfc2136" in renewal
        # 80 and 443 from the internet host still do not answer: the ISP drops them.
        for port, scheme in ((443, "https"), (80, "http")):
            out = internet.run("curl -sS --connect-timeout 3 -o /dev/null -k %s://%s:%d/" % (scheme, router, port))
            assert out.rc == 28, (port, out.rc, out.stderr)
        # nginx's redirect from plain HTTP (seen from the LAN) keeps the external port.
        out = lab_router(lab).run("curl -sS -m 5 -o /dev/null -w '%%{http_code} %%{redirect_url}' -H 'Host: %s' "
                                  "http://%s/web/" % (BLOCKED_NAME, server_lan))
        assert out.rc == 0 and out.stdout == "301 https://%s:8443/web/" % BLOCKED_NAME, out.stdout + out.stderr
    finally:
        playbook(block, "-e", "lab_isp_block_state=absent", log="isp-unblock.log")
