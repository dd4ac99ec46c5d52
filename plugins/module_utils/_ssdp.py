# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Find the home router's UPnP description (its SSDP LOCATION) as soon as it answers.

miniupnpc's discover() always listens for its whole discovery delay (about 2 s), because it
collects every device on the LAN; the roles need one gateway. find_igd() sends the SSDP
M-SEARCH for an Internet Gateway Device (v2 and v1) and returns the LOCATION of the first
answer, usually within milliseconds; miniupnpc.UPnP().selectigd(location) then reads that
description without a second search. Standard library only; nothing here is a secret.
"""

from __future__ import annotations

import functools
import ipaddress
import socket
import time

SSDP_GROUP = ("239.255.255.250", 1900)
IGD_TYPES = (
    "urn:schemas-upnp-org:device:InternetGatewayDevice:2",
    "urn:schemas-upnp-org:device:InternetGatewayDevice:1",
)
MAX_LOCATION = 512


def m_search(search_target, mx):
    """One SSDP search request (UPnP Device Architecture 1.1, section 1.3.2)."""
    return (
        "M-SEARCH * HTTP/1.1\r\n"
        "HOST: 239.255.255.250:1900\r\n"
        'MAN: "ssdp:discover"\r\n'
        "MX: %d\r\n"
        "ST: %s\r\n"
        "\r\n" % (mx, search_target)
    ).encode("ascii")


def igd_location(datagram):
    """The LOCATION of an SSDP answer from an Internet Gateway Device, or None for anything else
    (another device type, a malformed or oversized answer, a location that is not plain http)."""
    try:
        text = datagram.decode("utf-8", "replace")
    except AttributeError:
        return None
    lines = text.split("\r\n") if "\r\n" in text else text.split("\n")
    if not lines or not lines[0].upper().startswith("HTTP/1.1 200"):
        return None
    headers = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    if headers.get("st") not in IGD_TYPES:
        return None
    location = headers.get("location", "")
    if not location.lower().startswith("http://") or len(location) > MAX_LOCATION or any(c.isspace() for c in location):
        return None
    return location


def find_igd(timeout, target=SSDP_GROUP, multicast_address=None, clock=time.monotonic):
    """The LOCATION of the first gateway that answers within timeout seconds, or None.

    The searches go out again halfway through when nothing has answered (SSDP runs over UDP).
    multicast_address: the local IPv4 address whose interface sends the search. target is the
    multicast group; the unit tests point it at a responder on loopback. Never raises for
    network errors (no route, no multicast): those are None, as is silence.
    """
    mx = max(1, min(5, int(round(timeout))))
    requests = [m_search(search_target, mx) for search_target in IGD_TYPES]
    deadline = clock() + timeout
    resend_at = clock() + timeout / 2.0
    sock = None
    try:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 2)
        if multicast_address:
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(multicast_address))
        for request in requests:
            sock.sendto(request, target)
        while True:
            now = clock()
            if now >= deadline:
                return None
            if resend_at is not None and now >= resend_at:
                for request in requests:
                    sock.sendto(request, target)
                resend_at = None
            sock.settimeout(max(0.01, min(deadline, resend_at or deadline) - now))
            try:
                datagram, _sender = sock.recvfrom(2048)
            except socket.timeout:
                continue
            location = igd_location(datagram)
            if location:
                return location
    except (OSError, ValueError):
        return None
    finally:
        if sock is not None:
            sock.close()


def locator(multicast_interface=None):
    """find_igd for the modules' multicast_interface option: sending on that interface when it
    is an IPv4 address, None (miniupnpc's own discovery) when it is an interface name."""
    if not multicast_interface:
        return find_igd
    try:
        ipaddress.IPv4Address(multicast_interface)
    except ValueError:
        return None
    return functools.partial(find_igd, multicast_address=multicast_interface)
