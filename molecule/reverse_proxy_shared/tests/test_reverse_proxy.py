"""What a user of the reverse_proxy role would check, from the internet host and on the server.

Shared by the reverse_proxy_caddy and reverse_proxy_nginx scenarios (REVERSE_PROXY_SERVER
says which proxy runs). Tests run in file order: the rate-limit, invalid-configuration and
ban tests come last, and the ban test uses the internet host's second address, so that the
two denied logins of the other tests never count towards a ban (3 do).
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import time
import xml.etree.ElementTree as ET

import pytest

from conftest import PEBBLE_ROOT, changed_on_server, curl, denied_login_address, exposure, fingerprint, fingerprint_diff, playbook

DOMAIN = "jellyfin.lab.test"
URL = "https://%s" % DOMAIN
SERVER_KIND = os.environ.get("REVERSE_PROXY_SERVER", "caddy")
SITE = {"caddy": "/etc/caddy/Caddyfile", "nginx": "/etc/nginx/conf.d/jellyfin.conf"}[SERVER_KIND]
ACCESS_LOG = {"caddy": "/var/log/caddy/jellyfin-access.log", "nginx": "/var/log/nginx/jellyfin.access.log"}[SERVER_KIND]
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


@pytest.fixture(scope="session", autouse=True)
def no_bans(server):
    """Start from no bans and no counted failures (fail2ban keeps failures in memory only),
    so the suite can run again on the same lab."""
    out = server.run("fail2ban-client unban --all && systemctl restart fail2ban && "
                     "for i in $(seq 1 50); do fail2ban-client status jellyfin >/dev/null 2>&1 && exit 0; "
                     "sleep 0.2; done; exit 1")
    assert out.rc == 0, out.stderr


@pytest.fixture(scope="session", autouse=True)
def curl_trusts_only_pebble(internet, pebble_root):
    """Every curl on the internet host verifies against pebble's root (via ~/.curlrc) and
    nothing else."""
    out = internet.run("printf 'cacert = %s\\n' > /root/.curlrc" % pebble_root)
    assert out.rc == 0, out.stderr


def _headers(host, url, *args):
    out = host.run("curl -sS -m 10 -o /dev/null -D - %s %s" % (" ".join(shlex.quote(a) for a in args), shlex.quote(url)))
    assert out.rc == 0, out.stderr
    lines = out.stdout.replace("\r", "").split("\n")
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            headers[k.strip().lower()] = v.strip()
    return int(lines[0].split()[1]), headers


def test_https_public_info_with_a_pebble_issued_chain(internet):
    status, body = curl(internet, URL + "/System/Info/Public")
    assert status == 200
    assert '"Version"' in body and '"Id"' in body


def test_certificate_is_for_the_domain_and_verifies_against_pebble(internet):
    out = internet.run(
        "openssl s_client -connect %s:443 -servername %s -CAfile %s -verify_return_error "
        "-verify_hostname %s </dev/null 2>&1" % (DOMAIN, DOMAIN, PEBBLE_ROOT, DOMAIN))
    assert out.rc == 0, out.stdout
    assert "Verify return code: 0 (ok)" in out.stdout
    assert "Pebble" in out.stdout  # issued by pebble's intermediate


def test_http_redirects_to_https(internet):
    status, headers = _headers(internet, "http://%s/System/Info/Public?x=1" % DOMAIN)
    assert status in (301, 308)
    assert headers["location"] == URL + "/System/Info/Public?x=1"


def _upgrade(internet, path):
    out = internet.run(
        "curl -sS -i -N --http1.1 -m 3 -H 'Connection: Upgrade' -H 'Upgrade: websocket' "
        "-H 'Sec-WebSocket-Version: 13' -H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' %s | head -n1"
        % shlex.quote(URL + path))
    return out.stdout.strip()


def test_websocket_handshake_on_socket(internet):
    assert _upgrade(internet, "/socket?deviceId=probe").split()[1] == "101"


def test_no_websocket_upgrade_elsewhere(internet):
    # The stand-in would upgrade on any path: only the proxy can have stopped it.
    assert _upgrade(internet, "/System/Info/Public").split()[1] != "101"


def test_range_request_gets_206(internet):
    out = internet.run("curl -sS -m 10 -o /dev/null -r 1000-1999 -w '%%{http_code} %%{size_download}' %s"
                       % shlex.quote(URL + "/Videos/x/stream?static=true"))
    assert out.rc == 0, out.stderr
    assert out.stdout.split() == ["206", "1000"]


def test_jellyfin_sees_the_client_not_the_proxy(internet, server, lab):
    assert denied_login_address(internet, server, URL) == lab["hosts"]["internet"]["addresses"]["wan"]


def test_forged_forwarded_for_is_replaced(internet, server, lab):
    seen = denied_login_address(internet, server, URL, forwarded_for="198.51.100.77")
    assert seen == lab["hosts"]["internet"]["addresses"]["wan"]


def test_security_headers(internet):
    status, headers = _headers(internet, URL + "/System/Info/Public")
    assert status == 200
    assert headers["strict-transport-security"] == "max-age=63072000"
    assert headers["x-content-type-options"] == "nosniff"
    assert "camera=()" in headers["permissions-policy"]
    csp = {d.split()[0]: d.split()[1:] for d in headers["content-security-policy"].split(";") if d.strip()}
    assert csp["default-src"] == ["'self'"]
    # jellyfin-web's trailers: the YouTube iframe API and the player it embeds
    assert "https://www.youtube.com" in csp["script-src"] and "https://www.youtube.com" in csp["frame-src"]


def test_http2_is_offered(internet):
    out = internet.run("curl -sS -m 10 -o /dev/null --http2 -w '%%{http_version}' %s" % (URL + "/System/Ping"))
    assert out.stdout == "2"


@pytest.mark.parametrize("option", ["-tls1", "-tls1_1"])
def test_old_tls_refused(internet, option):
    # The client is allowed the old protocol (security level 0), so a failure is the server's.
    out = internet.run("openssl s_client -connect %s:443 -servername %s %s -cipher 'DEFAULT:@SECLEVEL=0' </dev/null"
                       % (DOMAIN, DOMAIN, option))
    assert out.rc != 0


def test_tls12_accepted(internet):
    out = internet.run("openssl s_client -connect %s:443 -servername %s -tls1_2 -CAfile %s </dev/null 2>&1"
                       % (DOMAIN, DOMAIN, PEBBLE_ROOT))
    assert out.rc == 0 and "ECDHE" in out.stdout


def test_metrics_refused_from_outside(internet):
    for path in ("/metrics", "/METRICS"):
        status, _ = curl(internet, URL + path)
        assert status == 403


def test_api_key_kept_out_of_the_access_log(internet, server):
    secret = "k%d" % time.time_ns()
    # Jellyfin reads query keys in any case
    curl(internet, URL + "/System/Info/Public?api_key=%s&x=1&ApI_KeY=%s" % (secret, secret))
    time.sleep(0.5)
    log = server.run("cat %s" % ACCESS_LOG)
    assert log.rc == 0 and "/System/Info/Public" in log.stdout
    assert secret not in log.stdout


def test_api_key_kept_out_of_the_error_logs(internet, server):
    """An upstream error makes the proxy log the request (nginx: request line, upstream URL and
    referrer in its error log; Caddy: the request in its journal), keys included unless removed."""
    secret = "e%d" % time.time_ns()
    since = server.run("date '+%Y-%m-%d %H:%M:%S'").stdout.strip()
    assert server.run("systemctl stop jellyfin").rc == 0
    try:
        status, _ = curl(internet, URL + "/Items?api_key=%s&ApiKey=%s" % (secret, secret),
                         "-H", "Referer: %s/web/?api_key=%s" % (URL, secret))
    finally:
        out = server.run("systemctl start jellyfin && for i in $(seq 1 100); do "
                         "curl -sf -o /dev/null http://127.0.0.1:8096/health && exit 0; sleep 0.2; done; exit 1")
        assert out.rc == 0, out.stderr
    assert status == 502
    time.sleep(1)
    if SERVER_KIND == "nginx":
        log = server.run("cat /var/log/nginx/jellyfin.error.log").stdout
        assert "connect() failed" in log and "/Items?api_key=REDACTED&ApiKey=REDACTED" in log
        logs = log + server.run("cat /var/log/nginx/error.log").stdout
    else:
        logs = server.run("journalctl -u caddy --since %s -o cat" % shlex.quote(since)).stdout
        assert "connection refused" in logs and '"uri":"/Items' in logs
    assert secret not in logs


def _logins(internet, paths, user, source=None, auth=True, http1=False):
    """One denied login POSTed to each path, all in one exec (cheap on a busy host); the
    status codes in order."""
    args = (["--http1.1"] if http1 else []) + ["-X", "POST", "-H", "Content-Type: application/json", "--data", json.dumps({"Username": user, "Pw": "wrong"})]
    if auth:
        args += ["-H", 'Authorization: MediaBrowser Client="probe", Device="probe", DeviceId="probe", Version="1.0"']
    if source:
        args += ["--interface", source]
    quoted = " ".join(shlex.quote(a) for a in args)
    out = internet.run(" ; ".join("curl -sS -m 10 -o /dev/null -w '%%{http_code}\\n' --path-as-is %s %s"
                                  % (quoted, shlex.quote(URL + path)) for path in paths))
    codes = [int(code) for code in out.stdout.split()]
    assert len(codes) == len(paths), out.stdout + out.stderr
    return codes


def test_login_spelt_otherwise_is_refused(internet, server):
    """Jellyfin decodes the path itself: any spelling of the login path but the plain one would
    pass by the access-log filter, so the proxy refuses it before it reaches Jellyfin."""
    user = "spelt-%d" % time.time_ns()
    paths = ["/Users/%41uthenticateByName", "/Users//AuthenticateByName", "/x/../Users/AuthenticateByName"]
    # HTTP/1.1: Caddy answers before it reads the body, and over HTTP/2 curl then sometimes
    # reports a stream error instead of the 400 (Go's HTTP/2 server resets the stream).
    assert _logins(internet, paths, user, http1=True) == [400, 400, 400]
    assert server.run("grep -l %s /var/log/jellyfin/log_*.log" % shlex.quote(user)).rc == 1


@pytest.mark.skipif(SERVER_KIND != "nginx", reason="Debian's caddy has no rate-limit module")
def test_login_rate_limit_also_with_a_trailing_slash(internet):
    """No Authorization header: Jellyfin answers 400, so these tries count for no ban."""
    codes = _logins(internet, ["/Users/AuthenticateByName/"] * 8 + ["/users/authenticatebyname/?x=1"], "rate", auth=False)
    assert codes[0] != 429 and 429 in codes[:8] and codes[8] == 429, codes


def test_known_proxies_set_in_jellyfin(server):
    root = ET.fromstring(server.file("/etc/jellyfin/network.xml").content_string)
    assert "127.0.0.1" in [e.text for e in root.find("KnownProxies")]


def test_renewal_in_place(server):
    if SERVER_KIND == "nginx":
        assert server.service("certbot.timer").is_enabled
        hook = server.file("/etc/letsencrypt/renewal-hooks/deploy/reverse-proxy-reload-nginx")
        assert hook.mode == 0o755 and "reload nginx" in hook.content_string
        renewal = server.file("/etc/letsencrypt/renewal/%s.conf" % DOMAIN).content_string
        assert "server = https://internet:14000/dir" in renewal
    else:
        # Caddy renews in its own process; its storage holds the certificate from pebble.
        out = server.run("find /var/lib/caddy/.local/share/caddy/certificates -name '%s.crt'" % DOMAIN)
        assert "internet-14000-dir" in out.stdout


def test_invalid_extra_directive_fails_and_keeps_the_running_config(internet, server):
    before = server.file(SITE).sha256sum
    env = dict(os.environ)
    proc = subprocess.run(
        ["ansible-playbook", "-i", os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "inventory"),
         os.path.join(REPO, "molecule", "reverse_proxy_shared", "converge.yml"),
         "-e", json.dumps({"reverse_proxy_extra_directives": ["no_such_directive on;"]})],
        capture_output=True, text=True, env=env, timeout=300, check=False)
    assert proc.returncode != 0
    wanted = "caddy rejected the generated Caddyfile" if SERVER_KIND == "caddy" else "nginx -t rejected the generated site"
    output = proc.stdout + proc.stderr
    assert wanted in output, output[-3000:]
    assert "no_such_directive" in output
    assert server.file(SITE).sha256sum == before
    status, _ = curl(internet, URL + "/System/Info/Public")
    assert status == 200


VENDOR = {
    "caddy": ("https://dl.cloudsmith.io/public/caddy/stable/deb/debian", "any-version", "main"),
    "nginx": ("https://nginx.org/packages/debian", None, "nginx"),  # suite: the server's release
}


def test_vendor_repository_source_and_keyring_are_written(server, tmp_path):
    """The vendor repository, up to writing its files (apt never asks the vendor here): the
    key comes from a file:// URL, fetched like the vendor's https:// one."""
    key = "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nbGFiIHRlc3Qga2V5\n=abcd\n-----END PGP PUBLIC KEY BLOCK-----\n"
    source = "/etc/apt/sources.list.d/reverse-proxy-%s.sources" % SERVER_KIND
    keyring = "/etc/apt/keyrings/reverse-proxy-%s.asc" % SERVER_KIND
    server.run("printf '%%s' %s > /tmp/vendor-test-key.asc" % shlex.quote(key))
    playbook = tmp_path / "vendor.yml"
    playbook.write_text(
        "- hosts: server\n  gather_facts: false\n  tasks:\n"
        "    - ansible.builtin.include_role:\n        name: homelab.jellyfin_remote.reverse_proxy\n"
        "        tasks_from: vendor_repository\n"
        "      vars:\n        reverse_proxy_server: %s\n"
        "        reverse_proxy_vendor_key: file:///tmp/vendor-test-key.asc\n" % SERVER_KIND)
    try:
        proc = subprocess.run(
            ["ansible-playbook", "-i", os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "inventory"), str(playbook)],
            capture_output=True, text=True, timeout=300, check=False)
        assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
        text = server.file(source).content_string
        uris, suite, component = VENDOR[SERVER_KIND]
        suite = suite or server.run(". /etc/os-release && echo $VERSION_CODENAME").stdout.strip()
        for line in ("Types: deb", "URIs: %s" % uris, "Suites: %s" % suite, "Components: %s" % component,
                     "Signed-By: %s" % keyring):
            assert line in text.splitlines(), text
        assert server.file(keyring).content_string == key
    finally:
        server.run("rm -f %s %s /tmp/vendor-test-key.asc" % (source, keyring))


def test_forged_login_lines_ban_the_sender_never_the_named_address(internet, server, lab):
    """Last: three denied logins from the internet host's second address, each with a user name
    holding a newline and Jellyfin's denied-login line for the host's first address. Jellyfin's
    journal then holds that forged line; the jail, on the proxy's access log, bans the sender
    only. Then the ban is lifted."""
    alt = lab["hosts"]["internet"]["addresses"]["wan_alt"]
    victim = lab["hosts"]["internet"]["addresses"]["wan"]
    assert ACCESS_LOG in server.check_output("fail2ban-client get jellyfin logpath")
    marker = "forged-%d" % time.time_ns()
    forged_line = ("[03:04:05] [INF] [42] Jellyfin.Server.Implementations.Users.UserManager: "
                   "Authentication request for %s has been denied (IP: %s)." % (marker, victim))
    forged = "%s\n%s\n" % (marker, forged_line)
    try:
        assert _logins(internet, ["/Users/AuthenticateByName"] * 3, forged, source=alt) == [401, 401, 401]
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if alt in server.run("fail2ban-client status jellyfin").stdout:
                break
            time.sleep(0.5)
        status = server.run("fail2ban-client status jellyfin").stdout
        assert alt in status and victim not in status, status
        # the attack reached Jellyfin's journal as a line of its own, naming the victim
        journal = server.run("journalctl -u jellyfin -o cat --no-pager | grep -F %s" % shlex.quote(marker)).stdout
        assert forged_line in journal.splitlines(), journal
        ruleset = server.run("nft list ruleset").stdout
        assert alt in ruleset and victim not in ruleset
        assert "tcp dport" in ruleset and "udp dport" in ruleset  # HTTP/3 runs on 443/udp
        refused = internet.run("curl -sS -m 5 -o /dev/null --interface %s %s" % (alt, URL + "/System/Ping"))
        assert refused.rc != 0
        status, _ = curl(internet, URL + "/System/Ping")  # the named address is not banned
        assert status == 200
    finally:
        server.run("fail2ban-client set jellyfin unbanip %s" % alt)


@pytest.mark.skipif(SERVER_KIND != "nginx", reason="the error-log relay exists for nginx only")
def test_the_error_log_relay_is_hardened(server):
    # Root with CAP_CHOWN and CAP_DAC_OVERRIDE only (logrotate's file), seccomp, no namespaces.
    assert exposure(server, "jellyfin-remote-nginx-errors.service") <= 4.5  # 6.5 before


# Last: removal (reverse_proxy_state absent) takes the proxy off the lab.

CONVERGE = os.path.join(REPO, "molecule", "reverse_proxy_shared", "converge.yml")
JAIL = ["/etc/fail2ban/jail.d/jellyfin.local", "/etc/fail2ban/filter.d/jellyfin-auth.local"]
ROLE_FILES = JAIL + {
    "caddy": [],
    "nginx": [SITE, "/usr/local/libexec/jellyfin-remote-nginx-errors",
              "/etc/systemd/system/jellyfin-remote-nginx-errors.socket",
              "/etc/systemd/system/jellyfin-remote-nginx-errors.service",
              "/etc/letsencrypt/renewal-hooks/deploy/reverse-proxy-reload-nginx",
              "/etc/systemd/system/certbot.service.d/jellyfin-remote-acme-ca.conf",
              "/etc/letsencrypt/renewal/%s.conf" % DOMAIN],
}[SERVER_KIND]


def _proxy_settings(text):
    root = ET.fromstring(text)
    return sorted(e.text or "" for e in root.find("KnownProxies")), root.findtext("BaseUrl") or ""


def test_state_absent_removes_what_the_role_set_up(internet, server):
    for path in ROLE_FILES:
        assert server.file(path).exists, path
    assert server.socket("tcp://443").is_listening
    # --check: nothing changes, the output says what would be closed.
    before = fingerprint(server)
    check = playbook(CONVERGE, "--check", "-e", "reverse_proxy_state=absent", log="absent-check.log")
    text = " ".join(check.stdout.split())
    assert changed_on_server(check) > 0
    assert "reverse_proxy: closed on server (check mode: would close):" in text, text[-3000:]
    for what in ["unit %s.service (stopped, disabled)" % SERVER_KIND, "unit fail2ban.service (stopped, disabled)",
                 "Jellyfin KnownProxies"] + ["file %s" % path for path in JAIL]:
        assert what in text, what
    if SERVER_KIND == "nginx":
        assert "certbot lineage %s" % DOMAIN in text and "unit jellyfin-remote-nginx-errors.socket" in text
    else:
        assert "file /etc/caddy/Caddyfile (the previous one put back)" in text
    assert fingerprint_diff(before, fingerprint(server)) == {}
    # For real: every file, unit, listener, jail and Jellyfin setting of the role is gone.
    real = playbook(CONVERGE, "-e", "reverse_proxy_state=absent", log="absent.log")
    assert changed_on_server(real) > 0
    assert "reverse_proxy: closed on server:" in " ".join(real.stdout.split())
    for path in ROLE_FILES:
        assert not server.file(path).exists, path
    for unit in (SERVER_KIND, "fail2ban"):
        assert not server.service(unit).is_running and not server.service(unit).is_enabled, unit
    assert server.run("fail2ban-client status").rc != 0  # no fail2ban, so no jail
    for port in (80, 443):
        assert not server.socket("tcp://%d" % port).is_listening, port
    assert internet.run("curl -sS -m 5 -o /dev/null %s/System/Ping" % URL).rc != 0
    if SERVER_KIND == "nginx":
        assert not server.file("/etc/letsencrypt/live/%s" % DOMAIN).exists
        assert not server.service("jellyfin-remote-nginx-errors.socket").is_running
    else:
        caddyfile = server.file("/etc/caddy/Caddyfile").content_string  # Debian's own again
        assert "reverse_proxy role" not in caddyfile and DOMAIN not in caddyfile, caddyfile
        assert not server.file("/var/lib/jellyfin-remote/reverse_proxy.Caddyfile.orig").exists
    assert _proxy_settings(server.file("/etc/jellyfin/network.xml").content_string) == _proxy_settings(
        server.file("/root/network.xml.pre-converge").content_string)
    assert "reverse_proxy" not in server.run("cat /var/lib/jellyfin-remote/state.json").stdout
    # Again: nothing left to close.
    again = playbook(CONVERGE, "-e", "reverse_proxy_state=absent", log="absent-again.log")
    assert changed_on_server(again) == 0, again.stdout[-3000:]
