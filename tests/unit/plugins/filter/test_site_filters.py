from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.homelab.jellyfin_remote.plugins.filter import site_choice, site_plan, site_summary


def test_filters_are_registered():
    assert "site_choice" in site_choice.FilterModule().filters()
    assert "site_plan" in site_plan.FilterModule().filters()
    assert "site_summary" in site_summary.FilterModule().filters()


def test_errors_become_filter_errors_naming_the_filter_and_option():
    with pytest.raises(AnsibleFilterError, match="^site_choice: the preflight gave no ranked methods"):
        site_choice.site_choice([], {})
    with pytest.raises(AnsibleFilterError, match="^site_plan: jellyfin_remote_base_url"):
        site_plan.site_plan("reverse_proxy", {"base_url": "no-slash"})
    with pytest.raises(AnsibleFilterError, match="^site_summary: unknown method"):
        site_summary.site_summary("telnet")


def test_plan_through_the_filter():
    assert site_plan.site_plan("tailscale", {"vpn_clients_local": False}) == {
        "ports": [], "known_proxies": ["127.0.0.1"], "local_network_subnets": [], "base_url": ""}


def test_streaming_through_the_filter():
    from ansible_collections.homelab.jellyfin_remote.plugins.filter import site_streaming

    assert "site_streaming" in site_streaming.FilterModule().filters()
    assert site_streaming.site_streaming(20, 2)["limit"] == 7_000_000
    with pytest.raises(AnsibleFilterError, match="^site_streaming: jellyfin_remote_remote_streams must be"):
        site_streaming.site_streaming(20, 0)
    with pytest.raises(AnsibleFilterError, match="^site_streaming: jellyfin_remote_preferences.upload_mbps must be"):
        site_streaming.site_streaming("fast", upload_option="jellyfin_remote_preferences.upload_mbps")
