"""Fixtures shared by every scenario's testinfra tests.

The lab's hosts and addresses come from the state file tests/lab/lab.py wrote for this
scenario. Hosts are reached with testinfra's podman backend (about 10x faster than the
ansible backend). Every URL of Jellyfin comes from `jellyfin_url`, the one place to change
to run the same assertions against a real Jellyfin.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import tempfile
import time
import uuid

import pytest
import testinfra

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="session")
def lab():
    name = os.environ.get("LAB_NAME") or os.environ["MOLECULE_SCENARIO_NAME"]
    state_dir = os.environ.get("LAB_STATE_DIR", os.path.join(REPO, ".cache", "lab"))
    with open(os.path.join(state_dir, "%s.json" % name), encoding="utf-8") as handle:
        return json.load(handle)


@pytest.fixture(scope="session", autouse=True)
def saved_secrets(lab):
    """For the molecule gate's leak scan: the secrets the roles created on the server, saved
    (0600, never printed) before any test changes them, since some tests remove them again
    (state absent) before destroy.yml takes its own copy. tests/gates/molecule_scenario.sh
    scans the scenario's output for both sets."""
    logs = os.environ.get("JFR_GATE_LOGS") or os.path.join(REPO, ".cache", "logs")
    os.makedirs(logs, mode=0o700, exist_ok=True)
    path = os.path.join(logs, "%s.verify.secrets.json" % lab["lab"])
    # The server, and the VPS relay where the lab has one (its own WireGuard key, Caddy's key).
    containers = [lab["hosts"][h]["container"] for h in ("server", "relay") if h in lab["hosts"]]
    proc = subprocess.run(
        [sys.executable, os.path.join(REPO, "tests", "gates", "leak_scan.py"),
         *[arg for c in containers for arg in ("--container", c)], "--save-secrets", path],
        capture_output=True, text=True, check=False)
    assert proc.returncode == 0, "collecting the secrets for the leak scan failed: %s" % proc.stderr[-500:]
    return path


def _playbook_command(path, *args):
    """The command line and environment of ansible-playbook as molecule runs it."""
    ephemeral = os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]
    env = dict(os.environ)
    env.setdefault("ANSIBLE_COLLECTIONS_PATH", os.path.join(REPO, ".cache", "collections"))
    env.setdefault("CONTAINERS_CONF", os.path.join(REPO, "tests", "lab", "containers.conf"))
    env["ANSIBLE_CONFIG"] = os.path.join(ephemeral, "ansible.cfg")
    env["ANSIBLE_PIPELINING"] = "true"
    env["ANSIBLE_NOCOLOR"] = "true"
    env["ANSIBLE_FORCE_COLOR"] = "false"  # molecule forces colours, which would win
    return ["ansible-playbook", "-i", os.path.join(ephemeral, "inventory"), *args, path], env


def _save_log(log, text):
    if log:
        with open(os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], log), "w", encoding="utf-8") as handle:
            handle.write(text)


def playbook(path, *args, log=None, timeout=900):
    """Run ansible-playbook on the scenario's own inventory and ansible.cfg, as molecule does.

    Returns the CompletedProcess (stdout and stderr as text); its output is also written to
    log, when given, under the scenario's ephemeral directory."""
    cmd, env = _playbook_command(path, *args)
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False, timeout=timeout)
    _save_log(log, proc.stdout + proc.stderr)
    return proc


def interrupted_playbook(path, *args, until, log=None, timeout=600):
    """Run ansible-playbook as playbook() does and kill it (SIGKILL, with every process it
    started) as soon as until() is true, as a power cut or a closed terminal would. until is
    polled every half second while the run lasts. Returns the output printed before the kill;
    fails the test when the run ended before until() came true (then nothing was interrupted)."""
    cmd, env = _playbook_command(path, *args)
    with tempfile.TemporaryFile("w+", encoding="utf-8") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, text=True,
                                start_new_session=True)
        deadline = time.monotonic() + timeout
        try:
            while not until():
                assert proc.poll() is None, "the run ended (rc %s) before the moment to interrupt it came" % proc.returncode
                assert time.monotonic() < deadline, "the moment to interrupt the run did not come in %d s" % timeout
                time.sleep(0.5)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            out.seek(0)
            text = out.read()
            _save_log(log, text)
    return text


def converge(scenario_dir, extra_vars=None, *args, log=None, timeout=900):
    """Run the scenario's converge.yml again (see playbook()), with extra_vars from a 0600 file
    that is removed afterwards (they may hold keys: never on the command line)."""
    vars_args = []
    handle = None
    if extra_vars:
        handle = tempfile.NamedTemporaryFile("w", suffix=".json", delete=False, encoding="utf-8")
        with handle:
            os.fchmod(handle.fileno(), 0o600)
            json.dump(extra_vars, handle)
        vars_args = ["-e", "@%s" % handle.name]
    try:
        return playbook(os.path.join(scenario_dir, "converge.yml"), *vars_args, *args, log=log, timeout=timeout)
    finally:
        if handle is not None:
            os.unlink(handle.name)


def changed_on_server(proc):
    """The changed= count of the server's line in proc's play recap; fails the test when the
    run failed or printed no recap."""
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    return recap_changed(proc.stdout)


def _host(lab, role):
    return testinfra.get_host("podman://%s" % lab["hosts"][role]["container"])


@pytest.fixture(scope="session")
def server(lab):
    return _host(lab, "server")


@pytest.fixture(scope="session")
def internet(lab):
    return _host(lab, "internet")


PEBBLE_ROOT = "/etc/ssl/lab-pebble-issuing-root.pem"


@pytest.fixture(scope="session")
def pebble_root(internet):
    """The root that issued the lab's ACME certificates, fetched from pebble's management
    endpoint onto the internet host; its path there, for curl --cacert."""
    out = internet.run("curl -sf --cacert /etc/pebble/ca.pem -o %s https://localhost:15000/roots/0" % PEBBLE_ROOT)
    assert out.rc == 0, out.stderr
    return PEBBLE_ROOT


@pytest.fixture(scope="session")
def jellyfin_url():
    """Jellyfin as the outside host reaches it (JELLYFIN_URL overrides)."""
    return os.environ.get("JELLYFIN_URL", "http://server:8096").rstrip("/")


def curl(host, url, *args):
    """Run curl on host; return (status, body). Fails the test on a transport error."""
    cmd = "curl -sS -m 10 -o /tmp/.curl-body -w '%%{http_code}' %s %s && cat /tmp/.curl-body" % (
        " ".join(shlex.quote(a) for a in args),
        shlex.quote(url),
    )
    out = host.run(cmd)
    assert out.rc == 0, "curl %s failed on %s: %s" % (url, host.backend.get_hostname(), out.stderr)
    return int(out.stdout[:3]), out.stdout[3:]


def denied_login_address(client, server_host, base_url, forwarded_for=None):
    """Fail a login from client; return the address Jellyfin logged for it.

    Jellyfin logs every denied login as
    `Authentication request for "<user>" has been denied (IP: "<addr>").`, the one line that
    shows which client address it resolved, on the real server as on the stand-in.
    """
    user = "probe-%s" % uuid.uuid4().hex[:12]
    args = [
        "-X", "POST",
        "-H", "Content-Type: application/json",
        "-H", 'Authorization: MediaBrowser Client="probe", Device="probe", DeviceId="probe", Version="1.0"',
        "--data", json.dumps({"Username": user, "Pw": "wrong"}),
    ]
    if forwarded_for:
        args += ["-H", "X-Forwarded-For: %s" % forwarded_for]
    status, _ = curl(client, base_url + "/Users/AuthenticateByName", *args)
    assert status in (400, 401, 403), status
    line = server_host.run(
        "grep -h %s /var/log/jellyfin/log_*.log" % shlex.quote('Authentication request for "%s"' % user)
    )
    assert line.rc == 0, "no denied-login line for %s in Jellyfin's log" % user
    marker = '(IP: "'
    start = line.stdout.index(marker) + len(marker)
    return line.stdout[start:line.stdout.index('"', start)]


# What "nothing was changed" means on a lab host: its files under /etc /usr /var/lib /srv
# (path, size, mtime, mode, owner), its nftables ruleset and its active units. Logs, caches
# and systemd's own bookkeeping are left out: they change by themselves.
FINGERPRINT_FILES = (
    "find /etc /usr /var/lib /srv -xdev \\( -path /var/lib/systemd -o -path /var/lib/apt/lists "
    "-o -path /var/lib/fail2ban -o -path /var/lib/dpkg/lock-frontend -o -path /var/lib/logrotate \\) -prune "
    "-o -type f -printf '%p %s %T@ %m %u\\n' 2>/dev/null | sort"
)


def fingerprint(host):
    """A comparable picture of host's state: dict files/nft/units (lists of lines)."""
    return {
        "files": host.run(FINGERPRINT_FILES).stdout.splitlines(),
        # Counters count traffic, not configuration: a rule is the same rule with other counts.
        "nft": [re.sub(r"counter packets \d+ bytes \d+", "counter", line)
                for line in host.run("nft list ruleset").stdout.splitlines()],
        "units": sorted(host.run("systemctl list-units --state=active --no-legend --plain | awk '{print $1}'")
                        .stdout.split()),
    }


def fingerprint_diff(before, after):
    """The lines that differ, per part, for an assertion message (empty when equal)."""
    out = {}
    for part in before:
        gone = sorted(set(before[part]) - set(after[part]))
        new = sorted(set(after[part]) - set(before[part]))
        if gone or new:
            out[part] = {"gone": gone[:20], "new": new[:20]}
    return out


HOST_STATE = os.path.join(REPO, "tests", "lab", "playbooks", "files", "host_state.py")


def host_state(host):
    """The content-based picture of tests/lab/playbooks/files/host_state.py (files no package
    owns, accounts, nft ruleset, active units), to compare with one taken before converge."""
    with open(HOST_STATE, encoding="utf-8") as handle:
        return json.loads(host.check_output("python3 -c %s" % shlex.quote(handle.read())))


def state_diff(before, after, package_artefacts=None):
    """What differs between two host_state() pictures, per part (empty when equal). Packages
    are left aside (removal keeps them installed): package_artefacts maps a package installed
    since `before` to the files and accounts its own scripts and service made (they may stay)."""
    out = {}
    allowed = set()
    for package in set(after.get("packages", [])) - set(before.get("packages", [])):
        allowed.update((package_artefacts or {}).get(package, ()))
    files_b, files_a = before["files"], after["files"]
    files = {"gone": sorted(set(files_b) - set(files_a)), "new": sorted(set(files_a) - set(files_b) - allowed),
             "changed": sorted(p for p in set(files_b) & set(files_a) if files_b[p] != files_a[p])}
    if any(files.values()):
        out["files"] = files
    for part in ("users", "nft", "units"):
        gone, new = sorted(set(before[part]) - set(after[part])), sorted(set(after[part]) - set(before[part]) - allowed)
        if gone or new:
            out[part] = {"gone": gone, "new": new}
    return out


def exposure(host, unit):
    """systemd-analyze security's overall exposure level of unit (0 safest, 10 least safe), printed."""
    out = host.run("systemd-analyze security --no-pager %s" % unit)
    assert out.rc == 0, out.stderr
    line = [line for line in out.stdout.splitlines() if "Overall exposure level" in line][-1]
    level = float(line.split(":")[-1].split()[0])
    print("systemd-analyze security: %s %.1f" % (unit, level))
    return level


@contextlib.contextmanager
def listener(host, *ports):
    """Throwaway HTTP servers on every address of host (stand-ins for SSH, Samba, ...), one per
    port, stopped on leaving."""
    units = ["jfr-test-listener-%d" % port for port in ports]
    try:
        for unit, port in zip(units, ports):
            host.check_output("systemd-run --unit %s python3 -m http.server %d --bind 0.0.0.0" % (unit, port))
        for port in ports:
            deadline = time.time() + 20
            while host.run("bash -c 'exec 3<>/dev/tcp/127.0.0.1/%d'" % port).rc != 0:
                assert time.time() < deadline, "the test listener on port %d did not start" % port
                time.sleep(0.2)
        yield
    finally:
        for unit in units:
            host.run("systemctl stop %s" % unit)


def local_network_subnets(host):
    """Jellyfin's LocalNetworkSubnets entries, as network.xml on host holds them."""
    xml = host.file("/etc/jellyfin/network.xml").content_string
    if re.search(r"<LocalNetworkSubnets\s*/>", xml):
        return []  # how Jellyfin writes an empty list
    section = re.search(r"<LocalNetworkSubnets>(.*?)</LocalNetworkSubnets>", xml, re.S)
    assert section, xml
    return re.findall(r"<string>([^<]*)</string>", section.group(1))


# One datagram of zeros, then wait for an answer: a closed port answers with ICMP port
# unreachable (ConnectionRefusedError); a VPN server drops what it cannot authenticate, so an
# open port stays silent until the timeout.
_UDP_PROBE = (
    "import socket, sys\n"
    "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
    "s.settimeout(2)\n"
    "s.connect((sys.argv[1], int(sys.argv[2])))\n"
    "try:\n"
    "    s.send(bytes(32)); s.recv(64); print('answered')\n"
    "except ConnectionRefusedError:\n"
    "    print('closed')\n"
    "except socket.timeout:\n"
    "    print('silent')\n"
)


def udp_port(client, address, port):
    """How a UDP port of address looks from client: 'closed' (ICMP port unreachable),
    'silent' (something takes the datagram and says nothing) or 'answered'."""
    return client.check_output("python3 -c %s %s %d" % (shlex.quote(_UDP_PROBE), shlex.quote(address), port)).strip()


def recap(output, host="server"):
    """The counts of host's last PLAY RECAP line in an ansible-playbook output ({"ok": 12,
    "changed": 0, "failed": 0, ...}): the one reader of the recap. Fails the test without one."""
    recaps = re.findall(r"^%s\s+: ok=.*$" % re.escape(host), re.sub(r"\x1b\[[0-9;]*m", "", output), re.M)
    assert recaps, output[-3000:]
    return {key: int(value) for key, value in re.findall(r"\b(\w+)=(\d+)", recaps[-1])}


def recap_changed(output, host="server"):
    """The changed= count of host's last PLAY RECAP line in an ansible-playbook output."""
    return recap(output, host)["changed"]


def flat(proc):
    """A run's output on one line (ansible-core 2.19 writes task errors to stderr)."""
    return " ".join((proc.stdout + proc.stderr).split())


def router_chain(lab, chain="prerouting_miniupnpd"):
    """One of the lab router's nftables chains (table inet filter) as nft lists it. The default is
    miniupnpd's DNAT chain, the router's own table of IPv4 mappings; "miniupnpd" holds its IPv6
    pinholes."""
    env = dict(os.environ)
    env.setdefault("CONTAINERS_CONF", os.path.join(REPO, "tests", "lab", "containers.conf"))
    out = subprocess.run(["podman", "exec", lab["hosts"]["router"]["container"], "nft", "list", "chain", "inet",
                          "filter", chain], capture_output=True, text=True, env=env, check=False)
    assert out.returncode == 0, out.stderr
    return out.stdout


def router_mappings(lab):
    """The router's UPnP mappings: [(external port, internal address, internal port), ...]."""
    return re.findall(r"dport (\d+) dnat ip to ([\d.]+):(\d+)", router_chain(lab))


PLAYBACK = "/Items/0123456789abcdef0123456789abcdef/PlaybackInfo"
PLAYBACK_AUTH = 'Authorization: MediaBrowser Client="verify", Device="testinfra", DeviceId="verify1", Version="1.0"'


def playback_decisions(server):
    """(limit, client address, "True"/"False") of every playback decision Jellyfin logged
    (MediaInfoHelper's line, logged while RemoteClientBitrateLimit is set: the lab variable
    lab_jellyfin_remote_client_bitrate_limit)."""
    out = server.run("cat /var/log/jellyfin/log_*.log")
    return re.findall(r"RemoteClientBitrateLimit: (\d+), RemoteIP: (\S+), IsInLocalNetwork: (True|False)$",
                      out.stdout, re.M)


def classified(server, requests, expected, timeout=10):
    """Ask for playback from each (client host, Jellyfin base URL) in requests, then wait for
    Jellyfin's decision lines; assert that expected, a set of (client address, "True"/"False"),
    is among them (LAN/remote as Jellyfin classified each client)."""
    for client, base_url in requests:
        status, body = curl(client, base_url + PLAYBACK, "-X", "POST", "-H", PLAYBACK_AUTH)
        assert status == 200, body
    deadline = time.time() + timeout
    while True:
        seen = {(address, local) for _, address, local in playback_decisions(server)}
        if expected <= seen or time.time() > deadline:
            break
        time.sleep(0.2)
    assert expected <= seen, (expected - seen, seen)


def vpn_reaches_only_jellyfin(internet, server, vpn_url, server_vpn):
    """Issue 18, for either VPN role: a lost phone with its profile (the internet host through
    the tunnel) reaches Jellyfin on the host, not a listener on another port (dropped: a
    timeout, not a refusal); ICMP is still answered."""
    with listener(server, 9999):
        assert curl(internet, vpn_url + "/System/Ping")[0] == 200
        blocked = internet.run("curl -sS -m 3 -o /dev/null http://%s:9999/" % server_vpn)
        assert blocked.rc == 28, (blocked.rc, blocked.stderr)
        assert internet.run("ping -c 1 -W 3 %s" % server_vpn).rc == 0


def lan_listed_before_vpn(server, lan, vpn_range):
    """Issue 19, for either VPN role alone: LocalNetworkSubnets lists the LAN it found before the
    VPN range, so LAN clients stay local once the list is not empty."""
    subnets = local_network_subnets(server)
    assert lan in subnets and vpn_range in subnets, subnets
    assert subnets.index(lan) < subnets.index(vpn_range), subnets


def lan_and_vpn_local_internet_remote(server, internet, lab, vpn_url, phone):
    """Issue 19, as Jellyfin itself decides it (its playback decision line): a LAN client and the
    phone through the tunnel are local, the internet host's own address is not."""
    router = testinfra.get_host("podman://%s" % lab["hosts"]["router"]["container"])
    lan_url = "http://%s:8096" % lab["hosts"]["server"]["addresses"]["lan"]
    classified(server, [(router, lan_url), (internet, vpn_url), (internet, lan_url)],
               {(lab["hosts"]["router"]["addresses"]["lan"], "True"), (phone, "True"),
                (lab["hosts"]["internet"]["addresses"]["wan"], "False")})


DOCTOR = os.path.join(REPO, "playbooks", "doctor.yml")
DOCTOR_TEXTFILE = "/var/lib/prometheus/node-exporter/jellyfin_remote.prom"


def doctor(server, log, *args):
    """Run the doctor playbook (with its Prometheus textfile) on the scenario's inventory; check
    that it changed nothing (recap and the server's fingerprint, the textfile aside) and printed
    how long it looked. Returns (the run, its output without colours)."""
    server.run("mkdir -p %s" % os.path.dirname(DOCTOR_TEXTFILE))
    before = fingerprint(server)
    proc = playbook(DOCTOR, "-e", "doctor_textfile_path=%s" % DOCTOR_TEXTFILE, *args, log=log)
    output = re.sub(r"\x1b\[[0-9;]*m", "", proc.stdout + proc.stderr)
    assert recap(output)["changed"] == 0, output[-3000:]
    after = fingerprint(server)
    for state in (before, after):  # the textfile is the doctor's output, written each run
        state["files"] = [line for line in state["files"] if not line.startswith(DOCTOR_TEXTFILE + " ")]
    assert fingerprint_diff(before, after) == {}
    took = re.search(r"looked in ([0-9.]+) s\)", output)
    assert took, output[-3000:]
    print("doctor %s: rc %d, looked in %s s" % (log, proc.returncode, took.group(1)))
    return proc, output


def copy_to(lab, role, src, dest):
    """Copy a controller file into a lab host's container (podman cp, the lab's containers.conf)."""
    env = dict(os.environ)
    env.setdefault("CONTAINERS_CONF", os.path.join(REPO, "tests", "lab", "containers.conf"))
    subprocess.run(["podman", "cp", src, "%s:%s" % (lab["hosts"][role]["container"], dest)], env=env, check=True)


def host_record_section(host, section):
    """A section of the collection's host record on host (None when there is none)."""
    f = host.file("/var/lib/jellyfin-remote/state.json")
    return json.loads(f.content_string)["sections"].get(section) if f.exists else None


def assert_vpn_closed(server, internet, address, section, record, *, port, units, interface, table, files, vpn_url):
    """What a closed VPN server (wireguard/openvpn state absent) looks like on the host and from
    the internet host: units stopped and disabled, interface, table and files gone, forwarding
    back to the recorded value, the UDP port closed, nothing reached through the old tunnel,
    the role's Jellyfin entries gone, its host record section dropped."""
    for unit in units:  # systemctl itself: testinfra's service() fails on a unit whose file was removed
        assert server.run("systemctl is-active %s" % unit).stdout.strip() != "active", unit
        assert server.run("systemctl is-enabled %s" % unit).stdout.strip() != "enabled", unit
    assert server.run("ip link show %s" % interface).rc != 0
    assert server.run("nft list table inet %s" % table).rc != 0
    for path in files:
        assert not server.file(path).exists, path
    for key, value in record["sysctl_before"].items():
        assert server.file("/proc/sys/" + key.replace(".", "/")).content_string.strip() == value, key
    assert server.check_output("ss -Hlun 'sport = :%d'" % port) == ""
    assert udp_port(internet, address, port) == "closed"
    assert internet.run("curl -sS -m 3 -o /dev/null %s/System/Ping" % vpn_url).rc != 0
    assert not set(record["jellyfin_local_subnets_added"]) & set(local_network_subnets(server))
    assert host_record_section(server, section) is None
