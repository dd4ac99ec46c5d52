"""The preflight's probe host side (roles/preflight/files/port_probe.py), run as the role runs it
(python3 -c SOURCE ARGS) against listeners on loopback: the home's listener, a refused port, a box
that answers without being the home."""

from __future__ import annotations

import importlib.util
import os
import socket
import threading
import time

from probes import REPO, run

from ansible_collections.homelab.jellyfin_remote.plugins.module_utils import _port_probe

SCRIPT = os.path.join(REPO, "roles", "preflight", "files", "port_probe.py")
TOKEN = "c3" * 16


def closed_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def echo_box(stop):
    """A box that answers every connection with what it got (a captive portal would answer too)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(4)
    server.settimeout(0.2)

    def serve():
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except socket.timeout:
                continue
            with conn:
                conn.sendall(conn.recv(512))
        server.close()

    threading.Thread(target=serve, daemon=True).start()
    return server.getsockname()[1]


def test_the_home_listener_answers_a_box_echoes_a_closed_port_refuses():
    listeners = _port_probe.Listeners(TOKEN, address="127.0.0.1")
    stop = threading.Event()
    try:
        home = closed_port()
        assert listeners.open(home, home) == home  # no router here: external port = local port
        box, closed = echo_box(stop), closed_port()

        def serve():
            deadline = time.monotonic() + 10
            while listeners.waiting() and time.monotonic() < deadline:
                listeners.serve(0.1)

        server = threading.Thread(target=serve)
        server.start()
        _, out = run(SCRIPT, {"address": "127.0.0.1", "ports": [home, box, closed], "token": TOKEN, "timeout": 3},
                     search_path=os.environ["PATH"])
        server.join()
    finally:
        stop.set()
        listeners.close()
    results = {r["port"]: r for r in out}
    assert [r["port"] for r in out] == [home, box, closed]
    assert results[home]["outcome"] == "connected" and results[home]["reply_ok"] is True
    assert listeners.seen == {home: "127.0.0.1"}
    assert results[box]["outcome"] == "connected" and results[box]["reply_ok"] is False
    assert results[closed]["outcome"] == "refused" and results[closed]["reply_ok"] is False


def test_both_sides_agree_on_the_reply():
    spec = importlib.util.spec_from_file_location("preflight_port_probe", SCRIPT)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    assert script.PREFIX == _port_probe.LINE_PREFIX
    for port in (80, 443, 8443):
        assert script.expected_reply(TOKEN, port) == _port_probe.reply_for(TOKEN, port)
