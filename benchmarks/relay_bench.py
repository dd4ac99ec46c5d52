#!/usr/bin/env python3
"""Streaming through the VPS relay against the reverse proxy direct, and the tunnel's ceiling.

Issue 22's benchmark. Prints figures and ratios; asserts nothing about times (a shared 2-core
machine is noisy). Brings up two labs of its own with tests/lab/lab.py and converges each with
the collection's site playbook as an owner would run it (tests/lab/playbooks/site.yml):

  direct  lab relaybench-nat, topology nat, method reverse_proxy with the default scenario's
          settings: the lab's stand-ins (tests/lab/playbooks/site_prepare.yml), the name
          jellyfin.ddns.lab.test at the router's wan address, Caddy at home with a certificate
          from the lab's pebble, 443 forwarded by the router (UPnP)
  relay   lab relaybench-relay, topology cgnat_relay, method vps_relay with the vps_relay
          scenario's settings (molecule/vps_relay/prepare.yml; the relay host in the group
          jellyfin_relay with its reverse proxy's variables): the home behind CGNAT dials out to
          the relay over WireGuard, the relay's Caddy takes the viewers in

From each lab's internet host, as a viewer: HTTPS stream throughput (MiB/s, GET
/Videos/x/stream?static=true of the stand-in's media, HTTP/1.1, pebble's chain, --resolve to
the router's / the relay's wan address) and seek time to first byte (Range requests at random
offsets, a new connection each), through reverse_proxy_bench's harness (download, seek_ttfb).
Both paths are measured once per round, in alternating order (--rounds), so a change in the
machine's load touches both alike. Then iperf3 over the tunnel, the relay's ceiling: the server
on the relay (its tunnel address; the bench lets 5201 in from the home's tunnel address for the
run, the role's table is reloaded after), the client at home, a few seconds each way: home ->
relay is the direction of the viewers' streams (iperf3's default: the client sends), relay ->
home the other (-R). iperf3 is installed on both hosts of the relay lab for the bench only.

Printed: per path the median MiB/s and seek TTFB, the proxy's CPU seconds per GiB and its read and
write system calls per GiB with the mean bytes each moved (/proc/<pid>/io), the ratio relay /
direct of throughput (goal >= 0.8), the iperf3 ceiling in Mbit/s each way, the load average
before and after the rounds.

    .venv/bin/python benchmarks/relay_bench.py [--mib 256] [--rounds 3] [--seeks 20] [--iperf-seconds 5] [--keep]

--keep leaves both labs up (relaybench-nat, relaybench-relay; remove them with
`tests/lab/lab.py down --lab NAME`). LAB_IMAGE=localhost/jellyfin-remote-lab:trixie runs it on Debian 13.

Traffic: only the labs' containers, and Debian's mirror for apt in the labs (as the scenarios).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_spec = importlib.util.spec_from_file_location("reverse_proxy_bench",
                                               os.path.join(REPO, "benchmarks", "reverse_proxy_bench.py"))
rpb = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(rpb)

NAT_LAB, RELAY_LAB = "relaybench-nat", "relaybench-relay"
DOMAIN = "jellyfin.ddns.lab.test"
CA_ROOT = "/etc/ssl/lab-pebble-ca.pem"
SITE = os.path.join(REPO, "tests", "lab", "playbooks", "site.yml")
SITE_PREPARE = os.path.join(REPO, "tests", "lab", "playbooks", "site_prepare.yml")
RELAY_PREPARE = os.path.join(REPO, "molecule", "vps_relay", "prepare.yml")
GOAL = 0.8  # relay / direct, median stream throughput (issue 22)
# The vps_relay role's defaults (vps_relay_network 10.87.0.0/30, vps_relay_interface), which
# the bench's relay lab keeps.
RELAY_TUNNEL, HOME_TUNNEL, TUNNEL_IF = "10.87.0.1", "10.87.0.2", "wg-relay"
RELAY_NFT_TABLE = "jellyfin_remote_vps_relay"
IPERF_PORT = 5201
IPERF_PIDFILE = "/run/relaybench-iperf3.pid"
PATHS = ("direct", "relay")
LABELS = {"direct": "direct (reverse_proxy, NAT lab)", "relay": "relay (vps_relay, CGNAT lab)"}

# What each lab adds to the shared inventory (tests/lab/vars/site.yml), as the scenarios do.
RELAY_HOST_VARS = {
    "reverse_proxy_server": "caddy",
    "reverse_proxy_acme_directory": "https://internet:14000/dir",
    "reverse_proxy_acme_ca_root": CA_ROOT,
    "reverse_proxy_acme_email": "admin@lab.test",
}


def lab_vars(path, work):
    """Extra vars for a lab's plays (the default scenario's or the vps_relay scenario's)."""
    common = {
        "lab_state": "{{ lookup('ansible.builtin.file', lab_state_file) | from_json }}",
        "lab_proxy_domain": DOMAIN,
        "lab_acme_ca_root": CA_ROOT,
        "jellyfin_remote_report_dir": os.path.join(work, "reports-%s" % path),
    }
    if path == "direct":
        common.update(jellyfin_remote_method="reverse_proxy",
                      lab_acme_target="{{ lab_state.hosts.router.addresses.wan }}")
    else:
        common.update(jellyfin_remote_method="vps_relay",
                      lab_acme_target="{{ lab_state.hosts.relay.addresses.wan }}",
                      lab_jellyfin_remote_client_bitrate_limit=8000000,
                      lab_site_vars_extra=["../vars/vps_relay.yml"])
    return common


def groups_inventory(path):
    """The groups the scenarios' platforms give (server in jellyfin; the relay in jellyfin_relay
    with its reverse proxy's settings), beside the hosts lab.py's inventory lists."""
    children = {"jellyfin": {"hosts": {"server": {}}}}
    if path == "relay":
        children["jellyfin_relay"] = {"hosts": {"relay": dict(RELAY_HOST_VARS)}}
    return {"all": {"children": children}}


def playbook_env(lab, work):
    env = dict(lab.env)
    env["PATH"] = os.pathsep.join([os.path.dirname(sys.executable), env.get("PATH", "")])
    env.update(ANSIBLE_NOCOLOR="true", MOLECULE_EPHEMERAL_DIRECTORY=work, MOLECULE_PROJECT_DIRECTORY=REPO)
    return env


def playbook(lab, groups, path, work, log_name):
    """ansible-playbook on a lab, its output in work/<log_name>.log (named when it fails)."""
    log_path = os.path.join(work, "%s.log" % log_name)
    start = time.monotonic()
    with open(log_path, "w", encoding="utf-8") as handle:
        proc = subprocess.run(["ansible-playbook", "-i", lab.inventory, "-i", groups, "-e", "@" + lab.extra, path],
                              env=playbook_env(lab, work), stdout=handle, stderr=subprocess.STDOUT, check=False)
    if proc.returncode != 0:
        raise RuntimeError("%s on %s failed (rc %d), see %s" % (os.path.basename(path), lab.name, proc.returncode,
                                                                log_path))
    rpb.log("%s on %s: %.0f s" % (os.path.basename(path), lab.name, time.monotonic() - start))


def converge(lab, groups, path, work, mib):
    """The scenario's prepare, the site playbook, then the stand-in's media at mib MiB."""
    playbook(lab, groups, SITE_PREPARE if path == "direct" else RELAY_PREPARE, work, "%s-prepare" % path)
    playbook(lab, groups, SITE, work, "%s-site" % path)
    lab.sh("server", "sed -i '/^JELLYFIN_STANDIN_MEDIA_MIB=/d' /etc/default/jellyfin && "
                     "echo JELLYFIN_STANDIN_MEDIA_MIB=%d >> /etc/default/jellyfin && systemctl restart jellyfin && "
                     "for i in $(seq 1 600); do curl -sf -o /dev/null http://127.0.0.1:8096/health && exit 0; "
                     "sleep 0.5; done; exit 1" % mib)
    # The issuing root of pebble's chain, for the viewer's curl on the internet host.
    lab.sh("internet", "curl -sf --cacert /etc/pebble/ca.pem -o %s https://localhost:15000/roots/0" % rpb.ISSUING_ROOT)


def target(lab, path):
    """reverse_proxy_bench's target: the viewer on the internet host, the name resolved to the
    router's wan address (direct) or the relay's (relay), port 443."""
    host = "router" if path == "direct" else "relay"
    return {"port": 443, "proxy": "caddy", "proxy_host": "server" if path == "direct" else "relay",
            "client": "internet", "domain": DOMAIN, "address": lab.state["hosts"][host]["addresses"]["wan"]}


def served(lab, tgt):
    """GET /System/Info/Public from the viewer: the HTTP status ('000' when nothing answered)."""
    url, args = rpb.target_url(tgt, "h1")
    return lab.sh(tgt["client"], "curl -s -o /dev/null -m 10 %s -w '%%{http_code}' '%s/System/Info/Public'"
                  % (args, url), check=False).stdout.strip() or "000"


def caddy_io(lab, host):
    """Caddy's read and write system calls and bytes so far on host (/proc/<pid>/io: syscr, syscw,
    rchar, wchar, summed over its processes), to tell how much each read from Jellyfin brought.
    Read from the machine running the lab, where the container's processes are plain processes
    (root inside the container may not read another user's /proc/<pid>/io)."""
    top = rpb.run(["podman", "top", lab.container(host), "hpid", "comm"], env=lab.env).stdout.splitlines()[1:]
    counts = {"syscr": 0, "syscw": 0, "rchar": 0, "wchar": 0}
    for row in top:
        parts = row.split()
        if len(parts) != 2 or parts[1] != "caddy":
            continue
        try:
            with open("/proc/%s/io" % parts[0], encoding="ascii") as handle:
                text = handle.read()
        except OSError:
            continue
        for line in text.splitlines():
            key, _, value = line.partition(":")
            if key in counts and value.strip().isdigit():
                counts[key] += int(value)
    return counts


def io_per_gib(before, after, size):
    """Read/write calls per GiB streamed and the mean bytes each brought, from two caddy_io()."""
    delta = {key: after[key] - before[key] for key in before}
    gib = size / 2**30 if size and delta["syscr"] else 0  # nothing counted: no figure, not 0
    return {"reads_per_gib": delta["syscr"] / gib if gib else None,
            "writes_per_gib": delta["syscw"] / gib if gib else None,
            "bytes_per_read": delta["rchar"] / delta["syscr"] if delta["syscr"] else None,
            "bytes_per_write": delta["wchar"] / delta["syscw"] if delta["syscw"] else None}


def parse_iperf3(text):
    """Mbit/s the receiver counted in an iperf3 -J run (TCP). ValueError with iperf3's own
    message when the run failed, or when the output is not an iperf3 result."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ValueError("iperf3 output is not JSON: %s" % text.strip()[:200]) from exc
    if not isinstance(data, dict):
        raise ValueError("iperf3 output is not an iperf3 result: %s" % text.strip()[:200])
    if data.get("error"):
        raise ValueError("iperf3: %s" % data["error"])
    try:
        return float(data["end"]["sum_received"]["bits_per_second"]) / 1e6
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError("iperf3 result without end.sum_received.bits_per_second") from exc


def mibs_to_mbits(mibs):
    """MiB/s as Mbit/s (10^6 bits), to set a stream beside iperf3's figure."""
    return mibs * 2**20 * 8 / 1e6


def throughput_ratio(results):
    """Median stream throughput through the relay / direct."""
    return results["relay"]["mibs"] / results["direct"]["mibs"]


def verdict(ratio, goal=GOAL):
    return "met" if ratio >= goal else "NOT met"


def summarize(raw):
    """Medians of the rounds: per path mibs, seek_ms, cpu_per_gib (the path's proxy: Caddy at
    home or on the relay) and n, the downloads counted."""
    out = {}
    for path, r in raw.items():
        gib = sum(r["bytes"]) / 2**30
        out[path] = {"mibs": statistics.median(r["mibs"]), "seek_ms": statistics.median(r["seeks"]) * 1000,
                     "cpu_per_gib": sum(r["cpu"]) / gib if gib else None, "n": len(r["mibs"])}
        for key in ("reads_per_gib", "writes_per_gib", "bytes_per_read", "bytes_per_write"):
            out[path][key] = median_or_none([io[key] for io in r.get("io", [])])
    return out


def median_or_none(values):
    """The median of the runs that gave a figure (None when none did)."""
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def round_order(rnd):
    """Both paths each round, the first alternating, so that neither always goes first."""
    return PATHS if rnd % 2 == 0 else PATHS[::-1]


def iperf3_setup(lab):
    """iperf3 on the relay (tunnel address only) and at home; the relay's table lets the
    home's tunnel address reach its port for the run."""
    for host in ("relay", "server"):
        lab.sh(host, "command -v iperf3 >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -q "
                     "--no-install-recommends iperf3 >/dev/null")
    lab.sh("relay", """nft 'insert rule inet %s input iifname "%s" ip saddr %s tcp dport %d accept """
                    """comment "relay_bench only"'""" % (RELAY_NFT_TABLE, TUNNEL_IF, HOME_TUNNEL, IPERF_PORT))
    lab.sh("relay", "iperf3 -s -D -B %s -p %d --pidfile %s && sleep 1" % (RELAY_TUNNEL, IPERF_PORT, IPERF_PIDFILE))


def iperf3_teardown(lab):
    """Stops the bench's iperf3 and reloads the role's table (which drops the bench's rule)."""
    lab.sh("relay", "test -f {p} && kill $(cat {p}); nft -f /etc/wireguard/{i}.nft".format(
        p=IPERF_PIDFILE, i=TUNNEL_IF), check=False)


def iperf3_run(lab, seconds, reverse):
    """Mbit/s over the tunnel from home (the client): home -> relay, or with reverse relay -> home;
    None when iperf3 failed (logged: the streams' figures are kept)."""
    out = lab.sh("server", "iperf3 -c %s -p %d -t %d -J%s" % (RELAY_TUNNEL, IPERF_PORT, seconds,
                                                              " -R" if reverse else ""), check=False)
    try:
        return parse_iperf3(out.stdout)
    except ValueError as exc:
        rpb.log("iperf3%s failed: %s %s" % (" -R" if reverse else "", exc, out.stderr.strip()[-300:]))
        return None


def wireguard_kind(lab):
    """'wireguard-go' when the relay's tunnel runs in user space, else 'kernel'."""
    out = lab.sh("relay", "pgrep -x wireguard-go >/dev/null && echo wireguard-go || echo kernel", check=False)
    return out.stdout.strip() or "unknown"


def report(results, ceiling, args, loads, info):
    print("vps_relay benchmark (issue 22): %d MiB stream, HTTP/1.1 over HTTPS from each lab's internet host; "
          "%d rounds, both paths once per round in alternating order (medians); %d seeks per path and round"
          % (args.mib, args.rounds, args.seeks))
    print("machine load average (1, 5, 15 min) before the rounds: %s, after: %s (2 cores shared with other "
          "work: compare the ratio, measured in the same rounds)" % tuple(" ".join("%.2f" % v for v in load)
                                                                          for load in loads))
    print("tunnel: WireGuard (%s on the relay), MTU %s" % (info.get("wireguard", "?"), info.get("mtu", "?")))
    print()
    print("%-34s %9s %10s %14s %14s" % ("path", "MiB/s", "(Mbit/s)", "seek TTFB ms", "Caddy s/GiB"))
    for path in PATHS:
        r = results[path]
        print("%-34s %9.1f %10.0f %14.1f %14s" % (LABELS[path], r["mibs"], mibs_to_mbits(r["mibs"]), r["seek_ms"],
                                                  "%.2f" % r["cpu_per_gib"] if r["cpu_per_gib"] is not None else "-"))
    print("  Caddy s/GiB: CPU seconds (utime + stime) of the path's Caddy per GiB streamed: at home (direct), "
          "on the relay (relay)")
    print()
    print("%-34s %12s %12s %12s %12s" % ("Caddy's system calls, per path", "reads/GiB", "B/read", "writes/GiB",
                                         "B/write"))
    for path in PATHS:
        r = results[path]
        cells = [("%.0f" % r[key]) if r.get(key) is not None else "-"
                 for key in ("reads_per_gib", "bytes_per_read", "writes_per_gib", "bytes_per_write")]
        print("  %-32s %12s %12s %12s %12s" % tuple([LABELS[path]] + cells))
    print("  from /proc/<caddy>/io (syscr, rchar, syscw, wchar) around each download, medians: reads take in "
          "Jellyfin's response (and the client's request), writes send TLS records to the viewer")
    print()
    ratio = throughput_ratio(results)
    print("  %-62s %6.2f   %s" % ("throughput relay / direct  (goal >= %.1f)" % GOAL, ratio, verdict(ratio)))
    print("  %-62s %6.2f" % ("seek TTFB relay / direct", results["relay"]["seek_ms"] / results["direct"]["seek_ms"]))
    for key, text in (("up", "home -> relay (the viewers' streams)"), ("down", "relay -> home (-R)")):
        label = "iperf3 over the tunnel, %s" % text
        if ceiling[key] is None:
            print("  %-62s %s" % (label, "failed (see the log above)"))
        else:
            print("  %-62s %6.0f Mbit/s" % (label, ceiling[key]))
    if ceiling["up"]:
        print("  %-62s %6.2f" % ("relay stream / iperf3 ceiling (home -> relay)",
                                 mibs_to_mbits(results["relay"]["mibs"]) / ceiling["up"]))


def bring_up(lab, path, work):
    """lab.py up (after removing what a failed run may have left); the groups' inventory file."""
    lab.down()
    lab.up(lab_vars(path, work))
    groups = os.path.join(work, "%s.groups.json" % lab.name)
    with open(groups, "w", encoding="utf-8") as handle:
        json.dump(groups_inventory(path), handle)
    return groups


def measure(labs, args):
    targets = {path: target(labs[path], path) for path in PATHS}
    size = rpb.stream_size(labs["relay"])
    raw = {path: {"mibs": [], "bytes": [], "cpu": [], "seeks": [], "io": []} for path in PATHS}
    ups, downs = [], []
    for rnd in range(args.rounds):
        rpb.log("round %d of %d" % (rnd + 1, args.rounds))
        for path in round_order(rnd):
            io0 = caddy_io(labs[path], targets[path]["proxy_host"])
            mibs, size_got, cpu = rpb.download(labs[path], targets[path], "h1")[:3]
            raw[path]["io"].append(io_per_gib(io0, caddy_io(labs[path], targets[path]["proxy_host"]), size_got))
            raw[path]["mibs"].append(mibs)
            raw[path]["bytes"].append(size_got)
            raw[path]["cpu"].append(cpu)
        for path in round_order(rnd):
            raw[path]["seeks"] += rpb.seek_ttfb(labs[path], targets[path], args.seeks, size, seed=2222 + rnd)
        ups.append(iperf3_run(labs["relay"], args.iperf_seconds, reverse=False))
        downs.append(iperf3_run(labs["relay"], args.iperf_seconds, reverse=True))
    return summarize(raw), {"up": median_or_none(ups), "down": median_or_none(downs)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--mib", type=int, default=256, help="size of the stand-in's media file")
    parser.add_argument("--rounds", type=int, default=3, help="rounds; each measures both paths once (median)")
    parser.add_argument("--seeks", type=int, default=20, help="Range requests per path and round")
    parser.add_argument("--iperf-seconds", type=int, default=5, help="length of each iperf3 run")
    parser.add_argument("--keep", action="store_true", help="leave both labs up")
    args = parser.parse_args(argv)
    for name in ("mib", "rounds", "seeks", "iperf_seconds"):
        if getattr(args, name) < (16 if name == "mib" else 1):
            parser.error("--%s: %d is too small (at least %d)" % (name.replace("_", "-"), getattr(args, name),
                                                                  16 if name == "mib" else 1))
    work = tempfile.mkdtemp(prefix="relaybench.")
    os.chmod(work, 0o700)
    labs = {"direct": rpb.Lab(NAT_LAB, "nat"), "relay": rpb.Lab(RELAY_LAB, "cgnat_relay")}
    try:
        groups = {}
        for path in PATHS:  # one after the other: lab.py picks free subnets
            rpb.log("lab %s up" % labs[path].name)
            groups[path] = bring_up(labs[path], path, work)
        rpb.log("prepare and site playbook on both labs (logs in %s)" % work)
        with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
            jobs = [pool.submit(converge, labs[p], groups[p], p, work, args.mib) for p in PATHS]
            for job in jobs:
                job.result()
        for path in PATHS:
            status = served(labs[path], target(labs[path], path))
            if status != "200":
                raise SystemExit("%s: /System/Info/Public answered %s from the internet host" % (path, status))
        iperf3_setup(labs["relay"])
        info = {"wireguard": wireguard_kind(labs["relay"]),
                "mtu": labs["relay"].sh("server", "cat /sys/class/net/%s/mtu" % TUNNEL_IF).stdout.strip()}
        load_before = os.getloadavg()
        try:
            results, ceiling = measure(labs, args)
        finally:
            iperf3_teardown(labs["relay"])
        load_after = os.getloadavg()
    finally:
        if not args.keep:
            for lab in labs.values():
                rpb.log("lab %s down" % lab.name)
                lab.down()
    report(results, ceiling, args, (load_before, load_after), info)
    print("\nlogs in %s" % work)
    return 0


if __name__ == "__main__":
    sys.exit(main())
