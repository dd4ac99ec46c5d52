"""The reverse_proxy role's nginx error log relay (files/jellyfin-remote-nginx-errors).

Fed the datagrams nginx sends (`error_log syslog:server=unix:...,nohostname,tag=...`) through
a real socket, as systemd would pass it; the Molecule scenario reverse_proxy_nginx runs it
under systemd behind the real nginx.
"""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
import time

import pytest

from harness import load_script

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
RELAY = os.path.join(REPO, "roles", "reverse_proxy", "files", "jellyfin-remote-nginx-errors")
KEY = "0123456789abcdef0123456789abcdef"


relay = load_script(RELAY, "nginx_error_relay")

UPSTREAM_ERROR = (
    "<11>Nov 30 17:45:00 nginx_jellyfin: 2026/11/30 17:45:00 [error] 812#812: *31 connect() failed "
    "(111: Connection refused) while connecting to upstream, client: 203.0.113.9, server: jf.example.org, "
    'request: "GET /Videos/1/stream?static=true&api_key=%s HTTP/1.1", upstream: '
    '"http://127.0.0.1:8096/Videos/1/stream?static=true&api_key=%s", host: "jf.example.org", '
    'referrer: "https://jf.example.org/web/?ApiKey=%s#x"' % (KEY, KEY, KEY))


def test_header_removed_and_every_key_replaced():
    out = relay.redact(UPSTREAM_ERROR.encode()).decode()
    assert out.startswith("2026/11/30 17:45:00 [error] 812#812: *31 connect() failed")
    assert KEY not in out
    assert out.count("api_key=REDACTED") == 2 and "ApiKey=REDACTED#x" in out
    assert "static=true&api_key=REDACTED HTTP/1.1" in out


@pytest.mark.parametrize("query", ["?api_key=%s", "?APIKEY=%s&x=1", "?a=1&Api_Key=%s", "?api_key%%3D%s"])
def test_spellings(query):
    line = 'request: "GET /Items%s HTTP/1.1"' % (query % KEY)
    assert KEY not in relay.redact(line.encode()).decode()


def test_other_parameters_and_lines_kept():
    line = b'<11>Nov  3 01:02:03 nginx_jellyfin: x [error] limiting requests, request: "POST /Users/AuthenticateByName?keep=1 HTTP/1.1"'
    assert relay.redact(line) == b'x [error] limiting requests, request: "POST /Users/AuthenticateByName?keep=1 HTTP/1.1"'
    assert relay.redact(b"<11>no header here monkey_key=1\n") == b"no header here monkey_key=1"


def test_runs_on_a_socket_from_systemd_and_appends(tmp_path):
    """The program itself, started the way systemd starts it: LISTEN_FDS=1, socket on fd 3."""
    path = str(tmp_path / "relay.sock")
    log = tmp_path / "jellyfin.error.log"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    server.bind(path)
    child = r"""
import os, sys
os.dup2(int(sys.argv[1]), 3)
os.environ.update(LISTEN_PID=str(os.getpid()), LISTEN_FDS="1")
os.execv(sys.executable, [sys.executable, sys.argv[2], sys.argv[3]])
"""
    proc = subprocess.Popen([sys.executable, "-c", child, str(server.fileno()), RELAY, str(log)],
                            pass_fds=(server.fileno(),))
    try:
        sender = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sender.sendto(UPSTREAM_ERROR.encode(), path)
        sender.sendto(b"<11>Nov 30 17:45:01 nginx_jellyfin: second line", path)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and (not log.exists() or log.read_text().count("\n") < 2):
            time.sleep(0.05)
        text = log.read_text()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        server.close()
    lines = text.splitlines()
    assert len(lines) == 2 and lines[1] == "second line"
    assert KEY not in text and "api_key=REDACTED" in lines[0]
    assert stat.S_IMODE(os.stat(log).st_mode) == 0o640


def test_refuses_to_run_without_the_socket(tmp_path):
    proc = subprocess.run([sys.executable, RELAY, str(tmp_path / "log")], capture_output=True, text=True,
                          env={k: v for k, v in os.environ.items() if not k.startswith("LISTEN_")}, check=False)
    assert proc.returncode == 2 and "jellyfin-remote-nginx-errors.socket" in proc.stderr
    assert not (tmp_path / "log").exists()
