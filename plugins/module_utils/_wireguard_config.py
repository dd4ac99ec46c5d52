# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What only WireGuard needs, for the wireguard role: peer addresses, client files and the
keys and files of peers that left. The server side every VPN shares (networks, the server's
addresses, routes, forwarding) is in _vpn_plan.

Plain Python, no Ansible imports: the filters wireguard_peer_addresses,
wireguard_client_config and wireguard_stale_files are thin wrappers around
assign_addresses(), render_client_config() and stale_peer_files(), so all are unit-tested
directly.

Addresses are *stable*: a peer keeps the address it was given once (the role stores the
assignments on the server), new peers get the lowest free host address, and a removed peer's
address becomes free again. Given addresses always win over stored ones.

Nothing here logs or echoes a key: error messages name the peer and the option, never the
value of a private or preshared key.
"""

from __future__ import annotations

import ipaddress
import re

from ansible_collections.homelab.jellyfin_remote.plugins.module_utils import _vpn_plan, _vpn_settings

NAME_PATTERN = _vpn_settings.PEER_NAME_PATTERN
_NAME = re.compile(NAME_PATTERN)


class WireGuardConfigError(Exception):
    """A problem with the role's inputs. The text never contains key material."""


def _networks(network_ipv4, network_ipv6):
    """The VPN networks (the shared plan's check, with the wireguard role's option names)."""
    try:
        return _vpn_plan.networks(network_ipv4, network_ipv6, "wireguard_network_ipv4", "wireguard_network_ipv6")
    except _vpn_plan.VpnPlanError as exc:
        raise WireGuardConfigError(str(exc)) from None


def check_peer_name(name):
    if not isinstance(name, str) or not _NAME.match(name):
        raise WireGuardConfigError(
            "wireguard_peers: peer name %r must be 1-63 letters, digits, '.', '_' or '-', starting with a "
            "letter or digit (it names the peer's files)" % (name,)
        )
    return name


def _host_address(value, peer):
    try:
        iface = ipaddress.ip_interface(str(value))
    except ValueError:
        raise WireGuardConfigError(
            "wireguard_peers: peer %s has address %r, which is not an IP address" % (peer, value)
        ) from None
    return iface.ip


def assign_addresses(peers, stored=None, network_ipv4="10.13.13.0/24", network_ipv6=None):
    """Give every peer one address per VPN network; return {name: ["10.13.13.2/32", ...]}.

    peers: the role's wireguard_peers list (dicts with name and optionally addresses).
    stored: {name: {"addresses": [...]}} as written by an earlier run (may be empty).
    Order of preference: addresses given in the peer entry, the stored ones (when still
    inside the networks and not taken), then the lowest free host address. The server holds
    the first host address of each network.
    """
    nets = _networks(network_ipv4, network_ipv6)
    stored = stored or {}
    if not isinstance(stored, dict):
        stored = {}
    names = []
    for peer in peers or []:
        if not isinstance(peer, dict):
            raise WireGuardConfigError("wireguard_peers: every entry must be a dictionary with a name")
        names.append(check_peer_name(peer.get("name")))
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise WireGuardConfigError("wireguard_peers: peer names must be unique; repeated: %s" % ", ".join(duplicates))

    used = {net.version: {net.network_address + 1} for net in nets}
    result = {}
    pending = []
    # 1. Given addresses.
    for peer in peers or []:
        name = peer["name"]
        given = peer.get("addresses") or []
        if not given:
            pending.append(name)
            continue
        chosen = {}
        for value in given:
            addr = _host_address(value, name)
            net = next((n for n in nets if n.version == addr.version), None)
            if net is None:
                raise WireGuardConfigError(
                    "wireguard_peers: peer %s has IPv%d address %s but the VPN has no IPv%d network; set "
                    "wireguard_network_ipv6 or remove the address" % (name, addr.version, addr, addr.version)
                )
            if addr not in net or addr in (net.network_address, net.broadcast_address):
                raise WireGuardConfigError(
                    "wireguard_peers: peer %s has address %s, which is not a host address of %s" % (name, addr, net)
                )
            if addr in used[addr.version]:
                raise WireGuardConfigError(
                    "wireguard_peers: peer %s has address %s, which the server or another peer already uses"
                    % (name, addr)
                )
            if addr.version in chosen:
                raise WireGuardConfigError("wireguard_peers: peer %s has more than one IPv%d address" % (name, addr.version))
            chosen[addr.version] = addr
            used[addr.version].add(addr)
        # A given IPv4 address alone still gets an IPv6 one when the VPN has both.
        result[name] = chosen
        if len(chosen) < len(nets):
            pending.append(name)
    # 2. Stored addresses, for the networks still open.
    for name in list(pending):
        entry = stored.get(name) if isinstance(stored.get(name), dict) else {}
        chosen = result.setdefault(name, {})
        for value in entry.get("addresses") or []:
            try:
                addr = ipaddress.ip_interface(str(value)).ip
            except ValueError:
                continue
            net = next((n for n in nets if n.version == addr.version), None)
            if net is None or addr.version in chosen or addr not in net:
                continue
            if addr in (net.network_address, net.broadcast_address) or addr in used[addr.version]:
                continue
            chosen[addr.version] = addr
            used[addr.version].add(addr)
    # 3. Lowest free address for what is still missing, peers in list order.
    for name in pending:
        chosen = result[name]
        for net in nets:
            if net.version in chosen:
                continue
            chosen[net.version] = _lowest_free(net, used[net.version], name)
            used[net.version].add(chosen[net.version])
    return {
        name: ["%s/%d" % (chosen[v], 32 if v == 4 else 128) for v in sorted(chosen)]
        for name, chosen in result.items()
    }


def _lowest_free(net, used, name):
    last = net.broadcast_address if net.version == 4 else net.network_address + (net.num_addresses - 1)
    candidate = net.network_address + 2
    while candidate < last or (net.version == 6 and candidate <= last):
        if candidate not in used:
            return candidate
        candidate += 1
    raise WireGuardConfigError("wireguard_peers: no free address left in %s for peer %s" % (net, name))


def format_endpoint(host, port):
    """host:port, with brackets around an IPv6 address."""
    if not host:
        raise WireGuardConfigError(
            "wireguard_endpoint_host is empty: set it to the public DNS name or address clients connect to"
        )
    try:
        port = int(port)
    except (TypeError, ValueError):
        raise WireGuardConfigError("wireguard_endpoint_port: %r is not a port number" % (port,)) from None
    if not 0 < port < 65536:
        raise WireGuardConfigError("wireguard_endpoint_port: %d is not a port number (1-65535)" % port)
    try:
        host = _vpn_settings.check_host(str(host).strip(), "wireguard_endpoint_host", required=True)
    except _vpn_settings.VpnSettingsError as exc:
        raise WireGuardConfigError(str(exc)) from None
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    try:
        if ipaddress.ip_address(host).version == 6:
            return "[%s]:%d" % (host, port)
    except ValueError:
        pass
    return "%s:%d" % (host, port)


def _check_key(value, what, peer):
    if not isinstance(value, str) or not _vpn_settings.is_key(value.strip()):
        # Never echo the value: it may be a secret.
        raise WireGuardConfigError("client %s: the %s is missing or not a WireGuard key (44 base64 characters)" % (peer, what))
    return value.strip()


def _csv(values):
    return ", ".join(str(v) for v in values)


def render_client_config(settings):
    """The text of a client's wg-quick configuration.

    settings keys: name, private_key, addresses, server_public_key, endpoint_host,
    endpoint_port, allowed_ips; optional preshared_key, dns (list), mtu,
    persistent_keepalive (0 or missing: off).
    """
    if not isinstance(settings, dict):
        raise WireGuardConfigError("wireguard_client_config expects a dictionary of settings")
    name = settings.get("name") or "client"
    if not _NAME.match(str(name)):
        raise WireGuardConfigError("client %r: the name must be 1-63 letters, digits, '.', '_' or '-'" % (name,))
    private_key = _check_key(settings.get("private_key"), "private key", name)
    server_public_key = _check_key(settings.get("server_public_key"), "server's public key", name)
    addresses = list(settings.get("addresses") or [])
    if not addresses:
        raise WireGuardConfigError("client %s: no addresses" % name)
    allowed = list(settings.get("allowed_ips") or [])
    if not allowed:
        raise WireGuardConfigError("client %s: allowed_ips is empty; the tunnel would carry nothing" % name)
    for value in addresses + allowed:
        try:
            ipaddress.ip_network(str(value), strict=False)
        except ValueError:
            raise WireGuardConfigError("client %s: %r is not an IP address or network" % (name, value)) from None
    endpoint = format_endpoint(settings.get("endpoint_host"), settings.get("endpoint_port"))
    try:
        dns = _vpn_settings.check_dns(settings.get("dns") or [], "wireguard_client_dns", search_domains=True)
    except _vpn_settings.VpnSettingsError as exc:
        raise WireGuardConfigError(str(exc)) from None
    lines = [
        "# WireGuard client %s, written by homelab.jellyfin_remote.wireguard" % name,
        "[Interface]",
        "PrivateKey = %s" % private_key,
        "Address = %s" % _csv(addresses),
    ]
    if dns:
        lines.append("DNS = %s" % _csv(dns))
    if settings.get("mtu"):
        lines.append("MTU = %d" % int(settings["mtu"]))
    lines += ["", "[Peer]", "PublicKey = %s" % server_public_key]
    if settings.get("preshared_key"):
        lines.append("PresharedKey = %s" % _check_key(settings["preshared_key"], "preshared key", name))
    lines += ["Endpoint = %s" % endpoint, "AllowedIPs = %s" % _csv(allowed)]
    keepalive = int(settings.get("persistent_keepalive") or 0)
    if keepalive:
        lines.append("PersistentKeepalive = %d" % keepalive)
    return "\n".join(lines) + "\n"


def key_files(peers, key_dir, clients_dir, interface):
    """The key files the wireguard role keeps, as wireguard_keypair's `keys` entries, in order:
    the server's private key (with its public key file), the private key (and public key file)
    of each peer that brings no public key of its own, then each peer's preshared key (psk true).

    peers: wireguard_peers (normalized: name, public_key, psk), names already checked by
    vpn_settings_check; a name that is not a valid peer name is refused here too, so that it
    can never name a path outside clients_dir.
    """
    valid = []
    for peer in peers or []:
        if not (isinstance(peer, dict) and isinstance(peer.get("name"), str) and _NAME.match(peer["name"])):
            raise ValueError("wireguard_peers: %r is not a valid peer name" % (peer.get("name") if isinstance(peer, dict) else peer))
        valid.append(peer)
    files = [{"path": "%s/%s.key" % (key_dir, interface), "type": "private_key",
              "public_key_path": "%s/%s.pub" % (key_dir, interface)}]
    files += [{"path": "%s/%s.key" % (clients_dir, p["name"]), "type": "private_key",
               "public_key_path": "%s/%s.pub" % (clients_dir, p["name"])} for p in valid if not p.get("public_key")]
    files += [{"path": "%s/%s.psk" % (clients_dir, p["name"]), "type": "preshared_key"}
              for p in valid if p.get("psk", True)]
    return files


def stale_peer_files(peers, stored_names, server_files=None):
    """What to delete for peers that left or changed: {"server": [...], "controller": [...]}.

    peers: wireguard_peers (normalized: name, public_key, psk).
    stored_names: the peer names the server's configuration records. They come from the
        server and are not trusted: a name that is not a valid peer name is ignored, so it
        can never name a path on the controller or the server.
    server_files: the file names in the server's clients directory (None: assume all exist).
    Server entries are file names in the clients directory (<name>.key, .pub, .psk); controller
    entries are the exported <name>.conf, .png, .txt.
    - a peer no longer listed: its key, public key, PSK and exported files;
    - a peer with its own public_key: the private/public key the role had made for it and its
      exported files (it keeps its private key itself now);
    - a peer with psk false: its PSK file.
    """
    wanted = {}
    for peer in peers or []:
        if isinstance(peer, dict) and isinstance(peer.get("name"), str) and _NAME.match(peer["name"]):
            wanted[peer["name"]] = peer
    server, controller = [], []
    removed = sorted({n for n in stored_names or [] if isinstance(n, str) and _NAME.match(n)} - set(wanted))
    for name in removed:
        server += ["%s.key" % name, "%s.pub" % name, "%s.psk" % name]
        controller += ["%s.conf" % name, "%s.png" % name, "%s.txt" % name]
    for name, peer in wanted.items():
        if peer.get("public_key"):
            server += ["%s.key" % name, "%s.pub" % name]
            controller += ["%s.conf" % name, "%s.png" % name, "%s.txt" % name]
        if peer.get("psk") is False:
            server.append("%s.psk" % name)
    if server_files is not None:
        present = set(server_files)
        server = [f for f in server if f in present]
    return {"server": server, "controller": controller}
