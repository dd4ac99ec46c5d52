#!/usr/bin/env python3
"""The test lab: podman containers running systemd on separate networks.

One tool for Molecule (create/destroy playbooks), `make demo` and the benchmarks:

    lab.py up   --lab NAME --topology flat [--ipv6] [--instance-config FILE]
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

TOOLS_IMAGE = "localhost/jellyfin-remote-lab-tools:{suite}"

# host -> networks (its first network is where its name points), image ("base" or "tools"),
# capabilities, devices, sysctls, static routes (destination network, via host, via that
# host's network), and setup steps run from lab.py once every host is up.
# The server's second network, podman's default one, is its uplink to Debian's mirror (the
# roles under test install packages). The lab's own networks are all podman-internal: with
# br_netfilter, podman's NAT rules for a non-internal network would rewrite the lab's own
# routed traffic on the bridge.
UPLINK = "podman"
_SERVER = {
    "networks": ["lan", UPLINK],
    "caps": ["NET_ADMIN"],
    "devices": ["/dev/net/tun"],
    "routes": [("wan", "router", "lan")],
    # Multicast (SSDP discovery of the router) leaves by the lan, not by the uplink, as it
    # would on a home server with one network card.
    "multicast": "lan",
}
_INTERNET = {
    "networks": ["wan"],
    "image": "tools",
    "caps": ["NET_ADMIN", "NET_RAW"],
    "devices": ["/dev/net/tun"],
    "aliases": ["echo.lab"],
    "setup": ["internet_services"],
}
TOPOLOGIES = {
    # server -- lan -- router -- wan -- internet; the router only forwards (no NAT), so the
    # server sees the internet host's own address.
    "flat": {
        "networks": {"lan": {"internal": True}, "wan": {"internal": True}},
        "hosts": {
            "server": _SERVER,
            "router": {
                "networks": ["lan", "wan"],
                "caps": ["NET_ADMIN", "NET_RAW"],
                "sysctls": ["net.ipv4.ip_forward=1"],
            },
            "internet": dict(_INTERNET, routes=[("lan", "router", "wan")]),
        },
    },
    # A home router that NATs the lan behind its wan address and runs miniupnpd (UPnP IGD
    # and NAT-PMP). Its wan address is the address the internet sees: port forwarding works.
    "nat": {
        "networks": {"lan": {"internal": True}, "wan": {"internal": True}},
        "hosts": {
            "server": _SERVER,
            "router": {
                "networks": ["lan", "wan"],
                "image": "tools",
                "caps": ["NET_ADMIN", "NET_RAW"],
                "sysctls": ["net.ipv4.ip_forward=1"],
                "setup": ["home_router"],
                "stun": True,
            },
            "internet": _INTERNET,
        },
    },
    # The same home router, but its wan side is the carrier's 100.64.0.0/10 network and the
    # carrier NATs again (CGNAT): the internet sees the carrier's address, and miniupnpd
    # refuses mappings (501) and reports no usable external address.
    "cgnat": {
        "networks": {"lan": {"internal": True}, "cgn": {"internal": True, "subnet_in": "100.64.0.0/10"},
                     "wan": {"internal": True}},
        "hosts": {
            "server": _SERVER,
            "router": {
                "networks": ["lan", "cgn"],
                "image": "tools",
                "caps": ["NET_ADMIN", "NET_RAW"],
                "sysctls": ["net.ipv4.ip_forward=1"],
                "routes": [("wan", "carrier", "cgn")],
                "setup": ["home_router"],
            },
            "carrier": {
                "networks": ["cgn", "wan"],
                "image": "tools",
                "caps": ["NET_ADMIN", "NET_RAW"],
                "sysctls": ["net.ipv4.ip_forward=1"],
                "routes6": [("lan", "router", "cgn")],
                "setup": ["carrier_nat"],
            },
            # IPv6 (--ipv6 only): the carrier routes the home's prefix natively (no NAT66).
            "internet": dict(_INTERNET, routes6=[("lan", "carrier", "wan")]),
        },
        # With --ipv6: every lab network gets a ULA /64 beside its IPv4 subnet (standing in for
        # the ISP's global prefix); the carrier forwards IPv6 both ways without NAT, the home
        # router forwards lan -> wan and drops new inbound IPv6 unless miniupnpd opened a
        # pinhole (IGDv2 WANIPv6FirewallControl), as a home router does.
    },
}
# IPv6 /64s for the lab networks (--ipv6) come from this ULA /48, IPv4 subnets of those
# networks from podman's default pool (a network created with an explicit IPv6 subnet gets
# no IPv4 subnet unless it is given one as well).
IPV6_POOL = "fd6a:6672:1ab0::/48"
IPV4_POOL = "10.89.0.0/16"

# A VPS on the internet side for the vps_relay method (issue 22): the cgnat lab plus a relay host
# with a public lab address (the wan network), which the home dials out to over WireGuard. It
# gets podman's uplink as its second network for Debian's mirror (it installs WireGuard and the
# reverse proxy) and /dev/net/tun for wireguard-go when the kernel has no WireGuard module.
_RELAY = {
    "networks": ["wan", UPLINK],
    "fixed_ip": {"wan": 10},  # the internet host's second address is the 6th from the end
    "caps": ["NET_ADMIN"],
    "devices": ["/dev/net/tun"],
}
TOPOLOGIES["cgnat_relay"] = {
    "networks": TOPOLOGIES["cgnat"]["networks"],
    "hosts": dict(TOPOLOGIES["cgnat"]["hosts"], relay=_RELAY),
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
    return (data["State"]["Pid"], {net: info["IPAddress"] for net, info in nets.items()},
            {net: info.get("GlobalIPv6Address") for net, info in nets.items()})


def _nsenter(pid, *cmd, stdin=None):
    proc = subprocess.run(["nsenter", "-t", str(pid), "-n", *cmd], input=stdin, capture_output=True,
                          text=True, check=False)
    if proc.returncode != 0:
        raise LabError("%s in pid %s: %s" % (" ".join(cmd), pid, proc.stderr.strip()))
    return proc.stdout


def _put(container, path, content, mode="0644"):
    """Write a file into a container (content never goes on a command line)."""
    proc = subprocess.run(
        ["podman", "exec", "-i", container, "sh", "-c",
         'mkdir -p "$(dirname "$1")" && cat > "$1" && chmod "$2" "$1"', "sh", path, mode],
        input=content, env=_env(), capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise LabError("writing %s in %s: %s" % (path, container, proc.stderr.strip()))


def _sh(container, script):
    proc = podman("exec", container, "sh", "-ec", script, check=False)
    if proc.returncode != 0:
        raise LabError("%s: %s\n%s" % (container, script.strip().splitlines()[0], (proc.stderr or "").strip()))
    return proc.stdout


def _ifname(pid, address):
    """The interface inside a container's namespace that holds address."""
    for link in json.loads(_nsenter(pid, "ip", "-j", "addr", "show")):
        for info in link.get("addr_info", []):
            if info.get("local") == address:
                return link["ifname"]
    raise LabError("no interface holds %s in pid %s" % (address, pid))


def _wait_systemd(name, timeout=180):
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        proc = podman("exec", name, "systemctl", "is-system-running", check=False)
        last = (proc.stdout or "").strip()
        if last in ("running", "degraded"):
            return last
        time.sleep(0.5)
    raise LabError("%s: systemd did not finish booting in %ds (state %r)" % (name, timeout, last))


def _free_subnet(pool, taken=()):
    """The first /24 (IPv6: /64) of pool that no podman network uses (labs may run side by
    side) and that is not in taken."""
    used = set(ipaddress.ip_network(t) for t in taken)
    for net in json.loads(podman("network", "ls", "--format", "json").stdout or "[]"):
        for sub in net.get("subnets") or []:
            used.add(ipaddress.ip_network(sub["subnet"]))
    pool = ipaddress.ip_network(pool)
    for candidate in pool.subnets(new_prefix=24 if pool.version == 4 else 64):
        if candidate.version == 4 and candidate.network_address.packed[2] < 10:
            continue  # keep clear of the first /24s, where real carriers start
        if any(candidate.version == u.version and candidate.overlaps(u) for u in used):
            continue
        return str(candidate)
    raise LabError("no free /24 left in %s" % pool)


def _fixed_ip(spec, net, subnets):
    """":ip=ADDR" for a host that keeps its address on net across a restart (a VPS keeps its
    public address when it reboots; podman would hand out the next free one): "fixed_ip" maps
    the network to an offset from the end of its subnet."""
    offset = spec.get("fixed_ip", {}).get(net)
    if offset is None:
        return ""
    subnet = ipaddress.ip_network(subnets[net])
    return ":ip=%s" % (subnet.network_address + subnet.num_addresses - offset)


def _image_for(kind, base_image):
    if kind != "tools":
        return base_image
    suite = base_image.rsplit(":", 1)[-1]
    return TOOLS_IMAGE.format(suite=suite)


def up(lab, topology, image, state_dir, instance_config=None, inventory=None, ipv6=False):
    _check_lab_name(lab)
    if topology not in TOPOLOGIES:
        raise LabError("topology %r: choose one of %s" % (topology, ", ".join(sorted(TOPOLOGIES))))
    if ipv6 and topology != "cgnat":
        raise LabError("--ipv6: only the cgnat topology has IPv6 so far, not %r" % topology)
    topo = TOPOLOGIES[topology]
    for spec in topo["hosts"].values():
        wanted = _image_for(spec.get("image"), image)
        if podman("image", "exists", wanted, check=False).returncode != 0:
            raise LabError("image %s is missing: run tests/lab/image.sh first (make image)" % wanted)
    down(lab, state_dir, quiet=True)
    subnets, subnets6 = {}, {}
    for net, spec in topo["networks"].items():
        args = ["network", "create", "--label", "jfr.lab=%s" % lab]
        if spec.get("internal"):
            args.append("--internal")
        if spec.get("subnet_in"):
            args += ["--subnet", _free_subnet(spec["subnet_in"])]
        elif ipv6:
            args += ["--subnet", _free_subnet(IPV4_POOL)]
        if ipv6:
            args += ["--ipv6", "--subnet", _free_subnet(IPV6_POOL, taken=subnets6.values())]
        podman(*args, network_name(lab, net))
        info = json.loads(podman("network", "inspect", network_name(lab, net)).stdout)[0]
        for sub in info["subnets"]:
            if ipaddress.ip_network(sub["subnet"]).version == 4:
                subnets[net] = sub["subnet"]
            else:
                subnets6[net] = sub["subnet"]

    hosts = {}
    for host, spec in topo["hosts"].items():
        name = container_name(lab, host)
        args = [
            "run", "-d", "--name", name, "--hostname", host,
            "--label", "jfr.lab=%s" % lab, "--systemd=always",
        ]
        for net in spec["networks"]:
            args += ["--network", net if net == UPLINK else network_name(lab, net) + _fixed_ip(spec, net, subnets)]
        for cap in spec.get("caps", []):
            args += ["--cap-add", cap]
        for dev in spec.get("devices", []):
            if os.path.exists(dev):
                args += ["--device", dev]
        for sysctl in spec.get("sysctls", []):
            args += ["--sysctl", sysctl]
        for ulimit in ULIMITS:
            args += ["--ulimit", ulimit]
        if ipv6 and "net.ipv4.ip_forward=1" in spec.get("sysctls", []):
            args += ["--sysctl", "net.ipv6.conf.all.forwarding=1"]
        args += [_image_for(spec.get("image"), image), "/sbin/init"]
        podman(*args)
        pid, addresses, addresses6 = _inspect_addresses(name)
        hosts[host] = {
            "container": name,
            "pid": pid,
            "addresses": {net: addresses[net if net == UPLINK else network_name(lab, net)]
                          for net in spec["networks"]},
        }
        hosts[host]["interfaces"] = {net: _ifname(pid, addr) for net, addr in hosts[host]["addresses"].items()}
        if ipv6:
            hosts[host]["addresses6"] = {net: addresses6[network_name(lab, net)]
                                         for net in spec["networks"] if net != UPLINK}

    # Routes through the routers, and names for every lab host in every /etc/hosts.
    for host, spec in topo["hosts"].items():
        for dest_net, via_host, via_net in spec.get("routes", []):
            _nsenter(hosts[host]["pid"], "ip", "route", "replace", subnets[dest_net],
                     "via", hosts[via_host]["addresses"][via_net])
        if ipv6:
            # The same routes for IPv6, and those only IPv6 has (the carrier does not NAT it).
            for dest_net, via_host, via_net in spec.get("routes", []) + spec.get("routes6", []):
                _nsenter(hosts[host]["pid"], "ip", "-6", "route", "replace", subnets6[dest_net],
                         "via", hosts[via_host]["addresses6"][via_net])
        if spec.get("multicast"):
            _nsenter(hosts[host]["pid"], "ip", "route", "replace", "224.0.0.0/4",
                     "dev", hosts[host]["interfaces"][spec["multicast"]])
    for host in hosts:
        _wait_systemd(hosts[host]["container"])
    lines = []
    for host, info in hosts.items():
        primary = info["addresses"][topo["hosts"][host]["networks"][0]]
        lines.append(" ".join([primary, host] + topo["hosts"][host].get("aliases", [])))
    for host, info in hosts.items():
        podman("exec", info["container"], "sh", "-c",
               "printf '%s\\n' \"$@\" >> /etc/hosts", "sh", *lines)

    state = {"lab": lab, "topology": topology, "image": image, "subnets": subnets, "hosts": hosts}
    if ipv6:
        state["subnets6"] = subnets6
    # The outside first: the home router asks the internet host's STUN server at start.
    for step, function in SETUP_STEPS.items():
        for host, spec in topo["hosts"].items():
            if step in spec.get("setup", []):
                function(state, host)

    os.makedirs(state_dir, exist_ok=True)
    with open(state_path(state_dir, lab), "w", encoding="utf-8") as handle:
        json.dump(state, handle, indent=2, sort_keys=True)
    if instance_config:
        write_instance_config(state, instance_config)
    if inventory:
        write_inventory(state, inventory, state_path(state_dir, lab))
    return state


# -- setup steps -----------------------------------------------------------------------------

def _nat_ruleset(lan_if, wan_if, upnp, ipv6=False, route_ipv6=False):
    """A home router's nftables: forward lan -> wan, masquerade out of wan, and (with upnp)
    the chains miniupnpd fills (its defaults: table inet filter, chains miniupnpd,
    prerouting_miniupnpd, postrouting_miniupnpd). With ipv6 only IPv4 is masqueraded (IPv6
    is routed, never NATed); route_ipv6 (the carrier) forwards every IPv6 packet both ways.
    New inbound IPv6 at the home router meets the forward chain's drop policy unless
    miniupnpd's chain holds a pinhole for it."""
    upnp_jump = "        jump miniupnpd\n" if upnp else ""
    upnp_pre = "        jump prerouting_miniupnpd\n" if upnp else ""
    upnp_post = "        jump postrouting_miniupnpd\n" if upnp else ""
    upnp_chains = ("    chain miniupnpd {\n    }\n    chain prerouting_miniupnpd {\n    }\n"
                   "    chain postrouting_miniupnpd {\n    }\n") if upnp else ""
    return (
        "flush ruleset\n"
        "table inet filter {\n"
        "    chain forward {\n"
        "        type filter hook forward priority 0; policy drop;\n"
        "        ct state established,related accept\n"
        "        iifname \"%(lan)s\" oifname \"%(wan)s\" accept\n"
        "%(route6)s"
        "%(jump)s"
        "    }\n"
        "    chain prerouting {\n"
        "        type nat hook prerouting priority -100; policy accept;\n"
        "%(pre)s"
        "    }\n"
        "    chain postrouting {\n"
        "        type nat hook postrouting priority 100; policy accept;\n"
        "%(post)s"
        "        %(family)soifname \"%(wan)s\" masquerade\n"
        "    }\n"
        "%(chains)s"
        "}\n"
    ) % {"lan": lan_if, "wan": wan_if, "jump": upnp_jump, "pre": upnp_pre, "post": upnp_post,
         "chains": upnp_chains, "family": "meta nfproto ipv4 " if ipv6 else "",
         "route6": "        meta nfproto ipv6 accept\n" if route_ipv6 else ""}


def _wan_net(topology, host):
    return TOPOLOGIES[topology]["hosts"][host]["networks"][1]


def setup_home_router(state, host):
    """NAT plus miniupnpd (UPnP IGD + NAT-PMP) on the lan side.

    miniupnpd refuses to forward when its WAN address is private or shared (100.64/10), and
    then answers GetExternalIPAddress with an empty address, as a CGNAT customer's router
    does. The lab's "public" wan is a private range too, so on the nat topology the router
    asks the internet host by STUN (ext_perform_stun): no NAT upstream, so STUN finds the
    address reachable and miniupnpd forwards, reporting that address as external."""
    info = state["hosts"][host]
    lan_if, wan_if = info["interfaces"]["lan"], info["interfaces"][_wan_net(state["topology"], host)]
    ipv6 = "subnets6" in state
    _nsenter(info["pid"], "nft", "-f", "-", stdin=_nat_ruleset(lan_if, wan_if, upnp=True, ipv6=ipv6))
    stun = state["hosts"]["internet"]["addresses"]["wan"]
    use_stun = TOPOLOGIES[state["topology"]]["hosts"][host].get("stun", False)
    conf = "\n".join([
        "# miniupnpd for the test lab (written by tests/lab/lab.py)",
        "ext_ifname=%s" % wan_if,
        "listening_ip=%s" % lan_if,
        "enable_upnp=yes",
        "enable_natpmp=yes",
        "ext_perform_stun=%s" % ("yes" if use_stun else "no"),
        "ext_stun_host=%s" % stun,
        "ext_stun_port=3478",
        "secure_mode=yes",
        "system_uptime=yes",
        "uuid=3d3cec3a-8cf0-11e0-98ee-001a6bd2d07b",
        "friendly_name=Lab home router",
        "allow 1-65535 %s 1-65535" % state["subnets"]["lan"],
        "deny 0-65535 0.0.0.0/0 0-65535",
        "",
    ])
    # IPv6 (lab --ipv6): Debian's miniupnpd is built with IPv6 and IGDv2, so it answers SSDP
    # on the lan's IPv6 too and offers WANIPv6FirewallControl; a pinhole becomes an accept rule
    # in the miniupnpd chain (secure_mode: a client opens pinholes to its own address only).
    # No ipv6_listening_ip: bound to one address it misses the multicast searches (ff02::c)
    # and stops answering on IPv4. With no usable public IPv4 it reports its WAN connection
    # as not connected, which clients must accept (upnpc -i).
    _put(info["container"], "/etc/miniupnpd/lab.conf", conf)
    _put(info["container"], "/etc/systemd/system/lab-miniupnpd.service", "\n".join([
        "[Unit]",
        "Description=miniupnpd (lab home router)",
        "After=network-online.target",
        "[Service]",
        "ExecStart=/usr/sbin/miniupnpd -d -f /etc/miniupnpd/lab.conf",
        "Restart=on-failure",
        "[Install]",
        "WantedBy=multi-user.target",
        "",
    ]))
    _sh(info["container"], "systemctl daemon-reload && systemctl enable --now lab-miniupnpd.service")


def setup_carrier_nat(state, host):
    info = state["hosts"][host]
    ipv6 = "subnets6" in state
    _nsenter(info["pid"], "nft", "-f", "-",
             stdin=_nat_ruleset(info["interfaces"]["cgn"], info["interfaces"]["wan"], upnp=False,
                                ipv6=ipv6, route_ipv6=ipv6))


STUND_UNIT = """[Unit]
Description=STUN server (RFC 3489, stund) for the test lab
After=network-online.target
[Service]
ExecStart=/usr/sbin/stund -h %(ip)s -a %(alt)s
Restart=on-failure
[Install]
WantedBy=multi-user.target
"""


def setup_internet_services(state, host):
    """The outside world's services: IP echo (DNS, HTTP, HTTPS) and STUN. The host gets a
    second address (STUN answers "from another address" from it). A lab CA signs the echo
    certificate; its PEM goes into the state for clients (ca_pem)."""
    info = state["hosts"][host]
    ip = info["addresses"]["wan"]
    net = ipaddress.ip_network(state["subnets"]["wan"])
    alt = str(net.network_address + net.num_addresses - 6)
    _nsenter(info["pid"], "ip", "addr", "add", "%s/%d" % (alt, net.prefixlen), "dev", info["interfaces"]["wan"])
    info["addresses"]["wan_alt"] = alt
    for name, dest, mode in (("ipecho_standin.py", "/usr/lib/ipecho-standin/ipecho_standin.py", "0755"),
                             ("ipecho.service", "/etc/systemd/system/ipecho.service", "0644")):
        with open(os.path.join(HERE, "standins", "ipecho", name), encoding="utf-8") as handle:
            _put(info["container"], dest, handle.read(), mode)
    _sh(info["container"], """
        mkdir -p /etc/jfr-lab && cd /etc/jfr-lab
        # keyUsage on the CA and authorityKeyIdentifier on the leaf: Python 3.13 (Debian 13)
        # verifies with VERIFY_X509_STRICT and refuses certificates without them.
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 \
          -keyout ca.key -out ca.crt -subj /CN=jellyfin-remote-lab-CA \
          -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
        openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
          -keyout echo.key -out echo.csr -subj /CN=echo.lab 2>/dev/null
        printf 'subjectAltName=DNS:echo.lab,IP:%s\\nauthorityKeyIdentifier=keyid\\n' "%s" > echo.ext
        openssl x509 -req -in echo.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 30 \
          -extfile echo.ext -out echo.crt 2>/dev/null
        chmod 0600 ca.key echo.key
    """ % ("%s", ip))
    info["ca_pem"] = podman("exec", info["container"], "cat", "/etc/jfr-lab/ca.crt").stdout
    _put(info["container"], "/etc/default/ipecho-standin",
         "IPECHO_ARGS=--listen %s --cert /etc/jfr-lab/echo.crt --key /etc/jfr-lab/echo.key\n" % ip)
    _put(info["container"], "/etc/systemd/system/stund.service", STUND_UNIT % {"ip": ip, "alt": alt})
    _sh(info["container"], "systemctl daemon-reload && systemctl enable --now ipecho.service stund.service")
    # Both answer before anything relies on them.
    _sh(info["container"], """
        for i in $(seq 1 50); do
          curl -sf -o /dev/null http://%s/ && exit 0; sleep 0.1
        done
        echo "ipecho did not come up" >&2; exit 1
    """ % ip)


SETUP_STEPS = {  # run in this order
    "internet_services": setup_internet_services,
    "carrier_nat": setup_carrier_nat,
    "home_router": setup_home_router,
}


def write_inventory(state, path, state_file):
    """An Ansible inventory for plays run outside Molecule (the demo, benchmarks)."""
    lines = ["---", "all:", "  vars:", "    lab_name: %s" % state["lab"],
             "    lab_state_file: %s" % state_file, "  hosts:"]
    for host, info in sorted(state["hosts"].items()):
        lines += ["    %s:" % host, "      ansible_connection: jellyfin_remote_lab.podman.pipelined", "      ansible_user: root",
                  "      ansible_host: %s" % info["container"]]
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")


def write_instance_config(state, path):
    """Molecule's delegated driver reads this to build its inventory."""
    entries = []
    for host, info in sorted(state["hosts"].items()):
        entries.append(
            "- instance: %s\n  address: %s\n  connection: jellyfin_remote_lab.podman.pipelined\n  user: root\n"
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
    p_up.add_argument("--ipv6", action="store_true", default=os.environ.get("LAB_IPV6", "") in ("1", "true", "yes"),
                      help="IPv6 on the lab networks (cgnat only; LAB_IPV6=1 in the environment does the same)")
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
                       args.instance_config, args.inventory, ipv6=args.ipv6)
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
