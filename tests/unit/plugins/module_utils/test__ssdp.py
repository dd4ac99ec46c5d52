"""_ssdp: the SSDP search for the home router, against a responder on loopback."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from ansible_collections.homelab.jellyfin_remote.plugins.module_utils import _ssdp

IGD2 = "urn:schemas-upnp-org:device:InternetGatewayDevice:2"
IGD1 = "urn:schemas-upnp-org:device:InternetGatewayDevice:1"
LOCATION = "http://192.168.1.1:5000/rootDesc.xml"


def answer(st, location=LOCATION, status="HTTP/1.1 200 OK"):
    return ("%s\r\nCACHE-CONTROL: max-age=120\r\nST: %s\r\nUSN: uuid:x::%s\r\nEXT:\r\nSERVER: lab UPnP/1.1\r\n"
            "LOCATION: %s\r\n\r\n" % (status, st, st, location)).encode()


class Responder:
    """A UDP socket on loopback standing in for the multicast group: records every search and
    sends the answers given (in order) to the first one."""

    def __init__(self, answers=()):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.address = self.sock.getsockname()
        self.answers = list(answers)
        self.searches = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.stop.is_set():
            try:
                data, sender = self.sock.recvfrom(2048)
            except socket.timeout:
                continue
            self.searches.append(data.decode())
            if len(self.searches) == 1:
                for datagram in self.answers:
                    self.sock.sendto(datagram, sender)

    def close(self):
        self.stop.set()
        self.thread.join()
        self.sock.close()


@pytest.fixture
def responder_of():
    made = []

    def make(answers=()):
        made.append(Responder(answers))
        return made[-1]

    yield make
    for responder in made:
        responder.close()


def test_the_first_gateway_answer_ends_the_search(responder_of):
    responder = responder_of([answer("urn:schemas-upnp-org:device:MediaServer:1", "http://192.168.1.9/media.xml"),
                              answer(IGD2)])
    started = time.monotonic()
    assert _ssdp.find_igd(30, target=responder.address) == LOCATION
    # A search that waited for silence would take the whole 30 s.
    assert time.monotonic() - started < 10
    first = responder.searches[0]
    assert first.startswith("M-SEARCH * HTTP/1.1\r\n") and 'MAN: "ssdp:discover"' in first and "MX: 5" in first
    assert first.split("\r\nST: ")[1].split("\r\n")[0] == IGD2  # v2 first; v1 follows for older routers


def test_silence_is_none_after_the_searches_went_out_twice(responder_of):
    responder = responder_of()
    assert _ssdp.find_igd(0.4, target=responder.address) is None
    time.sleep(0.1)
    assert len(responder.searches) == 4  # IGD:2 and IGD:1, then again halfway
    assert [s.split("\r\nST: ")[1].split("\r\n")[0] for s in responder.searches] == [IGD2, IGD1, IGD2, IGD1]


def test_an_unreachable_network_is_none():
    # A port on loopback nobody listens on: the ICMP error comes back as ConnectionRefusedError.
    spare = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    spare.bind(("127.0.0.1", 0))
    address = spare.getsockname()
    spare.close()
    assert _ssdp.find_igd(0.3, target=address) is None


@pytest.mark.parametrize("datagram, expected", [
    (answer(IGD1), LOCATION),
    (answer(IGD2).replace(b"\r\n", b"\n"), LOCATION),
    (answer(IGD2, status="HTTP/1.1 404 Not Found"), None),
    (answer("urn:schemas-upnp-org:service:WANIPConnection:1"), None),
    (answer(IGD2, location="https://192.168.1.1/rootDesc.xml"), None),
    (answer(IGD2, location="http://192.168.1.1/" + "a" * 600), None),
    (answer(IGD2, location="http://192.168.1.1/a b"), None),
    (answer(IGD2).replace(b"LOCATION", b"X-LOCATION"), None),
    (b"\xff\xfe garbage", None),
    (b"", None),
])
def test_only_a_gateways_plain_http_location_counts(datagram, expected):
    assert _ssdp.igd_location(datagram) == expected


def test_the_multicast_interface_option():
    assert _ssdp.locator(None) is _ssdp.find_igd
    assert _ssdp.locator("eth0") is None  # an interface name: miniupnpc's own discovery
    bound = _ssdp.locator("192.168.1.20")
    assert bound.func is _ssdp.find_igd and bound.keywords == {"multicast_address": "192.168.1.20"}
