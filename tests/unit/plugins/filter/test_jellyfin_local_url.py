from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.homelab.jellyfin_remote.plugins.filter.jellyfin_local_url import jellyfin_local_url


@pytest.mark.parametrize(
    "network, url",
    [
        ({}, "http://127.0.0.1:8096"),
        ({"internal_http_port": 8097, "base_url": "/jellyfin"}, "http://127.0.0.1:8097/jellyfin"),
        ({"local_network_addresses": ["192.168.1.5"], "internal_http_port": 8096}, "http://192.168.1.5:8096"),
        ({"local_network_addresses": ["fd00::5"]}, "http://[fd00::5]:8096"),
        ({"local_network_addresses": ["0.0.0.0"]}, "http://127.0.0.1:8096"),
    ],
)
def test_url(network, url):
    assert jellyfin_local_url(network) == url


@pytest.mark.parametrize("bad", [None, "x", {"internal_http_port": "abc"}])
def test_bad_input(bad):
    with pytest.raises(AnsibleFilterError):
        jellyfin_local_url(bad)
