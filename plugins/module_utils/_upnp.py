# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Port mappings on the home router by UPnP IGD, through a miniupnpc-like client object.

Plain Python, no AnsibleModule: the module upnp_port_mapping is a thin wrapper and the unit
tests drive everything here with a fake client. The client is what `miniupnpc.UPnP()`
returns (python3-miniupnpc): attributes discoverdelay, multicastif, lanaddr; methods
discover(), selectigd(), externalipaddress(), getspecificportmapping(eport, proto),
addportmapping(eport, proto, host, iport, desc, remote_host, lease) and
deleteportmapping(eport, proto, remote_host). miniupnpc reports every UPnP error as a
plain Exception whose text is the error's name ("Action Failed" for 501,
"ConflictInMappingEntry" for 718, ...).

- ensure(): add, check or remove one mapping; returns a result dict or raises UpnpError.
- ensure_many(): the same for several mappings after one discovery (each SSDP search waits
  discovery_delay_ms, about 2 s, so a loop of ensure() calls paid it once per port).
- connect() and ensure_one(): the two halves both use; new_client(): the miniupnpc client (None without it).
- plan_mappings(): the port_forward role's list for ensure_many (filter port_forward_upnp_mappings).
- UpnpError.kind: no_igd, cgnat, conflict, refused, failed.
"""

from __future__ import annotations

import ipaddress

from ansible_collections.homelab.jellyfin_remote.plugins.module_utils import _addresses

PROTOCOLS = ("TCP", "UDP")
DEFAULT_DESCRIPTION = "jellyfin_remote"

# miniupnpc's texts for the UPnP errors that matter here (strupnperror()).
ACTION_FAILED = "Action Failed"  # 501: miniupnpd when its WAN address is private or shared
NOT_AUTHORIZED = "Action not authorized"  # 606: secure mode, another client's address
CONFLICT = "ConflictInMappingEntry"  # 718
ONLY_PERMANENT = "OnlyPermanentLeasesSupported"  # 725
NO_SUCH_ENTRY = "NoSuchEntry"  # 714 (NoSuchEntryInArray)


def new_client(multicast_interface=None):
    """A miniupnpc.UPnP object, or None when miniupnpc is not installed.

    miniupnpc takes the multicast interface only when the object is made (the attribute is
    read-only afterwards).
    """
    try:
        import miniupnpc
    except ImportError:
        return None
    if multicast_interface:
        return miniupnpc.UPnP(multicastif=multicast_interface)
    return miniupnpc.UPnP()


class UpnpError(Exception):
    """A failure with a kind the caller can branch on and a complete message."""

    def __init__(self, kind, message, **details):
        self.kind = kind
        self.details = details
        super().__init__(message)


# The one "port forwarding cannot work here" advice lives in _addresses (public_ip returns it too).
cgnat_message = _addresses.forwarding_impossible


def manual_instructions(protocol, external_port, internal_client, internal_port):
    """Plain router instructions for forwarding one port by hand."""
    client = internal_client or "this server's LAN address"
    return (
        "Forward the port by hand: open the router's web interface, find Port Forwarding (also "
        "called Virtual Server, NAT or Port Mapping) and add a rule: protocol %s, external port %d, "
        "internal address %s, internal port %d. Give %s a DHCP reservation (or a static address) so "
        "the rule keeps pointing at this server."
        % (protocol, external_port, client, internal_port, client)
    )


def no_igd_message(detail, delay_ms, multicast_interface, instructions):
    via = " on %s" % multicast_interface if multicast_interface else ""
    return (
        "No UPnP Internet Gateway Device answered%s within %d ms (%s): the router has UPnP switched "
        "off or does not support it, or discovery_delay_ms is too short. Switch UPnP IGD on in the "
        "router and run again, or forward the port yourself. %s"
        % (via, delay_ms, detail, instructions)
    )


def parse_ranges(ranges):
    """allow_ranges as networks; raises UpnpError(config) naming the option and the bad entry."""
    try:
        return list(_addresses.parse_ranges(ranges))
    except ValueError as exc:
        raise UpnpError("config", "allow_ranges: %s" % exc) from None


def classify_external(address, allow_ranges=()):
    """Return (external address or None, reason it cannot be forwarded to, or None).

    An empty or unspecified address is what miniupnpd reports when its own WAN address is
    private or shared: the CGNAT case. A 100.64.0.0/10 address is CGNAT, an RFC 1918 one
    double NAT (allow_ranges lets a lab's private "internet" count as public).
    """
    text = (address or "").strip()
    if not text:
        return None, "the router reports an empty external (WAN) address"
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return None, "the router reports %r as its external address, which is not an IP address" % text[:64]
    if ip.is_unspecified:
        return None, "the router reports %s as its external address, which means it has none" % ip
    if _addresses.in_any(ip, allow_ranges):
        return str(ip), None
    if _addresses.is_shared(ip):
        return str(ip), _addresses.cgnat_wan("the router's external address", ip)
    if ip.is_private:
        return str(ip), _addresses.double_nat_wan("the router's external address", ip)
    return str(ip), None


class Mapping:
    """One port mapping as the router reports it."""

    __slots__ = ("external_port", "protocol", "internal_client", "internal_port", "description", "enabled", "lease_remaining")

    def __init__(self, external_port, protocol, internal_client, internal_port, description, enabled=True, lease_remaining=0):
        self.external_port = int(external_port)
        self.protocol = protocol
        self.internal_client = internal_client
        self.internal_port = int(internal_port)
        self.description = description or ""
        self.enabled = bool(enabled)
        self.lease_remaining = int(lease_remaining or 0)

    def as_dict(self):
        return {name: getattr(self, name) for name in self.__slots__}


def discover(client, delay_ms, locate=None):
    """Find the IGD. Returns the control URL miniupnpc selected; raises UpnpError(no_igd).

    The multicast interface is given when the client is made (miniupnpc.UPnP(multicastif=...));
    miniupnpc makes that attribute read-only afterwards.

    locate (_ssdp.find_igd, or None): a search that returns the first gateway's description URL
    (or None) within a timeout in seconds. With it the wait ends at the router's first answer
    instead of after the whole delay, and miniupnpc reads that description directly; when the
    description cannot be read, miniupnpc's own discovery runs as without it. Silence within
    the delay means no gateway, as for miniupnpc.
    """
    if locate is not None:
        location = locate(delay_ms / 1000.0)
        if not location:
            raise UpnpError("no_igd", "no UPnP gateway answered the SSDP search")
        try:
            return client.selectigd(location)
        except Exception:  # miniupnpc raises plain Exception; its own discovery below decides
            pass
    client.discoverdelay = int(delay_ms)
    try:
        found = client.discover()
    except Exception as exc:  # miniupnpc raises plain Exception
        raise UpnpError("no_igd", "SSDP discovery failed: %s" % exc)
    if not found:
        raise UpnpError("no_igd", "no UPnP device answered the SSDP search")
    try:
        return client.selectigd()
    except Exception as exc:
        raise UpnpError("no_igd", "%d UPnP device(s) answered but none is a usable gateway: %s" % (found, exc))


def read_mapping(client, external_port, protocol):
    """The router's mapping of external_port/protocol, or None."""
    try:
        entry = client.getspecificportmapping(external_port, protocol)
    except Exception as exc:
        if NO_SUCH_ENTRY in str(exc):
            return None
        raise UpnpError("failed", "reading the mapping of %s port %d from the router failed: %s" % (protocol, external_port, exc))
    if not entry:
        return None
    host, iport, desc, enabled, lease = (tuple(entry) + (True, 0))[:5]
    return Mapping(external_port, protocol, host, iport, desc, enabled, lease)


def lease_is_enough(existing, lease_duration, min_lease_remaining):
    """Whether an existing mapping's remaining lease is enough to leave it alone."""
    if existing.lease_remaining == 0:  # permanent: always enough
        return True
    if lease_duration == 0:  # permanent wanted, the router holds a lease that runs out
        return False
    return existing.lease_remaining >= min_lease_remaining


def _same(existing, internal_client, internal_port, description):
    return (
        existing.internal_client == internal_client
        and existing.internal_port == internal_port
        and existing.description == description
        and existing.enabled
    )


def _add(client, external_port, protocol, internal_client, internal_port, description, lease_duration, reason_context):
    """Add (or refresh) a mapping. Returns the lease actually asked for."""
    try:
        client.addportmapping(external_port, protocol, internal_client, internal_port, description, "", lease_duration)
        return lease_duration
    except Exception as exc:
        text = str(exc)
        if ONLY_PERMANENT in text and lease_duration != 0:
            return _add(client, external_port, protocol, internal_client, internal_port, description, 0, reason_context)
        if ACTION_FAILED in text:
            raise UpnpError("cgnat", cgnat_message("the router refused the mapping with UPnP error 501 (ActionFailed)%s" % reason_context))
        if CONFLICT in text:
            raise UpnpError(
                "conflict",
                "The router refused %s port %d for %s (ConflictInMappingEntry, UPnP error 718): another "
                "client or a static rule of the router holds it. Remove that rule, pick another "
                "external_port, or set force: true." % (protocol, external_port, internal_client),
            )
        if NOT_AUTHORIZED in text:
            raise UpnpError(
                "refused",
                "The router refused to map %s port %d to %s (UPnP error 606, Action not authorized): "
                "routers in secure mode map ports only to the address that asks, so run this on %s, or "
                "allow the port in the router's UPnP settings. %s"
                % (protocol, external_port, internal_client, internal_client,
                   manual_instructions(protocol, external_port, internal_client, internal_port)),
            )
        raise UpnpError(
            "failed",
            "The router refused to map %s port %d to %s:%d: %s. %s"
            % (protocol, external_port, internal_client, internal_port, text,
               manual_instructions(protocol, external_port, internal_client, internal_port)),
        )


def connect(client, discovery_delay_ms, allow_ranges=(), locate=None):
    """Discover the IGD once and read what every mapping needs. Returns a dict: igd, lan_address,
    external_ip, problem (why nothing can be forwarded to, or None); raises UpnpError (config
    for a bad allow_ranges, no_igd with discover()'s short reason).
    """
    ranges = parse_ranges(allow_ranges)
    igd = discover(client, discovery_delay_ms, locate)
    lan_address = getattr(client, "lanaddr", None) or None
    try:
        raw_external = client.externalipaddress()
        external_ip, problem = classify_external(raw_external, ranges)
    except Exception as exc:
        external_ip, problem = None, "the router did not tell its external address (%s)" % exc
    return {"igd": igd if isinstance(igd, str) else None, "lan_address": lan_address,
            "external_ip": external_ip, "problem": problem}


def ensure_one(
    client,
    session,
    external_port,
    protocol="TCP",
    internal_port=None,
    internal_client=None,
    description=DEFAULT_DESCRIPTION,
    lease_duration=3600,
    min_lease_remaining=None,
    state="present",
    force=False,
    check_mode=False,
):
    """Bring one mapping to state on the IGD that connect() found. Returns changed, previous,
    mapping (and warning); raises UpnpError."""
    protocol = protocol.upper()
    internal_port = external_port if internal_port is None else internal_port
    if min_lease_remaining is None:
        min_lease_remaining = lease_duration // 2
    internal_client = internal_client or session["lan_address"]
    if not internal_client:
        raise UpnpError("config", "miniupnpc reported no LAN address for this host; set internal_client to the server's LAN address")

    result = {"changed": False, "previous": None, "mapping": None}
    before = read_mapping(client, external_port, protocol)
    result["previous"] = before.as_dict() if before else None

    if state == "absent":
        if before is None:
            return result
        if before.internal_client != internal_client and not force:
            raise UpnpError(
                "conflict",
                "%s port %d on the router is mapped to %s:%d (%r), not to %s: not removing another "
                "client's mapping. Set force: true to remove it anyway."
                % (protocol, external_port, before.internal_client, before.internal_port, before.description, internal_client),
                previous=before.as_dict(),
            )
        if not check_mode:
            try:
                client.deleteportmapping(external_port, protocol, "")
            except Exception as exc:
                if NO_SUCH_ENTRY not in str(exc):
                    raise UpnpError("failed", "removing %s port %d from the router failed: %s" % (protocol, external_port, exc))
        result["changed"] = True
        return result

    if session["problem"]:
        raise UpnpError("cgnat", cgnat_message(session["problem"]), external_ip=session["external_ip"],
                        lan_address=session["lan_address"])

    wanted = Mapping(external_port, protocol, internal_client, internal_port, description, True, lease_duration)
    if before is not None and before.internal_client != internal_client and not force:
        raise UpnpError(
            "conflict",
            "%s port %d on the router is already mapped to another client, %s:%d (%r); this host is %s. "
            "Free that mapping on the router, pick another external_port, or set force: true to take it over."
            % (protocol, external_port, before.internal_client, before.internal_port, before.description, internal_client),
            previous=before.as_dict(),
        )
    if before is not None and _same(before, internal_client, internal_port, description) and lease_is_enough(
        before, lease_duration, min_lease_remaining
    ):
        result["mapping"] = before.as_dict()
        return result

    result["changed"] = True
    if check_mode:
        result["mapping"] = wanted.as_dict()
        return result
    if before is not None and (before.internal_client != internal_client or before.internal_port != internal_port):
        try:
            client.deleteportmapping(external_port, protocol, "")
        except Exception as exc:
            if NO_SUCH_ENTRY not in str(exc):
                raise UpnpError("failed", "removing the old mapping of %s port %d failed: %s" % (protocol, external_port, exc))
    granted = _add(client, external_port, protocol, internal_client, internal_port, description, lease_duration, "")
    after = read_mapping(client, external_port, protocol)
    if after is None:
        raise UpnpError(
            "failed",
            "The router accepted %s port %d -> %s:%d but does not list it afterwards. %s"
            % (protocol, external_port, internal_client, internal_port,
               manual_instructions(protocol, external_port, internal_client, internal_port)),
        )
    result["mapping"] = after.as_dict()
    if granted != lease_duration:
        result["warning"] = (
            "The router accepts only permanent mappings (UPnP error 725): %s port %d was mapped without a "
            "lease and stays until it is removed." % (protocol, external_port)
        )
    return result


def ensure(
    client,
    external_port,
    protocol="TCP",
    internal_port=None,
    internal_client=None,
    description=DEFAULT_DESCRIPTION,
    lease_duration=3600,
    min_lease_remaining=None,
    state="present",
    force=False,
    discovery_delay_ms=2000,
    multicast_interface=None,
    allow_ranges=(),
    check_mode=False,
    locate=None,
):
    """Bring one mapping to state. Returns the result dict; raises UpnpError.

    multicast_interface only names the interface in messages: the client was made with it.
    locate: see discover().

    Check mode only reads (discovery, external address, the current mapping) and predicts
    `changed` exactly.
    """
    protocol = protocol.upper()
    iport = external_port if internal_port is None else internal_port
    try:
        session = connect(client, discovery_delay_ms, allow_ranges, locate)
    except UpnpError as exc:
        if exc.kind != "no_igd":
            raise
        raise UpnpError(
            "no_igd",
            no_igd_message(str(exc), discovery_delay_ms, multicast_interface,
                           manual_instructions(protocol, external_port, internal_client, iport)),
        )
    one = ensure_one(client, session, external_port, protocol=protocol, internal_port=internal_port,
                     internal_client=internal_client, description=description, lease_duration=lease_duration,
                     min_lease_remaining=min_lease_remaining, state=state, force=force, check_mode=check_mode)
    result = {"changed": one["changed"], "state": state, "igd": session["igd"], "lan_address": session["lan_address"],
              "external_ip": session["external_ip"], "previous": one["previous"], "mapping": one["mapping"]}
    if "warning" in one:
        result["warning"] = one["warning"]
    return result


_ENSURE_ONE_ARGUMENTS = ("external_port", "protocol", "internal_port", "internal_client", "description",
                         "lease_duration", "min_lease_remaining", "state", "force")


def ensure_many(client, mappings, state="present", force=False, discovery_delay_ms=2000, multicast_interface=None,
                allow_ranges=(), check_mode=False, locate=None):
    """Bring several mappings to their state after one discovery. Returns the result dict;
    raises UpnpError when any mapping failed (details: mappings, the report of each, and changed).

    Each mapping is a dict of ensure_one()'s arguments; a missing or None state or force is
    taken from the call's. Every mapping is tried, as a loop of single calls would: a conflict
    on one port does not keep the others from being mapped. The report of each mapping holds
    external_port, protocol, state, changed, previous, mapping, and on failure failed, error_kind
    and msg; warning when the router gave a permanent mapping instead of a lease.
    """
    entries = []
    for given in mappings:
        entry = dict(given)
        entry["protocol"] = (entry.get("protocol") or "TCP").upper()
        if entry.get("state") is None:
            entry["state"] = state
        if entry.get("force") is None:
            entry["force"] = force
        entries.append(entry)
    result = {"changed": False, "state": state, "igd": None, "lan_address": None, "external_ip": None, "mappings": []}
    if not entries:
        return result

    def report(entry, **fields):
        out = {"external_port": entry["external_port"], "protocol": entry["protocol"], "state": entry["state"],
               "changed": False, "previous": None, "mapping": None}
        out.update(fields)
        return out

    try:
        session = connect(client, discovery_delay_ms, allow_ranges, locate)
    except UpnpError as exc:
        if exc.kind != "no_igd":
            raise
        planned = [e for e in entries if e["state"] == "present"]
        instructions = " ".join(
            manual_instructions(e["protocol"], e["external_port"], e.get("internal_client"),
                                e["external_port"] if e.get("internal_port") is None else e["internal_port"])
            for e in planned)
        message = no_igd_message(str(exc), discovery_delay_ms, multicast_interface, instructions or (
            "The mappings to remove expire with their lease when nothing renews them."))
        raise UpnpError("no_igd", message, changed=False, mappings=[
            report(e, failed=True, error_kind="no_igd", msg="no UPnP router answered") for e in entries])
    result.update(igd=session["igd"], lan_address=session["lan_address"], external_ip=session["external_ip"])

    failures = []
    for entry in entries:
        arguments = {k: v for k, v in entry.items() if k in _ENSURE_ONE_ARGUMENTS}
        try:
            one = ensure_one(client, session, check_mode=check_mode, **arguments)
        except UpnpError as exc:
            failures.append(exc)
            result["mappings"].append(report(entry, failed=True, error_kind=exc.kind, msg=str(exc),
                                             previous=exc.details.get("previous")))
            continue
        result["mappings"].append(report(entry, **one))
        result["changed"] = result["changed"] or one["changed"]
    if failures:
        # One message per distinct failure: behind CGNAT every port fails for the same reason.
        messages = []
        for exc in failures:
            if str(exc) not in messages:
                messages.append(str(exc))
        raise UpnpError(failures[0].kind, " ".join(messages), changed=result["changed"], mappings=result["mappings"],
                        igd=result["igd"], lan_address=result["lan_address"], external_ip=result["external_ip"])
    return result


def plan_mappings(ports, earlier=None, lease_duration=3600):
    """The mappings the port_forward role asks for: first the removal of each mapping it made
    earlier (earlier: the renewal config's list) whose protocol and port are no longer planned,
    never forced (a port another client holds now is not this host's to remove), then one
    mapping per planned port (port_forward_ports: port, internal_port, protocol, description)."""
    planned = []
    for port in ports:
        planned.append({
            "external_port": int(port["port"]),
            "internal_port": int(port.get("internal_port") or port["port"]),
            "protocol": str(port.get("protocol") or "tcp").upper(),
            "description": port.get("description") or "Jellyfin",
            "lease_duration": int(lease_duration),
            "state": "present",
        })
    keys = {(m["protocol"], m["external_port"]) for m in planned}
    stale = []
    for old in earlier or []:
        key = (str(old["protocol"]).upper(), int(old["external_port"]))
        if key not in keys:
            stale.append({"external_port": key[1], "protocol": key[0], "internal_client": old.get("internal_client"),
                          "state": "absent", "force": False})
    return stale + planned
