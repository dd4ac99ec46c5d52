#!/usr/bin/env python3
"""OpenVPN next to WireGuard: both roles in one lab run (prints figures, never asserts).

1. Brings up its own lab (`lab.py up --lab vpnbench --topology flat`).
2. Converges the openvpn role (one client) and times its first converge and an unchanged
   re-run; converges the wireguard role (one peer) on the same server.
3. Brings up both tunnels on the internet host (the client) from the exported files: the
   OpenVPN profile with openvpn, the WireGuard configuration with wg-quick (wireguard-go:
   the lab has no kernel module), and measures one TCP stream through each, alternating,
   with the sender/receiver pair of wireguard_bench.py.
4. Removes the lab.

All traffic stays between the lab's containers. Run from the repository root:
    .venv/bin/python benchmarks/vpn_bench.py [--seconds 10] [--rounds 3] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wireguard_bench as wg  # noqa: E402  (the shared lab, playbook and throughput helpers)

LAB = "vpnbench"

PLAYBOOK = """---
- name: VPN benchmark
  hosts: server
  gather_facts: false
  vars:
    lab_state: "{{ lookup('ansible.builtin.file', lab_state_file) | from_json }}"
  roles:
    - role: homelab.jellyfin_remote.%(role)s
      vars:
        %(prefix)s_endpoint_host: "{{ lab_state.hosts.server.addresses.lan }}"
        %(prefix)s_client_export_dir: "%(export)s"
        %(clients)s
"""


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="length of one throughput run (max 10 s)")
    parser.add_argument("--rounds", type=int, default=3, help="throughput runs per tunnel, alternating")
    parser.add_argument("--keep", action="store_true", help="leave the lab up")
    args = parser.parse_args()
    seconds = min(args.seconds, 10.0)

    work = tempfile.mkdtemp(prefix="vpnbench.")
    os.chmod(work, 0o700)
    inventory = os.path.join(work, "inventory.yml")
    books = {}
    for role, prefix, clients in (("openvpn", "openvpn", "openvpn_clients: [bench]"),
                                  ("wireguard", "wireguard", "wireguard_peers: [{name: bench}]")):
        books[role] = os.path.join(work, role + ".yml")
        with open(books[role], "w", encoding="utf-8") as handle:
            handle.write(PLAYBOOK % {"role": role, "prefix": prefix, "export": os.path.join(work, role),
                                     "clients": clients})

    print("lab %s: starting (topology flat)" % LAB, flush=True)
    wg.run([sys.executable, wg.LAB_PY, "up", "--lab", LAB, "--topology", "flat", "--inventory", inventory])
    try:
        state = json.loads(wg.run([sys.executable, wg.LAB_PY, "show", "--lab", LAB]).stdout)
        server = state["hosts"]["server"]["container"]
        client = state["hosts"]["internet"]["container"]
        first, recap1 = wg.timed_playbook(inventory, books["openvpn"], os.path.join(work, "openvpn-1.log"))
        rerun, recap2 = wg.timed_playbook(inventory, books["openvpn"], os.path.join(work, "openvpn-2.log"))
        wg.timed_playbook(inventory, books["wireguard"], os.path.join(work, "wireguard-1.log"))
        print("\n== openvpn role (server + one client, podman connection, machine load %.2f)" % os.getloadavg()[0])
        print("first converge  %6.1f s   %s" % (first, recap1))
        print("re-run          %6.1f s   %s" % (rerun, recap2))

        wg.run(["podman", "cp", os.path.join(work, "openvpn", "bench.ovpn"), "%s:/root/bench.ovpn" % client])
        wg.podman_exec(client, "chmod 0600 /root/bench.ovpn && openvpn --config /root/bench.ovpn --dev tunbench "
                               "--daemon ovpn-bench --writepid /run/ovpn-bench.pid --log /tmp/ovpn-bench.log")
        deadline = time.time() + 30
        while "Initialization Sequence Completed" not in wg.podman_exec(client, "cat /tmp/ovpn-bench.log", check=False):
            if time.time() > deadline:
                raise RuntimeError("the OpenVPN client did not connect: " + wg.podman_exec(client, "tail -5 /tmp/ovpn-bench.log"))
            time.sleep(1)
        cipher = [line for line in wg.podman_exec(client, "cat /tmp/ovpn-bench.log").splitlines() if "Data Channel: cipher" in line]
        wg.run(["podman", "cp", os.path.join(work, "wireguard", "bench.conf"), "%s:/etc/wireguard/wg0.conf" % client])
        wg.podman_exec(client, "chmod 0600 /etc/wireguard/wg0.conf")
        wg._up(client, "wg0")
        wg.podman_exec(client, "ping -c 1 -W 3 10.13.13.1 >/dev/null && ping -c 1 -W 3 10.8.0.1 >/dev/null")
        ovpn, wgr = [], []
        for _ in range(max(1, args.rounds)):
            ovpn.append(wg.throughput(server, client, "10.8.0.1", seconds))
            wgr.append(wg.throughput(server, client, "10.13.13.1", seconds))
        o, w = statistics.median(ovpn), statistics.median(wgr)
        print("\n== Tunnel throughput, one TCP stream, %g s per run, %d runs each, same lab and path" % (seconds, len(ovpn)))
        print("openvpn role    %7.1f Mbit/s   runs: %s   (%s)" % (o, ", ".join("%.1f" % v for v in ovpn),
                                                              cipher[-1].split("Data Channel: ")[-1] if cipher else "?"))
        print("wireguard role  %7.1f Mbit/s   runs: %s   (wireguard-go)" % (w, ", ".join("%.1f" % v for v in wgr)))
        print("ratio openvpn/wireguard %.3f" % (o / w if w else float("nan")))
        print("\nlogs in %s" % work)
    finally:
        if not args.keep:
            wg.run([sys.executable, wg.LAB_PY, "down", "--lab", LAB], check=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
