"""What a user of the jellyfin_network role would check, from outside and on the server."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from conftest import curl, denied_login_address

FORGED = "198.51.100.77"


def _network_xml(server):
    return ET.fromstring(server.file("/etc/jellyfin/network.xml").content_string)


def test_health_from_the_internet(internet, jellyfin_url):
    status, body = curl(internet, jellyfin_url + "/health")
    assert (status, body) == (200, "Healthy")


def test_public_info_from_the_internet(internet, jellyfin_url):
    status, body = curl(internet, jellyfin_url + "/System/Info/Public")
    assert status == 200
    assert '"Version"' in body and '"Id"' in body


def test_known_proxies_written(server, lab):
    root = _network_xml(server)
    proxies = [e.text for e in root.find("KnownProxies")]
    assert proxies == [lab["hosts"]["server"]["addresses"]["lan"]]
    subnets = [e.text for e in root.find("LocalNetworkSubnets")]
    assert subnets == [lab["subnets"]["lan"]]


def test_network_xml_keeps_owner_and_mode(server):
    # Jellyfin wrote the file on its first start (as user jellyfin, umask 022); the role
    # changed its content and must have kept both.
    f = server.file("/etc/jellyfin/network.xml")
    assert (f.user, f.group, f.mode) == ("jellyfin", "jellyfin", 0o644)


def test_forged_forwarded_for_from_the_internet_is_ignored(internet, server, jellyfin_url, lab):
    seen = denied_login_address(internet, server, jellyfin_url, forwarded_for=FORGED)
    assert seen == lab["hosts"]["internet"]["addresses"]["wan"]


def test_forwarded_for_from_a_known_proxy_is_used(server, lab):
    # The server's own address is a known proxy: a request from it may name the client.
    own = lab["hosts"]["server"]["addresses"]["lan"]
    seen = denied_login_address(server, server, "http://%s:8096" % own, forwarded_for=FORGED)
    assert seen == FORGED


def test_request_without_forwarded_for_shows_the_client(internet, server, jellyfin_url, lab):
    seen = denied_login_address(internet, server, jellyfin_url)
    assert seen == lab["hosts"]["internet"]["addresses"]["wan"]
