# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The unit tests' one module runner and one network guard (importable as `harness`).

tests/unit/conftest.py puts the guard on every unit test (autouse fixture `loopback_only`)
and offers run_module as a fixture too; test modules that wrap it import it from here.

run_module(main, args, check=False, diff=False) drives a module's main() with patched module
args, exit_json / fail_json raising and warn() recorded, and returns (kind, result,
warnings): kind "exit" or "fail"; result the keyword arguments main() passed (fail_json's
with msg and failed=True; exit_json's with changed defaulting to False, as Ansible reports
it); warnings the texts given to module.warn(). main() returning without either is an
AssertionError.

NetworkGuard: while installed, every socket connect/sendto/sendmsg to an address that is not
127.0.0.0/8 or ::1 raises NonLoopbackTraffic (an OSError, ENETUNREACH, so code under test
reports it as its own network error) and is recorded; host names other than "localhost" are
not resolved (a resolver query is traffic too); `import miniupnpc` fails, so UPnP discovery
(multicast from C code, which the socket guard cannot see) can never run unless a test puts
a fake module in place. With loopback=False (the fuzz test) loopback is refused too. At
teardown, the conftest fixture fails the test if anything was recorded; the fuzz test counts
the refused attempts instead (they are expected there).
"""

from __future__ import annotations

import contextlib
import errno
import http.server
import ipaddress
import socket
import sys
import threading
from unittest import mock

from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args


class NonLoopbackTraffic(OSError):
    """A test tried to reach an address it may not reach."""


def _is_ip(host):
    try:
        ipaddress.ip_address(str(host).split("%")[0])
        return True
    except ValueError:
        return False


def _is_loopback(host):
    if host in ("localhost",):
        return True
    try:
        return ipaddress.ip_address(str(host).split("%")[0]).is_loopback
    except ValueError:
        return False


class NetworkGuard:
    """Refuses traffic off loopback (or all traffic with loopback=False); records each attempt."""

    def __init__(self, loopback=True):
        self.loopback = loopback
        self.violations = []

    def _refuse(self, what):
        self.violations.append(what)
        raise NonLoopbackTraffic(errno.ENETUNREACH, "test network guard: %s refused (%s)" % (what, "not loopback" if self.loopback else "no traffic in this test"))

    def check(self, address, what):
        if not self.loopback:
            self._refuse("%s %r" % (what, address))
        if isinstance(address, tuple) and address and not _is_loopback(address[0]):
            self._refuse("%s %r" % (what, address))

    def resolve(self, host):
        if not self.loopback or (host is not None and not _is_loopback(host) and not _is_ip(host)):
            self._refuse("resolve %r" % (host,))

    def install(self, monkeypatch):
        guard = self
        real = {name: getattr(socket.socket, name) for name in ("connect", "connect_ex", "sendto", "sendmsg")}
        real_getaddrinfo = socket.getaddrinfo
        real_gethostbyname = socket.gethostbyname

        def connect(sock, address):
            guard.check(address, "connect")
            return real["connect"](sock, address)

        def connect_ex(sock, address):
            guard.check(address, "connect")
            return real["connect_ex"](sock, address)

        def sendto(sock, data, *args):
            guard.check(args[-1], "sendto")
            return real["sendto"](sock, data, *args)

        def sendmsg(sock, buffers, ancdata=(), flags=0, address=None):
            if address is not None:
                guard.check(address, "sendmsg")
            return real["sendmsg"](sock, buffers, ancdata, flags, *(() if address is None else (address,)))

        def getaddrinfo(host, *args, **kwargs):
            guard.resolve(host)
            return real_getaddrinfo(host, *args, **kwargs)

        def gethostbyname(host):
            guard.resolve(host)
            return real_gethostbyname(host)

        monkeypatch.setattr(socket.socket, "connect", connect)
        monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
        monkeypatch.setattr(socket.socket, "sendto", sendto)
        monkeypatch.setattr(socket.socket, "sendmsg", sendmsg)
        monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
        monkeypatch.setattr(socket, "gethostbyname", gethostbyname)
        monkeypatch.setitem(sys.modules, "miniupnpc", None)
        return self


class _Ended(Exception):
    def __init__(self, kind, result):
        super().__init__(kind)
        self.kind = kind
        self.result = result


def run_module(main, args, check=False, diff=False):
    """Run main() with args; return (kind, result, warnings). See the module docstring."""
    args = dict(args)
    if check:
        args["_ansible_check_mode"] = True
    if diff:
        args["_ansible_diff"] = True
    warnings = []

    def exit_json(self, **kwargs):
        kwargs.setdefault("changed", False)
        raise _Ended("exit", kwargs)

    def fail_json(self, msg=None, **kwargs):
        kwargs["failed"] = True
        kwargs["msg"] = msg
        raise _Ended("fail", kwargs)

    with patch_module_args(args), mock.patch.object(basic.AnsibleModule, "exit_json", exit_json), mock.patch.object(
        basic.AnsibleModule, "fail_json", fail_json
    ), mock.patch.object(basic.AnsibleModule, "warn", lambda self, text: warnings.append(text)), mock.patch.object(
        basic.AnsibleModule, "deprecate", lambda self, *a, **k: None
    ):
        try:
            main()
        except _Ended as end:
            return end.kind, end.result, warnings
    raise AssertionError("%s() returned without exit_json or fail_json" % getattr(main, "__module__", "main"))


def load_script(path, name):
    """Import a role's script (a file without .py or outside any package) as module `name`."""
    import importlib.machinery
    import importlib.util

    loader = importlib.machinery.SourceFileLoader(name, path)
    spec = importlib.util.spec_from_loader(name, loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def free_port(udp=False, ipv6=False):
    """A port free on 127.0.0.1 (and ::1 when ipv6) for TCP, and for UDP too when udp.

    Free when asked is not free when a server binds it a moment later (the other tests run
    on); a test that starts a server on it retries with another port when the bind fails."""
    kinds = [socket.SOCK_STREAM] + ([socket.SOCK_DGRAM] if udp else [])
    hosts = [(socket.AF_INET, "127.0.0.1")] + ([(socket.AF_INET6, "::1")] if ipv6 else [])
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        try:
            for family, host in hosts:
                for kind in kinds:
                    with socket.socket(family, kind) as other:
                        other.bind((host, port))
            return port
        except OSError:
            continue
    raise RuntimeError("no free port on loopback after 50 tries")


def write_file(path, data, mode=0o644):
    """path (a pathlib.Path) holding data (bytes) with mode: a configuration file as found on a host."""
    path.write_bytes(data)
    path.chmod(mode)
    return path


def stub_command(bindir, name, body):
    """An executable sh script bindir/name (a stand-in for a system tool on PATH)."""
    path = bindir / name
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    return path


def run_probe(script, args, path):
    """Run a role's read-only probe as its task does (`python3 -c SOURCE ARGS_JSON`) with PATH
    set to path; return (stdout, parsed JSON). A non-zero exit fails the test."""
    import json
    import os
    import subprocess

    with open(script, encoding="utf-8") as handle:
        source = handle.read()
    proc = subprocess.run([sys.executable, "-c", source, json.dumps(args)], capture_output=True, text=True,
                          env=dict(os.environ, PATH=path), check=False)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout, json.loads(proc.stdout)


@contextlib.contextmanager
def loopback_http(routes, ssl_context=None):
    """An HTTP server on 127.0.0.1 (HTTPS with ssl_context) answering GET path with routes[path],
    a (status, body bytes) pair, and 404 for any other path; yields its port."""
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's name
            status, body = routes.get(self.path, (404, b""))
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    if ssl_context is not None:
        server.socket = ssl_context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
