#!/usr/bin/env python3
"""The wireguard role: converge times and tunnel throughput (prints figures, never asserts).

1. Brings up its own lab (`lab.py up --lab wgbench --topology flat`).
2. Times the role's first converge and an unchanged re-run for a server with one client
   (ansible-playbook against the lab's inventory). The connection is containers.podman.podman
   by default, the one the community role's figures were taken with; `--connection
   jellyfin_remote_lab.podman.pipelined` uses the lab's pipelined connection (as Molecule does).
3. Measures TCP throughput from the internet host (the client) to the server through
   a) the tunnel the role built (its exported client configuration, brought up with wg-quick);
   b) a plain `wg-quick` tunnel with default settings (no PSK, no MTU line, no firewall table)
      on the same path, interface wg1, port 51821.
   A small Python sender/receiver pair (no iperf3: the internet host has no uplink) sends for
   a bounded time (10 s by default); the receiver counts bytes between first byte and EOF.
4. Removes the lab.

All traffic stays between the lab's containers. Run from the repository root:
    .venv/bin/python benchmarks/wireguard_bench.py [--seconds 10] [--rounds 2] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LAB_PY = os.path.join(REPO, "tests", "lab", "lab.py")
LAB = "wgbench"
PORT = 5201

# The community role's figures from the issue, for scale (two containers, this lab).
COMMUNITY_CONVERGE_S = 30.0
COMMUNITY_RERUN_S = 25.0

PLAYBOOK = """---
- name: WireGuard benchmark
  hosts: server
  gather_facts: false
  vars:
    lab_state: "{{ lookup('ansible.builtin.file', lab_state_file) | from_json }}"
  roles:
    - role: homelab.jellyfin_remote.wireguard
      vars:
        wireguard_peers:
          - name: bench
        wireguard_endpoint_host: "{{ lab_state.hosts.server.addresses.lan }}"
        wireguard_client_export_dir: "%(export)s"
"""

RECEIVER = r"""
import socket, sys, time
srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind((sys.argv[1], int(sys.argv[2])))
srv.listen(1)
srv.settimeout(60)
conn, _ = srv.accept()
total, start = 0, None
buf = bytearray(1 << 16)
while True:
    n = conn.recv_into(buf)
    if not n:
        break
    if start is None:
        start = time.monotonic()
    total += n
end = time.monotonic()
print(total, end - (start or end))
"""

SENDER = r"""
import socket, sys, time
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=15)
chunk = b"\0" * (1 << 16)
deadline = time.monotonic() + float(sys.argv[3])
while time.monotonic() < deadline:
    s.sendall(chunk)
s.shutdown(socket.SHUT_WR)
s.recv(1)
s.close()
"""

# A plain wg-quick tunnel with defaults: keys made inside each container (never on a
# command line or in this process), minimal configurations.
PLAIN_SERVER = r"""
set -e
umask 077
d=/root/plain-wg; mkdir -p $d; cd $d
wg genkey > s.key; wg pubkey < s.key > s.pub
"""
PLAIN_CLIENT = PLAIN_SERVER.replace("s.key", "c.key").replace("s.pub", "c.pub")


def env():
    e = dict(os.environ)
    e.setdefault("CONTAINERS_CONF", os.path.join(REPO, "tests", "lab", "containers.conf"))
    e.setdefault("ANSIBLE_COLLECTIONS_PATH", os.path.join(REPO, ".cache", "collections"))
    e["ANSIBLE_PIPELINING"] = "true"
    e["ANSIBLE_GATHERING"] = "explicit"
    e["ANSIBLE_PYTHON_INTERPRETER"] = "auto_silent"
    e["ANSIBLE_NOCOLOR"] = "true"
    e["ANSIBLE_CALLBACKS_ENABLED"] = "ansible.posix.profile_tasks"
    return e


def run(cmd, **kw):
    return subprocess.run(cmd, env=env(), text=True, capture_output=True, check=kw.pop("check", True), **kw)


def podman_exec(container, script, check=True, stdin=None):
    proc = subprocess.run(["podman", "exec", "-i", container, "sh", "-c", script], input=stdin, env=env(),
                          text=True, capture_output=True, check=False)
    if check and proc.returncode != 0:
        raise RuntimeError("%s: %s failed: %s" % (container, script.splitlines()[0][:60], proc.stderr.strip()))
    return proc.stdout


def put(container, path, content):
    podman_exec(container, 'umask 077; cat > "%s"' % path, stdin=content)


def timed_playbook(inventory, playbook, log):
    start = time.monotonic()
    with open(log, "w", encoding="utf-8") as handle:
        proc = subprocess.run(["ansible-playbook", "-i", inventory, playbook], env=env(), stdout=handle,
                              stderr=subprocess.STDOUT, check=False)
    elapsed = time.monotonic() - start
    if proc.returncode != 0:
        raise RuntimeError("ansible-playbook failed, see %s" % log)
    with open(log, encoding="utf-8") as handle:
        recap = [line.strip() for line in handle if line.startswith("server")]
    return elapsed, recap[-1] if recap else ""


def throughput(server, client, address, seconds):
    """Mbit/s of one TCP stream client -> server:address."""
    put(server, "/tmp/bench_recv.py", RECEIVER)
    put(client, "/tmp/bench_send.py", SENDER)
    receiver = subprocess.Popen(["podman", "exec", server, "python3", "/tmp/bench_recv.py", address, str(PORT)],
                                env=env(), text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(1.0)
    podman_exec(client, "python3 /tmp/bench_send.py %s %d %s" % (address, PORT, seconds))
    out, err = receiver.communicate(timeout=seconds + 60)
    if receiver.returncode != 0:
        raise RuntimeError("receiver failed: %s" % err.strip())
    total, elapsed = out.split()
    return int(total) * 8 / float(elapsed) / 1e6


def _up(container, interface, attempts=3):
    """wg-quick up, retried: on a loaded machine wireguard-go's control socket sometimes
    resets the first configuration attempt."""
    for attempt in range(attempts):
        proc = subprocess.run(["podman", "exec", container, "wg-quick", "up", interface], env=env(),
                              text=True, capture_output=True, check=False)
        if proc.returncode == 0:
            return
        podman_exec(container, "wg-quick down %s" % interface, check=False)
        time.sleep(1 + attempt)
    raise RuntimeError("%s: wg-quick up %s failed: %s" % (container, interface, proc.stderr.strip()[-300:]))


def plain_tunnel_up(state):
    server = state["hosts"]["server"]["container"]
    client = state["hosts"]["internet"]["container"]
    podman_exec(server, PLAIN_SERVER)
    podman_exec(client, PLAIN_CLIENT)
    spub = podman_exec(server, "cat /root/plain-wg/s.pub").strip()
    cpub = podman_exec(client, "cat /root/plain-wg/c.pub").strip()
    endpoint = state["hosts"]["server"]["addresses"]["lan"]
    # The private key is read into the file by the shell inside the container.
    podman_exec(server, "umask 077; { printf '[Interface]\\nAddress = 10.14.14.1/24\\nListenPort = 51821\\nPrivateKey = ';"
                        " cat /root/plain-wg/s.key; printf '\\n[Peer]\\nPublicKey = %s\\nAllowedIPs = 10.14.14.2/32\\n'; }"
                        " > /etc/wireguard/wg1.conf" % cpub)
    _up(server, "wg1")
    podman_exec(client, "umask 077; { printf '[Interface]\\nAddress = 10.14.14.2/32\\nPrivateKey = ';"
                        " cat /root/plain-wg/c.key; printf '\\n[Peer]\\nPublicKey = %s\\nEndpoint = %s:51821\\n"
                        "AllowedIPs = 10.14.14.1/32\\n'; }"
                        " > /etc/wireguard/wg1.conf" % (spub, endpoint))
    _up(client, "wg1")
    podman_exec(client, "ping -c 1 -W 3 10.14.14.1 >/dev/null")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="length of one throughput run (max 10 s)")
    parser.add_argument("--rounds", type=int, default=2, help="throughput runs per tunnel, alternating")
    parser.add_argument("--keep", action="store_true", help="leave the lab up")
    parser.add_argument("--connection", default="containers.podman.podman",
                        help="Ansible connection for the timed runs (default: the one the community figures used)")
    args = parser.parse_args()
    seconds = min(args.seconds, 10.0)

    work = tempfile.mkdtemp(prefix="wgbench.")
    os.chmod(work, 0o700)
    inventory = os.path.join(work, "inventory.yml")
    playbook = os.path.join(work, "converge.yml")
    export = os.path.join(work, "clients")
    with open(playbook, "w", encoding="utf-8") as handle:
        handle.write(PLAYBOOK % {"export": export})

    print("lab %s: starting (topology flat)" % LAB, flush=True)
    run([sys.executable, LAB_PY, "up", "--lab", LAB, "--topology", "flat", "--inventory", inventory])
    try:
        # The lab's inventory names its pipelined connection; the timed runs use --connection
        # (an extra var would also replace the local connection of delegated tasks).
        with open(inventory, encoding="utf-8") as handle:
            text = handle.read()
        with open(inventory, "w", encoding="utf-8") as handle:
            handle.write(text.replace("ansible_connection: jellyfin_remote_lab.podman.pipelined",
                                      "ansible_connection: %s" % args.connection))
        state = json.loads(run([sys.executable, LAB_PY, "show", "--lab", LAB]).stdout)
        first, recap1 = timed_playbook(inventory, playbook, os.path.join(work, "converge-1.log"))
        rerun, recap2 = timed_playbook(inventory, playbook, os.path.join(work, "converge-2.log"))
        print("\n== Converge (server + one client, connection %s, machine load %s)"
              % (args.connection, os.getloadavg()[0]))
        print("first converge  %6.1f s   (community role ~%.0f s; goal: no slower)   %s"
              % (first, COMMUNITY_CONVERGE_S, recap1))
        print("re-run          %6.1f s   (community role ~%.0f s; goal: < %.1f s)   %s"
              % (rerun, COMMUNITY_RERUN_S, COMMUNITY_RERUN_S / 2, recap2))
        print("ratios          first/community %.2f, re-run/community %.2f" % (first / COMMUNITY_CONVERGE_S,
                                                                               rerun / COMMUNITY_RERUN_S))

        server = state["hosts"]["server"]["container"]
        client = state["hosts"]["internet"]["container"]
        subprocess.run(["podman", "cp", os.path.join(export, "bench.conf"), "%s:/etc/wireguard/wg0.conf" % client],
                       env=env(), check=True)
        podman_exec(client, "chmod 0600 /etc/wireguard/wg0.conf")
        _up(client, "wg0")
        podman_exec(client, "ping -c 1 -W 3 10.13.13.1 >/dev/null")
        plain_tunnel_up(state)
        role, plain = [], []
        for _ in range(max(1, args.rounds)):
            role.append(throughput(server, client, "10.13.13.1", seconds))
            plain.append(throughput(server, client, "10.14.14.1", seconds))
        r, p = statistics.median(role), statistics.median(plain)
        print("\n== Tunnel throughput, one TCP stream, %g s per run, %d runs each (wireguard-go)" % (seconds, len(role)))
        print("role's tunnel   %7.1f Mbit/s   runs: %s" % (r, ", ".join("%.1f" % v for v in role)))
        print("plain wg-quick  %7.1f Mbit/s   runs: %s" % (p, ", ".join("%.1f" % v for v in plain)))
        print("ratio role/plain %.3f (goal >= 0.95)" % (r / p if p else float("nan")))
        print("\nlogs in %s" % work)
    finally:
        if not args.keep:
            run([sys.executable, LAB_PY, "down", "--lab", LAB], check=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
