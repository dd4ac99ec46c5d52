#!/usr/bin/env python3
"""Streaming throughput, proxy CPU and seek latency of the reverse_proxy role's configs.

Prints figures and ratios; asserts nothing about times (a shared 2-core machine is noisy).
Brings up a lab of its own (`tests/lab/lab.py up --lab rpbench --topology flat`), prepares it
like the Molecule scenarios (stand-in Jellyfin, pebble as the ACME server), and measures on
the server itself (loopback, so only the proxy's cost is seen), through:

  caddy      the role's Caddyfile (Debian's caddy) on ports 10080/10443 instead of 80/443,
             so that it runs beside nginx
  caddy-file Caddy serving the same file itself over the same TLS (Caddy's own ceiling), 10444
  nginx      the role's nginx site (Debian's nginx, certificate from certbot via pebble)
  docs       an nginx site written the way Jellyfin's documentation advises (this project's
             own equivalent: proxy_buffering off with nginx's default buffers, the docs'
             forwarded headers, HTTP/1.0 to the upstream), on port 8443
  minimal    nginx with nothing but proxy_pass (buffering on): the spooling control, 7443
  ceiling    nginx serving the same file itself over the same TLS (the TLS ceiling), 9443
  direct     plain HTTP straight to the stand-in (no proxy, no TLS)

Every config is measured once per round, in the same rounds (--repeat), so a change in the
machine's load touches all of them alike. Figures: MiB/s for GET /Videos/x/stream?static=true
(HTTP/1.1 and HTTP/2), proxy CPU seconds per GiB, median time to first byte of Range
requests at random offsets (a new connection each, as a player's seek), whether nginx
spooled anything to its proxy_temp directory while a slow client (curl --limit-rate) was
reading, and the websocket handshake at /socket through each proxy config.
LAB_IMAGE=localhost/jellyfin-remote-lab:trixie runs it on Debian 13.

    .venv/bin/python benchmarks/reverse_proxy_bench.py [--mib 256] [--repeat 3] [--seeks 10] [--keep]

Traffic: loopback inside the lab's server container, and the lab's own networks (pebble on
the internet container). Debian's mirror is used by apt on the server, as in the scenarios.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LAB = "rpbench"
LAB_PY = os.path.join(REPO, "tests", "lab", "lab.py")
STATE_DIR = os.path.join(REPO, ".cache", "lab")
SHARED = os.path.join(REPO, "molecule", "reverse_proxy_shared")
DOMAIN = "jellyfin.lab.test"
CA_ROOT = "/etc/ssl/lab-pebble-ca.pem"
ISSUING_ROOT = "/etc/ssl/lab-pebble-issuing-root.pem"
STREAM = "/Videos/x/stream?static=true"
TEMP_DIR = "/var/lib/nginx/proxy"
PY = sys.executable

# This project's equivalent of the documentation's advice, and two reference points. The
# certificate is the one certbot got for the role's own nginx site.
BENCH_SITES = """
# Benchmark only (benchmarks/reverse_proxy_bench.py): not written by the role.
server {{
    listen 8443 ssl http2;
    server_name {d};
    ssl_certificate /etc/letsencrypt/live/{d}/fullchain.pem;
    ssl_certificate_key /etc/letsencrypt/live/{d}/privkey.pem;
    ssl_protocols TLSv1.2 TLSv1.3;
    client_max_body_size 20M;
    add_header X-Content-Type-Options "nosniff";
    location / {{
        proxy_pass http://127.0.0.1:8096;
        proxy_set_header Host $host;
        proxy_set_header X-Real-IP $remote_addr;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto $scheme;
        proxy_set_header X-Forwarded-Protocol $scheme;
        proxy_set_header X-Forwarded-Host $http_host;
        proxy_buffering off;
    }}
    location /socket {{
        proxy_pass http://127.0.0.1:8096;
        proxy_http_version 1.1;
        proxy_set_header Upgrade $http_upgrade;
        proxy_set_header Connection "upgrade";
        proxy_set_header Host $host;
        proxy_set_header X-Real-IP $remote_addr;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto $scheme;
        proxy_set_header X-Forwarded-Protocol $scheme;
        proxy_set_header X-Forwarded-Host $http_host;
    }}
}}
server {{
    listen 7443 ssl http2;
    server_name {d};
    ssl_certificate /etc/letsencrypt/live/{d}/fullchain.pem;
    ssl_certificate_key /etc/letsencrypt/live/{d}/privkey.pem;
    location / {{
        proxy_pass http://127.0.0.1:8096;
    }}
}}
server {{
    listen 9443 ssl http2;
    server_name {d};
    ssl_certificate /etc/letsencrypt/live/{d}/fullchain.pem;
    ssl_certificate_key /etc/letsencrypt/live/{d}/privkey.pem;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305;
    location = /Videos/x/stream {{
        alias {media};
        default_type video/mp4;
    }}
}}
"""


def log(msg):
    print("[bench] %s" % msg, file=sys.stderr, flush=True)


def run(argv, env=None, check=True, quiet=False):
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    if check and proc.returncode != 0:
        tail = (proc.stdout + proc.stderr)[-4000:]
        raise SystemExit("command failed (%d): %s\n%s" % (proc.returncode, " ".join(argv[:6]), tail))
    if not quiet and proc.returncode != 0:
        log("rc=%d: %s" % (proc.returncode, " ".join(argv[:6])))
    return proc


class Lab:
    def __init__(self):
        self.env = dict(os.environ)
        self.env.setdefault("CONTAINERS_CONF", os.path.join(REPO, "tests", "lab", "containers.conf"))
        self.env["ANSIBLE_COLLECTIONS_PATH"] = os.path.join(REPO, ".cache", "collections")
        self.env["ANSIBLE_PIPELINING"] = "true"
        self.env["ANSIBLE_GATHERING"] = "explicit"
        self.env["ANSIBLE_PYTHON_INTERPRETER"] = "auto_silent"
        self.env["ANSIBLE_STDOUT_CALLBACK"] = "default"
        self.inventory = os.path.join(STATE_DIR, "%s.inventory.yml" % LAB)
        self.extra = None
        self.state = None

    def up(self):
        run([PY, LAB_PY, "up", "--lab", LAB, "--topology", "flat", "--inventory", self.inventory], env=self.env)
        with open(os.path.join(STATE_DIR, "%s.json" % LAB), encoding="utf-8") as handle:
            self.state = json.load(handle)
        fd, self.extra = tempfile.mkstemp(prefix="rpbench-", suffix=".json")
        with os.fdopen(fd, "w") as handle:
            json.dump({"lab_state": self.state, "lab_proxy_domain": DOMAIN,
                       "lab_acme_ca_root": CA_ROOT}, handle)

    def down(self):
        run([PY, LAB_PY, "down", "--lab", LAB], env=self.env, check=False)
        if self.extra:
            os.unlink(self.extra)

    def container(self, host):
        return self.state["hosts"][host]["container"]

    def sh(self, host, script, check=True):
        return run(["podman", "exec", self.container(host), "sh", "-c", script], env=self.env, check=check)

    def playbook(self, name, server=None):
        env = dict(self.env)
        if server:
            env["REVERSE_PROXY_SERVER"] = server
        run(["ansible-playbook", "-i", self.inventory, "-e", "@" + self.extra, os.path.join(SHARED, name)], env=env)


def proxy_cpu_seconds(lab, kind):
    """utime + stime of the proxy's processes (nginx: master and workers; caddy: its one)."""
    name = {"caddy": "caddy", "nginx": "nginx"}.get(kind)
    if name is None:
        return 0.0
    out = lab.sh("server", "for p in $(pgrep -x %s); do cut -d' ' -f14,15 /proc/$p/stat; done; getconf CLK_TCK" % name).stdout
    lines = out.split()
    tck = int(lines[-1])
    return sum(int(v) for v in lines[:-1]) / tck


def curl_base(port, proto):
    host = "https://%s:%d" % (DOMAIN, port)
    args = "--resolve %s:%d:127.0.0.1 --cacert %s %s" % (DOMAIN, port, ISSUING_ROOT,
                                                         "--http2" if proto == "h2" else "--http1.1")
    return host, args


def download(lab, target, proto):
    """One full download: (MiB/s, bytes, proxy CPU seconds, HTTP version)."""
    if target["port"] is None:
        url, args = "http://127.0.0.1:8096", "--http1.1"
    else:
        url, args = curl_base(target["port"], proto)
    cpu0 = proxy_cpu_seconds(lab, target["proxy"])
    out = lab.sh("server", "curl -sS -o /dev/null -m 120 %s -w '%%{speed_download} %%{size_download} %%{http_version}' '%s%s'"
                 % (args, url, STREAM)).stdout.split()
    cpu = proxy_cpu_seconds(lab, target["proxy"]) - cpu0
    return float(out[0]) / 2**20, int(out[1]), cpu, out[2]


def seek_ttfb(lab, target, seeks, size, seed):
    """Times to first byte (s) of Range requests at random offsets, a new connection each."""
    if target["port"] is None:
        url, args = "http://127.0.0.1:8096", "--http1.1"
    else:
        url, args = curl_base(target["port"], "h1")
    rnd = random.Random(seed)
    offsets = " ".join(str(rnd.randrange(0, size - 2**20)) for _ in range(seeks))
    script = ("for o in %s; do curl -sS -o /dev/null -m 10 %s -r $o-$((o+65535)) -w '%%{time_starttransfer} %%{http_code}\\n' '%s%s'; done"
              % (offsets, args, url, STREAM))
    rows = [line.split() for line in lab.sh("server", script).stdout.splitlines() if line.strip()]
    assert all(r[1] == "206" for r in rows), rows
    return [float(r[0]) for r in rows]


def websocket_status(lab, target):
    """HTTP status of a websocket handshake at /socket (101 when the upgrade went through)."""
    url, args = curl_base(target["port"], "h1")
    out = lab.sh("server", "curl -sS -i -N -m 3 %s -H 'Connection: Upgrade' -H 'Upgrade: websocket' "
                           "-H 'Sec-WebSocket-Version: 13' -H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' "
                           "'%s/socket?deviceId=bench' | head -n1" % (args, url), check=False).stdout.split()
    return out[1] if len(out) > 1 else "none"


def spool_check(lab, target):
    """Read through the proxy at 2 MiB/s for 6 s; meanwhile look for nginx temp files.

    nginx unlinks a proxy temp file as soon as it opens it, so the directory always looks
    empty; and root inside the container may not look at the workers' descriptors (no
    CAP_SYS_PTRACE). So the workers' open descriptors into proxy_temp are read from the
    host, where they are plain processes."""
    url, args = curl_base(target["port"], "h1")
    client = subprocess.Popen(["podman", "exec", lab.container("server"), "sh", "-c",
                               "curl -sS -o /dev/null -m 6 --limit-rate 2M %s '%s%s'" % (args, url, STREAM)],
                              env=lab.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(4)
    pids = run(["podman", "top", lab.container("server"), "hpid", "comm"], env=lab.env).stdout.split("\n")[1:]
    files, size = 0, 0
    for row in pids:
        parts = row.split()
        if len(parts) != 2 or parts[1] != "nginx":
            continue
        fd_dir = "/proc/%s/fd" % parts[0]
        try:
            fds = os.listdir(fd_dir)
        except OSError:
            continue
        for fd in fds:
            try:
                target_path = os.readlink(os.path.join(fd_dir, fd))
                if target_path.startswith(TEMP_DIR + "/"):
                    files += 1
                    size += os.stat(os.path.join(fd_dir, fd)).st_size
            except OSError:
                continue
    client.wait(timeout=60)
    return files, size // 1024


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mib", type=int, default=256, help="size of the stand-in's media file")
    parser.add_argument("--repeat", type=int, default=3, help="rounds; each measures every config once (median)")
    parser.add_argument("--seeks", type=int, default=10, help="Range requests per config and round")
    parser.add_argument("--keep", action="store_true", help="leave the lab up")
    args = parser.parse_args(argv)
    lab = Lab()
    try:
        log("lab up")
        lab.up()
        log("prepare (stand-in Jellyfin, pebble)")
        lab.playbook("prepare.yml")
        lab.sh("server", "sed -i '/^JELLYFIN_STANDIN_MEDIA_MIB=/d' /etc/default/jellyfin && "
                         "echo JELLYFIN_STANDIN_MEDIA_MIB=%d >> /etc/default/jellyfin" % args.mib)
        lab.sh("internet", "curl -sf --cacert /etc/pebble/ca.pem https://localhost:15000/roots/0 > /tmp/root.pem")
        root = lab.sh("internet", "cat /tmp/root.pem").stdout
        subprocess.run(["podman", "exec", "-i", lab.container("server"), "sh", "-c", "cat > %s" % ISSUING_ROOT],
                       input=root, text=True, env=lab.env, check=True)

        log("converge: caddy (gets its certificate), then nginx")
        lab.playbook("converge.yml", "caddy")
        lab.sh("server", "systemctl disable --now caddy")
        lab.playbook("converge.yml", "nginx")
        lab.sh("server", "systemctl restart jellyfin && for i in $(seq 1 600); do "
                         "curl -sf -o /dev/null http://127.0.0.1:8096/health && break; sleep 0.5; done")
        size = int(lab.sh("server", "curl -sI http://127.0.0.1:8096%s | tr -d '\\r' | "
                                    "awk 'tolower($1)==\"content-length:\"{print $2}'" % STREAM).stdout.strip())
        media = "/var/cache/jellyfin/standin-media-%dMiB.bin" % args.mib
        subprocess.run(["podman", "exec", "-i", lab.container("server"), "sh", "-c",
                        "cat > /etc/nginx/conf.d/zz-bench.conf && nginx -t -q && systemctl reload nginx"],
                       input=BENCH_SITES.format(d=DOMAIN, media=media), text=True, env=lab.env, check=True)
        # Caddy beside nginx: the role's Caddyfile unchanged but for its ports (10080/10443;
        # the certificate it got is in its storage), plus Caddy serving the file itself on
        # 10444 (Caddy's own TLS ceiling). So every config is measured in the same rounds.
        subprocess.run(["podman", "exec", "-i", lab.container("server"), "python3", "-c", CADDY_PORTS,
                        DOMAIN, os.path.dirname(media), os.path.basename(media)], env=lab.env, check=True)
        lab.sh("server", "caddy validate --config /etc/caddy/Caddyfile >/dev/null 2>&1 && systemctl start caddy")
        time.sleep(2)
        results = measure_all(lab, args, size)
        for name in ("nginx", "docs", "minimal"):
            log("slow client through %s" % name)
            results[name]["spool"] = spool_check(lab, TARGETS[name])
        for name in ("caddy", "nginx", "docs"):
            results[name]["websocket"] = websocket_status(lab, TARGETS[name])
        load = lab.sh("server", "cat /proc/loadavg").stdout.split()[:3]
    finally:
        if not args.keep:
            log("lab down")
            lab.down()
    report(results, args, load)
    return 0


CADDY_PORTS = """
import sys
domain, root, name = sys.argv[1:4]
path = "/etc/caddy/Caddyfile"
text = open(path, encoding="utf-8").read()
text = text.replace("\\n{\\n", "\\n{\\n\\thttp_port 10080\\n\\thttps_port 10443\\n", 1)
text += "\\n%s:10444 {\\n\\troot * %s\\n\\trewrite /Videos/x/stream /%s\\n\\tfile_server\\n}\\n" % (domain, root, name)
open(path, "w", encoding="utf-8").write(text)
"""

TARGETS = {
    "direct": {"port": None, "proxy": None},
    "caddy": {"port": 10443, "proxy": "caddy"},
    "caddy-file": {"port": 10444, "proxy": "caddy"},
    "nginx": {"port": 443, "proxy": "nginx"},
    "docs": {"port": 8443, "proxy": "nginx"},
    "minimal": {"port": 7443, "proxy": "nginx"},
    "ceiling": {"port": 9443, "proxy": "nginx"},
}
ORDER = ("direct", "caddy", "caddy-file", "nginx", "docs", "minimal", "ceiling")


def measure_all(lab, args, size):
    """Rounds in which every config downloads once per protocol and answers its seeks, so
    a change in the machine's load touches every config alike."""
    raw = {name: {"h1": [], "h2": [], "seeks": []} for name in ORDER}
    for rnd in range(args.repeat):
        log("round %d of %d" % (rnd + 1, args.repeat))
        for name in ORDER:
            target = TARGETS[name]
            for proto in (("h1",) if target["port"] is None else ("h1", "h2")):
                raw[name][proto].append(download(lab, target, proto))
            raw[name]["seeks"] += seek_ttfb(lab, target, args.seeks, size, seed=4242 + rnd)
    out = {}
    for name, r in raw.items():
        out[name] = {"seek_ms": statistics.median(r["seeks"]) * 1000}
        for proto in ("h1", "h2"):
            if r[proto]:
                total = sum(b for _, b, _, _ in r[proto])
                cpu = sum(c for _, _, c, _ in r[proto])
                out[name][proto] = {"mibs": statistics.median(m for m, _, _, _ in r[proto]),
                                    "cpu_per_gib": cpu / (total / 2**30), "version": r[proto][-1][3]}
    return out


def report(results, args, load):
    print("reverse_proxy benchmark: %d MiB stream; %d rounds, each config once per round (medians); "
          "%d seeks per config and round; loopback on the lab server" % (args.mib, args.repeat, args.seeks))
    print("machine load average during the run: %s (other work shares these 2 cores: compare ratios)" % " ".join(load))
    print()
    print("%-10s %11s %11s %15s %15s %10s %s" % ("config", "h1 MiB/s", "h2 MiB/s", "h1 CPU s/GiB", "h2 CPU s/GiB",
                                                  "seek ms", "spooled (files, KiB)"))
    for name in ORDER:
        r = results.get(name)
        if not r:
            continue
        h2 = r.get("h2")
        print("%-10s %11.0f %11s %15s %15s %10.1f %s" % (
            name, r["h1"]["mibs"], "%.0f" % h2["mibs"] if h2 else "-",
            "%.2f" % r["h1"]["cpu_per_gib"] if r["h1"]["cpu_per_gib"] else "-",
            "%.2f" % h2["cpu_per_gib"] if h2 else "-", r["seek_ms"],
            "%d, %d" % r["spool"] if "spool" in r else "-"))
    print("  caddy-file: Caddy serving the file itself over the same TLS (Caddy's own ceiling); "
          "caddy: the role's Caddyfile on ports 10080/10443")
    print()

    def ratio(a, b, proto="h1"):
        return results[a][proto]["mibs"] / results[b][proto]["mibs"]

    def goal(text, value, ok):
        print("  %-58s %6.2f   %s" % (text, value, "met" if ok else "NOT met"))

    print("goals (ratios of median throughput; seek ratio of median time to first byte):")
    for gen in ("nginx", "caddy"):
        for proto in ("h1", "h2"):
            v = ratio(gen, "docs", proto)
            goal("%s / docs config, %s  (goal >= 2.0)" % (gen, proto), v, v >= 2.0)
            v = ratio(gen, "ceiling", proto)
            goal("%s / TLS ceiling, %s  (goal >= 0.5)" % (gen, proto), v, v >= 0.5)
        v = results[gen]["seek_ms"] / results["docs"]["seek_ms"]
        goal("%s seek time / docs config  (goal <= 1.1)" % gen, v, v <= 1.1)
    for proto in ("h1", "h2"):
        v = ratio("caddy-file", "docs", proto)
        print("  %-58s %6.2f   %s" % ("Caddy's own ceiling / docs config, %s" % proto, v,
                                     "" if v >= 2.0 else "below 2.0: no Caddy proxy config can reach the goal"))
        print("  %-58s %6.2f" % ("caddy / Caddy's own ceiling, %s" % proto, ratio("caddy", "caddy-file", proto)))
    for name in ("caddy", "nginx", "docs"):
        status = results[name]["websocket"]
        print("  %-58s %6s   %s" % ("%s: websocket handshake at /socket (goal: 101)" % name, status,
                                     "met" if status == "101" else "NOT met"))
    for name in ("nginx", "docs"):
        files, kib = results[name]["spool"]
        print("  %-58s %6s   %s" % ("%s: spooled to proxy_temp with a slow client (goal: none)" % name,
                                     "%d KiB" % kib, "met" if files == 0 and kib == 0 else "NOT met"))
    files, kib = results["minimal"]["spool"]
    print("  %-58s %6s   %s" % ("control, proxy_pass only (buffering on): spooled", "%d KiB" % kib,
                                 "spooling detected (the check works)" if files else "no spooling seen (check blind?)"))


if __name__ == "__main__":
    sys.exit(main())
