"""The reverse_proxy role's fail2ban filter against the proxies' own access-log lines.

The filter is rendered from the role's template for each proxy. With Debian's fail2ban at
hand (`fail2ban-regex` on PATH, or unpacked by tests/install-deps.sh under
.cache/debs/root) the lines go through the real fail2ban-regex, date handling included;
the pure-Python tests below always run and use the same failregex with fail2ban's
`<ADDR>` replaced by an address pattern and the date removed as fail2ban removes it.
The Molecule scenarios run the real fail2ban against both proxies.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess

import jinja2
import pytest
from ansible.plugins.filter.core import FilterModule

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
TEMPLATES = os.path.join(REPO, "roles", "reverse_proxy", "templates")
UNPACKED = os.environ.get("JFR_DEBS_ROOT") or os.path.join(REPO, ".cache", "debs", "root")

VICTIM = "198.51.100.7"
SENDER = "203.0.113.9"
# What a client puts in the user name: a newline, then Jellyfin's denied-login line for the victim.
FORGED = ("x\n[03:04:05] [INF] [42] Jellyfin.Server.Implementations.Users.UserManager: "
          "Authentication request for y has been denied (IP: %s).\n" % VICTIM)


def render(name, server):
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), undefined=jinja2.StrictUndefined,
                             keep_trailing_newline=True)
    env.filters.update(FilterModule().filters())
    return env.get_template(name).render(
        ansible_managed="Ansible managed", reverse_proxy_server=server,
        reverse_proxy_fail2ban_maxretry=3, reverse_proxy_fail2ban_findtime=3600,
        reverse_proxy_fail2ban_bantime=86400, reverse_proxy_fail2ban_ignoreip=[],
        __reverse_proxy_access_log={"caddy": "/var/log/caddy/jellyfin-access.log",
                                    "nginx": "/var/log/nginx/jellyfin.access.log"})


def nginx_line(addr, request, status, agent="curl/7.88.1"):
    # log_format jellyfin_redacted, with nginx's escaping of '"', '\' and control bytes
    def esc(text):
        return "".join("\\x%02X" % ord(c) if c in '"\\' or ord(c) < 32 or ord(c) > 126 else c for c in text)
    return '%s - - [02/Jan/2026:03:04:05 +0000] "%s" %d 0 "%s" 0.004' % (addr, esc(request), status, esc(agent))


def caddy_line(addr, method, uri, status, headers=None, host="jellyfin.example.org"):
    # Caddy 2.6's access log entry (JSON, request fields in this order)
    return json.dumps({
        "level": "info", "ts": 1767323045.678, "logger": "http.log.access.log0", "msg": "handled request",
        "request": {"remote_ip": addr, "remote_port": "41234", "proto": "HTTP/2.0", "method": method,
                    "host": host, "uri": uri, "headers": headers or {"User-Agent": ["curl/7.88.1"]}},
        "user_id": "", "duration": 0.004, "size": 52, "status": status,
        "resp_headers": {"Content-Type": ["application/json"]}}, separators=(",", ":"))


# (line maker, expected address or None), per proxy
CASES = {
    "nginx": [
        (nginx_line(SENDER, "POST /Users/AuthenticateByName HTTP/2.0", 401), SENDER),
        (nginx_line(SENDER, "POST /users/authenticatebyname/ HTTP/1.1", 401), SENDER),
        (nginx_line(SENDER, "POST /jellyfin/Users/AuthenticateByName?x=1 HTTP/2.0", 401), SENDER),
        (nginx_line("2001:db8::7", "POST /Users/AuthenticateByName HTTP/2.0", 401), "2001:db8::7"),
        (nginx_line(SENDER, "POST /Users/AuthenticateByName HTTP/2.0", 200), None),
        (nginx_line(SENDER, "POST /Users/AuthenticateByName HTTP/2.0", 429), None),
        (nginx_line(SENDER, "GET /Users/AuthenticateByName HTTP/2.0", 401), None),
        (nginx_line(SENDER, "POST /Users/AuthenticateWithQuickConnect HTTP/2.0", 401), None),
        # a client's text (user agent, path) cannot supply the address or a line of its own
        (nginx_line(SENDER, "GET /x HTTP/1.1", 404, agent='\n%s - - [02/Jan/2026:03:04:05 +0000] '
                    '"POST /Users/AuthenticateByName HTTP/2.0" 401 0' % VICTIM), None),
    ],
    "caddy": [
        (caddy_line(SENDER, "POST", "/Users/AuthenticateByName", 401), SENDER),
        (caddy_line(SENDER, "POST", "/users/authenticatebyname/", 401), SENDER),
        (caddy_line(SENDER, "POST", "/jellyfin/Users/AuthenticateByName?x=1", 401), SENDER),
        (caddy_line("2001:db8::7", "POST", "/Users/AuthenticateByName", 401), "2001:db8::7"),
        (caddy_line(SENDER, "POST", "/Users/AuthenticateByName", 200), None),
        (caddy_line(SENDER, "GET", "/Users/AuthenticateByName", 401), None),
        (caddy_line(SENDER, "POST", "/Users/AuthenticateWithQuickConnect", 401), None),
        # header values and the host are the client's: JSON-escaped, they cannot make a field
        (caddy_line(SENDER, "GET", "/x", 404, host='a","remote_ip":"%s' % VICTIM,
                    headers={"X-A": ['"request":{"remote_ip":"%s","method":"POST","uri":"/Users/AuthenticateByName",'
                                     '"status":401,' % VICTIM]}), None),
    ],
}


def python_failregex(filter_text):
    line = next(l for l in filter_text.splitlines() if l.startswith("failregex = "))
    return re.compile(line.split(" = ", 1)[1].replace("<ADDR>", r"(?P<addr>[0-9a-fA-F.:]+)"))


def strip_date(server, line):
    """fail2ban matches the failregex against the line with the date text cut out."""
    if server == "nginx":
        return re.sub(r"^([^\[]*\[)[^\]]*", r"\1", line, count=1)
    return re.sub(r'("ts":)[0-9.]+', r"\1", line, count=1)


@pytest.mark.parametrize("server", sorted(CASES))
def test_filter_python(server):
    regex = python_failregex(render("fail2ban-filter.local.j2", server))
    for line, addr in CASES[server]:
        for physical in line.split("\n"):  # a log reader sees each physical line
            match = regex.search(strip_date(server, physical))
            found = match.group("addr") if match else None
            if addr is None:
                assert found is None, physical
            elif physical == line:
                assert found == addr, physical


def fail2ban_regex():
    """The command and environment for Debian's fail2ban-regex, or None when it cannot run
    here (not installed nor unpacked; or an unpacked Debian 12 copy on a newer Python)."""
    found = shutil.which("fail2ban-regex")
    command, env = ([found], dict(os.environ)) if found else (None, None)
    unpacked = os.path.join(UNPACKED, "usr", "bin", "fail2ban-regex")
    if command is None and os.path.exists(unpacked) and os.path.exists("/usr/bin/python3"):
        command = ["/usr/bin/python3", unpacked]
        env = dict(os.environ, PYTHONPATH=os.path.join(UNPACKED, "usr", "lib", "python3", "dist-packages"))
    if command is None:
        return None
    probe = subprocess.run(command + ["--version"], capture_output=True, text=True, env=env, timeout=60, check=False)
    return (command, env) if probe.returncode == 0 else None


@pytest.mark.parametrize("server", sorted(CASES))
def test_filter_with_real_fail2ban_regex(server, tmp_path):
    found = fail2ban_regex()
    if not found:
        pytest.skip("Debian's fail2ban-regex is not here or does not run (tests/install-deps.sh unpacks it into .cache/debs)")
    command, env = found
    filt = tmp_path / "jellyfin-auth.conf"
    filt.write_text(render("fail2ban-filter.local.j2", server))
    log = tmp_path / "access.log"
    log.write_text("".join(line + "\n" for line, _ in CASES[server]))
    out = subprocess.run(command + ["--print-all-matched", "--raw", str(log), str(filt)],
                         capture_output=True, text=True, env=env, timeout=60, check=False)
    assert out.returncode == 0, out.stdout + out.stderr
    wanted = sum(1 for _, addr in CASES[server] if addr)
    assert re.search(r"Failregex: %d total" % wanted, out.stdout), out.stdout
    # every matched line names the address the proxy wrote first, never the victim
    assert VICTIM not in out.stdout.split("Lines:")[0].split("Failregex:")[1], out.stdout
    assert "Date template hits:" in out.stdout
    hits = re.search(r"Date template hits:\n\|- \[# of hits\] date format\n\|  \[(\d+)\]", out.stdout)
    assert hits and int(hits.group(1)) >= len(CASES[server]), out.stdout


def test_jail_reads_the_proxy_access_log():
    for server, path in (("nginx", "/var/log/nginx/jellyfin.access.log"), ("caddy", "/var/log/caddy/jellyfin-access.log")):
        jail = render("fail2ban-jail.local.j2", server)
        assert "logpath = %s" % path in jail.splitlines()
        assert "journalmatch" not in jail and "backend = polling" in jail.splitlines()


def test_forged_jellyfin_line_is_not_read():
    """The line a crafted user name produces in Jellyfin's console log no longer matches
    (the filter before this change read it and named the victim)."""
    old = re.compile(r'^.*: Authentication request for "?.*"? has been denied \(IP: "?(?P<addr>[0-9a-fA-F.:]+)"?\)\.\s*$')
    console = ("[03:04:05] [INF] [42] Jellyfin.Server.Implementations.Users.UserManager: Authentication request "
               "for %s has been denied (IP: %s)." % (FORGED, SENDER))
    assert [m.group("addr") for m in map(old.search, console.split("\n")) if m] == [VICTIM]
    for server in CASES:
        regex = python_failregex(render("fail2ban-filter.local.j2", server))
        for physical in console.split("\n"):
            assert not regex.search(physical)
