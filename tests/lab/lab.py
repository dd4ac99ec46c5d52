#!/usr/bin/env python3
"""The test lab: podman containers running systemd on separate networks.

One tool for Molecule (create/destroy playbooks), `make demo` and the benchmarks:

    lab.py up   --lab NAME --topology flat [--instance-config FILE]
    lab.py down --lab NAME
    lab.py show --lab NAME            # the state JSON
    lab.py exec --lab NAME HOST -- CMD ...

Topologies (more arrive with the preflight work):
  flat   server on a "lan" network, internet on an internal "wan" network, and a router
         container on both that forwards between them without NAT, so the server sees the
         internet container's own address.

Each host is a container named jfr-<lab>-<host> with systemd as PID 1. The wan network is
podman-internal: nothing on it reaches past the lab. The lan network keeps podman's NAT so
the server can install Debian packages. Routes between the two go through the router; they
are set from the host with nsenter, so no container needs extra privileges for them.

State (names, addresses, subnets) is written to <state-dir>/<lab>.json, where verify tests
and playbooks read it. Only podman, nsenter and ip from the host are used.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
DEFAULT_STATE_DIR = os.path.join(REPO, ".cache", "lab")
DEFAULT_IMAGE = "localhost/jellyfin-remote-lab:bookworm"
ULIMITS = ["nofile=20000:20000", "nproc=32768:32768"]

# host -> networks (first one is its primary), capabilities, devices, sysctls
TOPOLOGIES = {
    "flat": {
        "networks": {"lan": {"internal": False}, "wan": {"internal": True}},
        "hosts": {
            "server": {
                "networks": ["lan"],
                "caps": ["NET_ADMIN"],
                "devices": ["/dev/net/tun"],
                "routes": [("wan", "router", "lan")],
            },
            "router": {
                "networks": ["lan", "wan"],
                "caps": ["NET_ADMIN", "NET_RAW"],
                "sysctls": ["net.ipv4.ip_forward=1"],
            },
            "internet": {
                "networks": ["wan"],
                "caps": ["NET_ADMIN"],
                "devices": ["/dev/net/tun"],
                "routes": [("lan", "router", "wan")],
            },
        },
    },
}


class LabError(Exception):
    pass


def _env():
    env = dict(os.environ)
    env.setdefault("CONTAINERS_CONF", os.path.join(HERE, "containers.conf"))
    return env


def podman(*args, check=True, capture=True):
    proc = subprocess.run(
        ["podman", *args],
        env=_env(),
        stdout=subprocess.PIPE if capture else None,
        stderr=subprocess.PIPE if capture else None,
        text=True,
        check=False,
    )
    if check and proc.returncode != 0:
        raise LabError("podman %s failed (%d): %s" % (" ".join(args), proc.returncode, (proc.stderr or "").strip()))
    return proc


def container_name(lab, host):
    return "jfr-%s-%s" % (lab, host)


def network_name(lab, net):
    return "jfr-%s-%s" % (lab, net)


def state_path(state_dir, lab):
    return os.path.join(state_dir, "%s.json" % lab)


def _check_lab_name(lab):
    if not lab or not all(c.isalnum() or c in "-_" for c in lab) or len(lab) > 40:
        raise LabError("lab name %r: use up to 40 letters, digits, '-' or '_'" % lab)


def _inspect_addresses(name):
    data = json.loads(podman("inspect", name).stdout)[0]
    nets = data["NetworkSettings"]["Networks"]
    return data["State"]["Pid"], {net: info["IPAddress"] for net, info in nets.items()}


def _nsenter(pid, *cmd):
    proc = subprocess.run(["nsenter", "-t", str(pid), "-n", *cmd], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise LabError("%s in pid %s: %s" % (" ".join(cmd), pid, proc.stderr.strip()))


def _wait_systemd(name, timeout=90):
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        proc = podman("exec", name, "systemctl", "is-system-running", check=False)
        last = (proc.stdout or "").strip()
        if last in ("running", "degraded"):
            return last
        time.sleep(0.5)
    raise LabError("%s: systemd did not finish booting in %ds (state %r)" % (name, timeout, last))


def up(lab, topology, image, state_dir, instance_config=None, inventory=None):
    _check_lab_name(lab)
    if topology not in TOPOLOGIES:
        raise LabError("topology %r: choose one of %s" % (topology, ", ".join(sorted(TOPOLOGIES))))
    if podman("image", "exists", image, check=False).returncode != 0:
        raise LabError("image %s is missing: run tests/lab/image.sh first (make image)" % image)
    down(lab, state_dir, quiet=True)
    topo = TOPOLOGIES[topology]
    subnets = {}
    for net, spec in topo["networks"].items():
        args = ["network", "create", "--label", "jfr.lab=%s" % lab]
        if spec.get("internal"):
            args.append("--internal")
        podman(*args, network_name(lab, net))
        info = json.loads(podman("network", "inspect", network_name(lab, net)).stdout)[0]
        subnets[net] = info["subnets"][0]["subnet"]

    hosts = {}
    for host, spec in topo["hosts"].items():
        name = container_name(lab, host)
        args = [
            "run", "-d", "--name", name, "--hostname", host,
            "--label", "jfr.lab=%s" % lab, "--systemd=always",
        ]
        for net in spec["networks"]:
            args += ["--network", network_name(lab, net)]
        for cap in spec.get("caps", []):
            args += ["--cap-add", cap]
        for dev in spec.get("devices", []):
            if os.path.exists(dev):
                args += ["--device", dev]
        for sysctl in spec.get("sysctls", []):
            args += ["--sysctl", sysctl]
        for ulimit in ULIMITS:
            args += ["--ulimit", ulimit]
        args += [image, "/sbin/init"]
        podman(*args)
        pid, addresses = _inspect_addresses(name)
        hosts[host] = {
            "container": name,
            "pid": pid,
            "addresses": {net: addresses[network_name(lab, net)] for net in spec["networks"]},
        }

    # Routes through the router, and names for every lab host in every /etc/hosts.
    for host, spec in topo["hosts"].items():
        for dest_net, via_host, via_net in spec.get("routes", []):
            _nsenter(hosts[host]["pid"], "ip", "route", "replace", subnets[dest_net],
                     "via", hosts[via_host]["addresses"][via_net])
    for host in hosts:
        _wait_systemd(hosts[host]["container"])
    lines = []
    for host, info in hosts.items():
        primary = info["addresses"][topo["hosts"][host]["networks"][0]]
        lines.append("%s %s" % (primary, host))
    for host, info in hosts.items():
        podman("exec", info["container"], "sh", "-c",
               "printf '%s\\n' \"$@\" >> /etc/hosts", "sh", *lines)

    state = {"lab": lab, "topology": topology, "image": image, "subnets": subnets, "hosts": hosts}
    os.makedirs(state_dir, exist_ok=True)
    with open(state_path(state_dir, lab), "w", encoding="utf-8") as handle:
        json.dump(state, handle, indent=2, sort_keys=True)
    if instance_config:
        write_instance_config(state, instance_config)
    if inventory:
        write_inventory(state, inventory, state_path(state_dir, lab))
    return state


def write_inventory(state, path, state_file):
    """An Ansible inventory for plays run outside Molecule (the demo, benchmarks)."""
    lines = ["---", "all:", "  vars:", "    lab_name: %s" % state["lab"],
             "    lab_state_file: %s" % state_file, "  hosts:"]
    for host, info in sorted(state["hosts"].items()):
        lines += ["    %s:" % host, "      ansible_connection: containers.podman.podman",
                  "      ansible_host: %s" % info["container"]]
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")


def write_instance_config(state, path):
    """Molecule's delegated driver reads this to build its inventory."""
    entries = []
    for host, info in sorted(state["hosts"].items()):
        entries.append(
            "- instance: %s\n  address: %s\n  connection: containers.podman.podman\n  user: root\n"
            % (host, info["container"])
        )
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("---\n" + "".join(entries))


def down(lab, state_dir, quiet=False):
    _check_lab_name(lab)
    proc = podman("ps", "-a", "--filter", "label=jfr.lab=%s" % lab, "--format", "{{.Names}}", check=False)
    names = [n for n in (proc.stdout or "").split() if n]
    if names:
        podman("rm", "-f", "-t", "0", *names, check=False)
    proc = podman("network", "ls", "--filter", "label=jfr.lab=%s" % lab, "--format", "{{.Name}}", check=False)
    for net in (proc.stdout or "").split():
        podman("network", "rm", "-f", net, check=False)
    try:
        os.unlink(state_path(state_dir, lab))
    except FileNotFoundError:
        pass
    if not quiet:
        print("lab %s is down" % lab)


def load_state(lab, state_dir=DEFAULT_STATE_DIR):
    with open(state_path(state_dir, lab), encoding="utf-8") as handle:
        return json.load(handle)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--state-dir", default=os.environ.get("LAB_STATE_DIR", DEFAULT_STATE_DIR))
    sub = parser.add_subparsers(dest="command", required=True)
    p_up = sub.add_parser("up")
    p_up.add_argument("--lab", required=True)
    p_up.add_argument("--topology", default="flat")
    p_up.add_argument("--image", default=os.environ.get("LAB_IMAGE", DEFAULT_IMAGE))
    p_up.add_argument("--instance-config", help="write Molecule's instance config here")
    p_up.add_argument("--inventory", help="write an Ansible inventory here")
    p_down = sub.add_parser("down")
    p_down.add_argument("--lab", required=True)
    p_show = sub.add_parser("show")
    p_show.add_argument("--lab", required=True)
    p_exec = sub.add_parser("exec")
    p_exec.add_argument("--lab", required=True)
    p_exec.add_argument("host")
    p_exec.add_argument("cmd", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    try:
        if args.command == "up":
            state = up(args.lab, args.topology, args.image, args.state_dir,
                       args.instance_config, args.inventory)
            for host, info in sorted(state["hosts"].items()):
                print("%-9s %-32s %s" % (host, info["container"], " ".join(
                    "%s=%s" % kv for kv in sorted(info["addresses"].items()))))
        elif args.command == "down":
            down(args.lab, args.state_dir)
        elif args.command == "show":
            print(json.dumps(load_state(args.lab, args.state_dir), indent=2, sort_keys=True))
        elif args.command == "exec":
            state = load_state(args.lab, args.state_dir)
            cmd = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
            if args.host not in state["hosts"]:
                raise LabError("host %r: the lab has %s" % (args.host, ", ".join(sorted(state["hosts"]))))
            return podman("exec", state["hosts"][args.host]["container"], *cmd, check=False, capture=False).returncode
    except (LabError, FileNotFoundError) as exc:
        print("lab: %s" % exc, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
