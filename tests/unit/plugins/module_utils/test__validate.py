# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import pytest

from ansible_collections.homelab.jellyfin_remote.plugins.module_utils._validate import (
    ValidationError,
    parse_version,
    validate_base_url,
    validate_hostname,
    validate_ip,
    validate_ip_network_or_hostname,
    validate_ip_or_network,
    validate_network,
    validate_port,
)


@pytest.mark.parametrize(
    "func, value, expected",
    [
        (validate_ip, "192.168.1.10", "192.168.1.10"),
        (validate_ip, " 10.0.0.1 ", "10.0.0.1"),
        (validate_ip, "2001:DB8:0:0::1", "2001:db8::1"),
        (validate_network, "192.168.1.0/24", "192.168.1.0/24"),
        (validate_network, "FD00:0::/64", "fd00::/64"),
        (validate_hostname, "Proxy.Home.ARPA", "proxy.home.arpa"),
        (validate_hostname, "proxy.", "proxy"),
        (validate_hostname, "a" * 63 + ".example", "a" * 63 + ".example"),
        (validate_ip_or_network, "10.13.13.0/24", "10.13.13.0/24"),
        (validate_ip_or_network, "10.13.13.1", "10.13.13.1"),
        (validate_ip_network_or_hostname, "127.0.0.1", "127.0.0.1"),
        (validate_ip_network_or_hostname, "::1", "::1"),
        (validate_ip_network_or_hostname, "172.16.0.0/12", "172.16.0.0/12"),
        (validate_ip_network_or_hostname, "Caddy", "caddy"),
        (validate_port, 1, 1),
        (validate_port, 65535, 65535),
        (validate_port, "8096", 8096),
        (validate_base_url, "", ""),
        (validate_base_url, "   ", ""),
        (validate_base_url, None, ""),
        (validate_base_url, "/", ""),
        (validate_base_url, "jellyfin", "/jellyfin"),
        (validate_base_url, "jellyfin/", "/jellyfin"),
        (validate_base_url, "/jellyfin/", "/jellyfin"),
        (validate_base_url, "/media/jelly-fin_2", "/media/jelly-fin_2"),
        (validate_base_url, "/a%20b", "/a%20b"),
        (parse_version, "10.11.7", (10, 11, 7)),
        (parse_version, "v10.10", (10, 10, 0)),
        (parse_version, "10.11.0-rc9", (10, 11, 0)),
    ],
)
def test_valid_values_are_canonical(func, value, expected):
    assert func("opt", value) == expected


@pytest.mark.parametrize(
    "func, option, value, message",
    [
        (
            validate_ip,
            "local_network_addresses",
            "192.168.1.300",
            "local_network_addresses: '192.168.1.300' is not valid: expected an IPv4 or IPv6 address such as "
            "192.168.1.10 or fd00::10. Correct the address.",
        ),
        (
            validate_ip,
            "local_network_addresses",
            "192.168.1.10/24",
            "local_network_addresses: '192.168.1.10/24' is not valid: expected an IPv4 or IPv6 address such as "
            "192.168.1.10 or fd00::10. Drop the prefix length: write 192.168.1.10.",
        ),
        (
            validate_network,
            "local_network_subnets",
            "192.168.1.10/24",
            "local_network_subnets: '192.168.1.10/24' is not valid: expected a CIDR network such as 192.168.1.0/24 "
            "or fd00::/64. Host bits are set; the network that contains this address is 192.168.1.0/24.",
        ),
        (
            validate_network,
            "local_network_subnets",
            "192.168.1.0/33",
            "local_network_subnets: '192.168.1.0/33' is not valid: expected a CIDR network such as 192.168.1.0/24 "
            "or fd00::/64. Correct the address or the prefix length.",
        ),
        (
            validate_network,
            "local_network_subnets",
            "192.168.1.0",
            "local_network_subnets: '192.168.1.0' is not valid: expected a CIDR network such as 192.168.1.0/24 "
            "or fd00::/64. Add the prefix length, for example 192.168.1.0/24.",
        ),
        (
            validate_ip_or_network,
            "remote_ip_filter",
            "10.0.0.1/8",
            "remote_ip_filter: '10.0.0.1/8' is not valid: expected an IP address or a CIDR network such as "
            "192.168.1.10 or 192.168.1.0/24. Host bits are set; the network that contains this address is 10.0.0.0/8.",
        ),
        (
            validate_ip_or_network,
            "remote_ip_filter",
            "example.com",
            "remote_ip_filter: 'example.com' is not valid: expected an IP address or a CIDR network such as "
            "192.168.1.10 or 192.168.1.0/24. Correct the address.",
        ),
        (
            validate_hostname,
            "known_proxies",
            "-proxy.lan",
            "known_proxies: '-proxy.lan' is not valid: expected a hostname (RFC 1123: labels of letters, digits "
            "and hyphens, 1-63 characters each, 253 in all). The label '-proxy' may hold only letters, digits and "
            "inner hyphens.",
        ),
        (
            validate_hostname,
            "known_proxies",
            "a..b",
            "known_proxies: 'a..b' is not valid: expected a hostname (RFC 1123: labels of letters, digits "
            "and hyphens, 1-63 characters each, 253 in all). Remove the empty label (two dots in a row or a leading dot).",
        ),
        (
            validate_hostname,
            "known_proxies",
            "a" * 64 + ".lan",
            "known_proxies: '%s.lan' is not valid: expected a hostname (RFC 1123: labels of letters, digits "
            "and hyphens, 1-63 characters each, 253 in all). The label '%s' has 64 characters; shorten it to 63 or "
            "fewer." % ("a" * 64, "a" * 64),
        ),
        (
            validate_hostname,
            "known_proxies",
            ("abcdefghi." * 26)[:-1],
            "known_proxies: '%s' is not valid: expected a hostname (RFC 1123: labels of letters, digits "
            "and hyphens, 1-63 characters each, 253 in all). The name has 259 characters; shorten it to 253 or "
            "fewer." % ("abcdefghi." * 26)[:-1],
        ),
        (
            validate_ip_network_or_hostname,
            "known_proxies",
            "10.0.0.256",
            "known_proxies: '10.0.0.256' is not valid: expected an IP address, a CIDR network or a hostname. "
            "Correct the address.",
        ),
        (
            validate_ip_network_or_hostname,
            "known_proxies",
            "proxy_1",
            "known_proxies: 'proxy_1' is not valid: expected an IP address, a CIDR network or a hostname. "
            "The label 'proxy_1' may hold only letters, digits and inner hyphens.",
        ),
        (
            validate_port,
            "public_https_port",
            0,
            "public_https_port: 0 is not valid: expected a port number from 1 to 65535. Choose a port from 1 to 65535.",
        ),
        (
            validate_port,
            "public_https_port",
            65536,
            "public_https_port: 65536 is not valid: expected a port number from 1 to 65535. Choose a port from 1 "
            "to 65535.",
        ),
        (
            validate_port,
            "public_https_port",
            True,
            "public_https_port: True is not valid: expected a port number from 1 to 65535. Give a number, not a boolean.",
        ),
        (
            validate_port,
            "public_https_port",
            "84x3",
            "public_https_port: '84x3' is not valid: expected a port number from 1 to 65535. Give a whole number.",
        ),
        (
            validate_base_url,
            "base_url",
            "/my jellyfin",
            "base_url: '/my jellyfin' is not valid: expected a URL path prefix such as /jellyfin, or an empty string "
            "for none. Remove the spaces; encode a needed one as %20.",
        ),
        (
            validate_base_url,
            "base_url",
            "/jellyfin?x=1",
            "base_url: '/jellyfin?x=1' is not valid: expected a URL path prefix such as /jellyfin, or an empty "
            "string for none. Remove '?': a query or fragment cannot be part of the base URL.",
        ),
        (
            validate_base_url,
            "base_url",
            "/jellyfin#top",
            "base_url: '/jellyfin#top' is not valid: expected a URL path prefix such as /jellyfin, or an empty "
            "string for none. Remove '#': a query or fragment cannot be part of the base URL.",
        ),
        (
            validate_base_url,
            "base_url",
            "/media/../jellyfin",
            "base_url: '/media/../jellyfin' is not valid: expected a URL path prefix such as /jellyfin, or an empty "
            "string for none. Remove the '.' and '..' segments.",
        ),
        (
            validate_base_url,
            "base_url",
            "/media//jellyfin",
            "base_url: '/media//jellyfin' is not valid: expected a URL path prefix such as /jellyfin, or an empty "
            "string for none. Remove the empty segment ('//').",
        ),
        (
            validate_base_url,
            "base_url",
            "https://example.com/jellyfin",
            "base_url: 'https://example.com/jellyfin' is not valid: expected a URL path prefix such as /jellyfin, or "
            "an empty string for none. Give only the path part of the address, for example /jellyfin.",
        ),
        (
            validate_base_url,
            "base_url",
            "/jelly<fin>",
            "base_url: '/jelly<fin>' is not valid: expected a URL path prefix such as /jellyfin, or an empty string "
            "for none. Remove or percent-encode the characters '<' '>'.",
        ),
        (
            validate_base_url,
            "base_url",
            "/100%",
            "base_url: '/100%' is not valid: expected a URL path prefix such as /jellyfin, or an empty string for "
            "none. A '%' must start a percent-encoding such as %20.",
        ),
        (
            validate_base_url,
            "base_url",
            "\\jellyfin",
            "base_url: '\\\\jellyfin' is not valid: expected a URL path prefix such as /jellyfin, or an empty string "
            "for none. Use '/' instead of '\\' between path segments.",
        ),
        (
            parse_version,
            "jellyfin_version",
            "latest",
            "jellyfin_version: 'latest' is not valid: expected a version such as 10.11.7. Give the server version "
            "as major.minor.patch.",
        ),
    ],
)
def test_error_messages(func, option, value, message):
    with pytest.raises(ValidationError) as info:
        func(option, value)
    assert str(info.value) == message
    assert info.value.option == option
    assert info.value.value == value


def test_error_is_a_value_error_with_parts():
    error = ValidationError("x", 1, "y", "z")
    assert isinstance(error, ValueError)
    assert (error.option, error.value, error.expected, error.hint) == ("x", 1, "y", "z")
