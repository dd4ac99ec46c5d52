#!/usr/bin/env python3
"""Requests per provider for an unchanged run of ddns_update's logic (not a timed test).

For every provider: seed the stand-in, run the module logic twice (the first run updates,
the second finds nothing to do) and print what the stand-in counted for the second run.
Goal: 1 read, 0 updates. RFC 2136 runs against a real knotd when it is installed.
All traffic stays on loopback. Run from the repository root:
    /tmp/venv/bin/python benchmarks/ddns_requests.py
"""

from __future__ import annotations

import base64
import importlib.util
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROOT = os.path.join(REPO, ".cache", "collections")
LINK = os.path.join(ROOT, "ansible_collections", "homelab", "jellyfin_remote")
if not os.path.islink(LINK):
    os.makedirs(os.path.dirname(LINK), exist_ok=True)
    os.symlink(REPO, LINK)
sys.path.insert(0, ROOT)

from ansible_collections.homelab.jellyfin_remote.plugins.module_utils import _ddns  # noqa: E402

spec = importlib.util.spec_from_file_location("ddns_standin", os.path.join(REPO, "tests/lab/standins/ddns/ddns_standin.py"))
standin_module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(standin_module)


def cases(s):
    dns_read = dict(resolver="127.0.0.1", resolver_port=s.dns_port, allow_insecure_http=True)  # loopback stand-in
    return [
        ("dyndns2", "h.dyn.test", None, dict(username="labuser", password="labpass", base_url=s.base, **dns_read)),
        ("noip", "h.noip.test", None, dict(username="labuser", password="labpass", base_url=s.base + "/noip",
                                           user_agent_contact="admin@lab.test", **dns_read)),
        ("dynu", "h.dynu.test", None, dict(username="labuser", password="labpass", base_url=s.base + "/dynu", **dns_read)),
        ("desec", "h.dedyn.io", None, dict(token="labtoken", base_url=s.base + "/desec", **dns_read)),
        ("duckdns", "h.duckdns.org", None, dict(token="labtoken", base_url=s.base, **dns_read)),
        ("namecheap", "h.nc.test", "nc.test", dict(password="labpass", base_url=s.base + "/namecheap", **dns_read)),
        ("cloudflare", "h.cf.test", "cf.test", dict(token="labtoken", base_url=s.base + "/client/v4")),
        ("porkbun", "h.pb.test", "pb.test", dict(api_key="pk1_lab", secret_api_key="sk1_lab", base_url=s.base + "/api/json/v3")),
    ]


def knot_run():
    knotd = shutil.which("knotd") or ("/usr/sbin/knotd" if os.path.exists("/usr/sbin/knotd") else None)
    if not knotd:
        return None, "knotd not installed"
    d = tempfile.mkdtemp(prefix="ddns-bench-knot.")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    secret = base64.b64encode(os.urandom(32)).decode()
    with open(os.path.join(d, "lab.test.zone"), "w") as f:
        f.write("$ORIGIN lab.test.\n$TTL 300\n@ SOA ns1 hostmaster 1 3600 600 86400 300\n@ NS ns1\nns1 A 127.0.0.1\nh A 192.0.2.1\n")
    with open(os.path.join(d, "knot.conf"), "w") as f:
        f.write("server:\n  rundir: %s\n  listen: 127.0.0.1@%d\ndatabase:\n  storage: %s\ncontrol:\n  listen: %s/knot.sock\n"
                "key:\n  - id: k\n    algorithm: hmac-sha256\n    secret: %s\nacl:\n  - id: a\n    key: k\n    action: update\n"
                "zone:\n  - domain: lab.test\n    storage: %s\n    file: lab.test.zone\n    acl: a\n" % (d, port, d, d, secret, d))
    proc = subprocess.Popen([knotd, "-c", os.path.join(d, "knot.conf")], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        settings = _ddns.Settings(provider="rfc2136", hostname="h.lab.test", zone="lab.test", server="127.0.0.1", server_port=port,
                                  tsig_key_name="k", tsig_key_secret=secret, timeout=2, max_retries=0)
        for _ in range(100):
            try:
                _ddns.make_provider(settings).read_current("A")
                break
            except _ddns.DdnsError:
                time.sleep(0.1)
        _ddns.run(settings, {"A": "198.51.100.7"})
        second = _ddns.run(settings, {"A": "198.51.100.7"})
        return second, None
    finally:
        proc.terminate()
        proc.wait(10)
        shutil.rmtree(d, ignore_errors=True)


def main():
    s = standin_module.start(desec_interval=0)
    print("%-10s %-6s %6s %8s %8s   %s" % ("provider", "types", "reads", "lookups", "updates", "first run (updates)"))
    try:
        for types in (["A"], ["A", "AAAA"]):
            for provider, hostname, zone, extra in cases(s):
                if provider == "namecheap" and "AAAA" in types:
                    continue
                if zone:
                    s.add_zone(zone, provider)
                s.add_host(hostname, provider if provider != "dyndns2" else "dyndns2", {"A": ["192.0.2.1"], "AAAA": ["2001:db8::1"]})
                settings = _ddns.Settings(provider=provider, hostname=hostname, zone=zone, timeout=5, **extra)
                desired = {t: {"A": "198.51.100.7", "AAAA": "2001:db8::7"}[t] for t in types}
                s.reset()
                first = _ddns.run(settings, desired)
                first_updates = s.stats(provider)["updates"]
                s.reset()
                second = _ddns.run(settings, desired)
                st = s.stats(provider)
                assert second["changed"] is False and first["changed"] is True
                print("%-10s %-6s %6d %8d %8d   %d" % (provider, "+".join(types), st["reads"], st["lookups"], st["updates"], first_updates))
        result, reason = knot_run()
        if result is None:
            print("%-10s %-6s skipped: %s" % ("rfc2136", "A", reason))
        else:
            r = result["requests"]
            print("%-10s %-6s %6d %8d %8d   (counted by the client: knotd has no per-client counter)" % ("rfc2136", "A", r["reads"], r["lookups"], r["updates"]))
    finally:
        s.stop()
    print("cloudflare: the zone lookup disappears when zone is given as the 32-hex zone id.")


if __name__ == "__main__":
    main()
