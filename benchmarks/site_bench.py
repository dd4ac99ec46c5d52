#!/usr/bin/env python3
"""The site playbook per method: first converge and idempotent re-run times (medians).

For each method (port_forward, reverse_proxy, wireguard, tailscale, cloudflare_tunnel):
1. brings up a fresh NAT lab (`lab.py up --lab sitebench --topology nat`) and prepares it
   with the default scenario's stand-ins (Jellyfin, DDNS provider, pebble, tailscale; the
   cloudflared stand-in for cloudflare_tunnel), so nothing leaves the lab;
2. times `ansible-playbook tests/lab/playbooks/site.yml -e jellyfin_remote_method=<method>`
   on the fresh server (first converge), then --reruns unchanged re-runs, each of which must
   report changed=0;
3. removes the lab. With --rounds N the whole is repeated N times per method.
Prints the median of each, with the run counts, and the load of the machine (2 cores here:
other work on it stretches every figure). Never asserts a time.

Run from the repository root: .venv/bin/python benchmarks/site_bench.py [--rounds 1] [--reruns 3]
    [--methods reverse_proxy,wireguard] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LAB_PY = os.path.join(REPO, "tests", "lab", "lab.py")
LAB = "sitebench"
METHODS = ("port_forward", "reverse_proxy", "wireguard", "tailscale", "cloudflare_tunnel", "openvpn")
CONVERGE = os.path.join(REPO, "tests", "lab", "playbooks", "site.yml")
PREPARE = os.path.join(REPO, "tests", "lab", "playbooks", "site_prepare.yml")
PREPARE_CLOUDFLARED = os.path.join(REPO, "molecule", "cloudflare_tunnel", "prepare.yml")

# What the owner would add for each method on top of the shared inventory (made-up
# credentials in the real shapes; the stand-ins accept them).
METHOD_VARS = {
    # Plain HTTP, named and acknowledged as an owner must (jellyfin_remote_https is the safe way).
    "port_forward": {"jellyfin_remote_accept_plain_http": True},
    "reverse_proxy": {},
    "wireguard": {"wireguard_peers": [{"name": "phone"}, {"name": "laptop"}]},
    "tailscale": {},
    "openvpn": {"openvpn_clients": ["phone", "laptop"]},
    "cloudflare_tunnel": {
        "cloudflare_tunnel_accept_video_terms": True,
        "cloudflare_tunnel_install_packages": False,
        "cloudflare_tunnel_apt_key_url": "file:///srv/lab-apt/cloudflare/cloudflare-main.gpg",
        "cloudflare_tunnel_apt_repository_url": "file:///srv/lab-apt/cloudflare/cloudflared",
        "cloudflare_tunnel_token": "{{ {'a': '0123456789abcdef0123456789abcdef', "
                                   "'s': ('labTokenSecretOne' * 2) | b64encode, "
                                   "'t': '6ff42ae2-765d-4adf-8112-31c55c1551ef'} "
                                   "| to_json(separators=[',', ':']) | b64encode }}",
    },
}


def env(work):
    e = dict(os.environ)
    e.setdefault("CONTAINERS_CONF", os.path.join(REPO, "tests", "lab", "containers.conf"))
    e.setdefault("ANSIBLE_COLLECTIONS_PATH", os.path.join(REPO, ".cache", "collections"))
    e.update(ANSIBLE_PIPELINING="true", ANSIBLE_GATHERING="explicit", ANSIBLE_PYTHON_INTERPRETER="auto_silent",
             ANSIBLE_NOCOLOR="true", MOLECULE_EPHEMERAL_DIRECTORY=work, MOLECULE_PROJECT_DIRECTORY=REPO)
    return e


def playbook(work, inventory, path, extra, log, check=True):
    cmd = ["ansible-playbook", "-i", inventory, "-e", "@" + extra, path]
    start = time.monotonic()
    with open(log, "w", encoding="utf-8") as handle:
        proc = subprocess.run(cmd, env=env(work), stdout=handle, stderr=subprocess.STDOUT, check=False)
    elapsed = time.monotonic() - start
    if check and proc.returncode != 0:
        raise RuntimeError("%s failed, see %s" % (os.path.basename(path), log))
    with open(log, encoding="utf-8") as handle:
        recap = [line.strip() for line in handle if re.match(r"^server\s+:", line)]
    return elapsed, (recap[-1] if recap else "")


def one_round(method, work, reruns, keep):
    inventory = os.path.join(work, "inventory.yml")
    extra = os.path.join(work, "vars-%s.json" % method)
    state_file = os.path.join(REPO, ".cache", "lab", "%s.json" % LAB)
    variables = {
        "lab_state": "{{ lookup('ansible.builtin.file', lab_state_file) | from_json }}",
        "lab_proxy_domain": "jellyfin.ddns.lab.test",
        "lab_acme_ca_root": "/etc/ssl/lab-pebble-ca.pem",
        "lab_acme_target": "{{ lab_state.hosts.router.addresses.wan }}",
        "jellyfin_remote_report_dir": os.path.join(work, "reports"),
        "jellyfin_remote_method": method,
        "wireguard_client_export_dir": os.path.join(work, "wireguard-clients"),
        "openvpn_client_export_dir": os.path.join(work, "openvpn-clients"),
    }
    variables.update(METHOD_VARS[method])
    with open(extra, "w", encoding="utf-8") as handle:
        json.dump(variables, handle)
    subprocess.run([sys.executable, LAB_PY, "down", "--lab", LAB], env=env(work), capture_output=True, check=False)
    subprocess.run([sys.executable, LAB_PY, "up", "--lab", LAB, "--topology", "nat", "--inventory", inventory],
                   env=env(work), capture_output=True, text=True, check=True)
    try:
        assert os.path.exists(state_file)
        playbook(work, inventory, PREPARE, extra, os.path.join(work, "%s-prepare.log" % method))
        if method == "cloudflare_tunnel":
            playbook(work, inventory, PREPARE_CLOUDFLARED, extra, os.path.join(work, "%s-prepare-cf.log" % method))
        first, recap = playbook(work, inventory, CONVERGE, extra, os.path.join(work, "%s-converge.log" % method))
        again = []
        for i in range(reruns):
            elapsed, recap2 = playbook(work, inventory, CONVERGE, extra, os.path.join(work, "%s-rerun%d.log" % (method, i)))
            if not re.search(r"\bchanged=0\b", recap2):
                raise RuntimeError("%s: re-run %d changed something: %s" % (method, i, recap2))
            again.append(elapsed)
        return first, again, recap
    finally:
        if not keep:
            subprocess.run([sys.executable, LAB_PY, "down", "--lab", LAB], env=env(work), capture_output=True, check=False)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=1, help="fresh labs per method (first converges)")
    parser.add_argument("--reruns", type=int, default=3, help="unchanged re-runs per lab")
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--keep", action="store_true", help="leave the last lab up")
    args = parser.parse_args()
    methods = [m for m in args.methods.split(",") if m]
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        parser.error("--methods: unknown %s; choose from %s" % (", ".join(unknown), ", ".join(METHODS)))
    work = tempfile.mkdtemp(prefix="sitebench.")
    os.chmod(work, 0o700)
    rows = []
    for method in methods:
        firsts, reruns = [], []
        for r in range(max(1, args.rounds)):
            print("%s: round %d (fresh NAT lab) ..." % (method, r + 1), flush=True)
            first, again, recap = one_round(method, work, max(1, args.reruns), args.keep and r == args.rounds - 1)
            firsts.append(first)
            reruns += again
            print("  first converge %.1f s (%s); re-runs %s s" % (first, recap, ", ".join("%.1f" % a for a in again)),
                  flush=True)
        rows.append((method, statistics.median(firsts), len(firsts), statistics.median(reruns), len(reruns)))
    print("\n== Site playbook per method (NAT lab, podman connection, load %.2f)" % os.getloadavg()[0])
    print("%-18s %16s %16s %10s" % ("method", "first converge", "re-run (0 chg)", "re-run/first"))
    for method, first, n1, rerun, n2 in rows:
        print("%-18s %9.1f s (n=%d) %9.1f s (n=%d) %10.2f" % (method, first, n1, rerun, n2, rerun / first))
    print("\nlogs in %s" % work)
    return 0


if __name__ == "__main__":
    sys.exit(main())
