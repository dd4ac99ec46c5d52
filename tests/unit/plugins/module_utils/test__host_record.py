"""The host record: sections written atomically 0600, dropped, secrets refused, bad files named."""

from __future__ import annotations

import json
import os
import stat

import pytest

from ansible_collections.homelab.jellyfin_remote.plugins.module_utils import _host_record as hr


@pytest.fixture
def path(tmp_path):
    return str(tmp_path / "jellyfin-remote" / "state.json")


def test_missing_record_reads_empty(path):
    assert hr.read(path) == {}


def test_present_creates_a_private_file_and_is_idempotent(path):
    result = hr.update(path, "reverse_proxy", {"flavour": "caddy", "ports": [80, 443]})
    assert result["changed"] and result["section"] == {"flavour": "caddy", "ports": [80, 443]}
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode) == 0o700
    with open(path, encoding="utf-8") as handle:
        assert json.load(handle) == {"format": 1, "sections": {"reverse_proxy": {"flavour": "caddy", "ports": [80, 443]}}}
    again = hr.update(path, "reverse_proxy", {"ports": [80, 443], "flavour": "caddy"})
    assert not again["changed"]


def test_sections_are_independent(path):
    hr.update(path, "site", {"method": "wireguard"})
    hr.update(path, "wireguard", {"interface": "wg0"})
    assert hr.read(path) == {"site": {"method": "wireguard"}, "wireguard": {"interface": "wg0"}}
    result = hr.update(path, "site", {"method": "tailscale"})
    assert result["record"]["wireguard"] == {"interface": "wg0"}
    assert '"wireguard"' in result["diff"]["before"] and '"tailscale"' in result["diff"]["after"]


def test_absent_drops_the_section_and_the_last_one_takes_file_and_directory(path):
    hr.update(path, "site", {"method": "wireguard"})
    hr.update(path, "wireguard", {"interface": "wg0"})
    assert hr.update(path, "site", state="absent")["changed"]
    assert hr.read(path) == {"wireguard": {"interface": "wg0"}}
    assert hr.update(path, "wireguard", state="absent")["record"] == {}
    assert not os.path.exists(path) and not os.path.exists(os.path.dirname(path))
    assert not hr.update(path, "wireguard", state="absent")["changed"]


def test_directory_with_other_files_stays(path):
    os.makedirs(os.path.dirname(path))
    other = os.path.join(os.path.dirname(path), "other")
    open(other, "w").close()
    hr.update(path, "site", {"method": "x"})
    hr.update(path, "site", state="absent")
    assert os.path.exists(other) and not os.path.exists(path)


def test_check_mode_writes_nothing(path):
    result = hr.update(path, "site", {"method": "tailscale"}, check_mode=True)
    assert result["changed"] and result["record"] == {"site": {"method": "tailscale"}}
    assert not os.path.exists(path)
    hr.update(path, "site", {"method": "tailscale"})
    assert hr.update(path, "site", state="absent", check_mode=True)["changed"]
    assert hr.read(path) == {"site": {"method": "tailscale"}}


@pytest.mark.parametrize("data", [{"password": "x"}, {"ddns": {"api_token": "x"}}, {"peers": [{"private_key": "x"}]},
                                  {"tsig_secret": "x"}, {"Credentials": "x"}])
def test_secrets_are_refused_by_key_name(path, data):
    with pytest.raises(hr.HostRecordError, match="must not hold secrets"):
        hr.update(path, "site", data)
    assert not os.path.exists(path)


def test_paths_of_secrets_are_fine(path):
    assert hr.update(path, "ddns", {"password_file": "/etc/ddclient.conf", "key_path": "/etc/wireguard/x"})["changed"]


@pytest.mark.parametrize("section", ["", "Site", "a-b", "../x", None, "x" * 65])
def test_bad_section_names(path, section):
    with pytest.raises(hr.HostRecordError, match="section must be"):
        hr.update(path, section, {})


def test_non_json_values_are_refused(path):
    with pytest.raises(hr.HostRecordError, match="JSON values"):
        hr.update(path, "site", {"when": object()})
    with pytest.raises(hr.HostRecordError, match="must be a dict"):
        hr.update(path, "site", ["x"])


@pytest.mark.parametrize("content, message", [
    ("{not json", "is not JSON"),
    ('{"format": 1}', "no 'sections'"),
    ('{"format": 9, "sections": {}}', "format 9"),
])
def test_a_damaged_record_is_named_and_left_alone(path, content, message):
    os.makedirs(os.path.dirname(path))
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(content)
    with pytest.raises(hr.HostRecordError, match=message) as info:
        hr.update(path, "site", {"method": "x"})
    assert path in str(info.value)
    with open(path, encoding="utf-8") as handle:
        assert handle.read() == content


def test_only_its_own_directory_is_made(tmp_path):
    path = str(tmp_path / "missing" / "jellyfin-remote" / "state.json")
    with pytest.raises(hr.HostRecordError, match="cannot write the host record"):
        hr.update(path, "site", {"method": "x"})
    assert not os.path.exists(tmp_path / "missing")
