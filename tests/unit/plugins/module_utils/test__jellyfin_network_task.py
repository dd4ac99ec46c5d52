# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""jellyfin_network's task logic called directly, without AnsibleModule: options to settings,
the version checks, owner/group/mode, and ensure() with its two host callbacks recorded."""

from __future__ import annotations

import json
import os
import stat

import pytest

from harness import write_file

from ansible_collections.homelab.jellyfin_remote.plugins.module_utils import _jellyfin_network_task as task

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")
with open(os.path.join(FIXTURES, "network-10.11.xml"), "rb") as _handle:
    J1011 = _handle.read()


class Host:
    """The callbacks main() gives ensure(): the calls are kept, symbolic modes refused unless
    listed, and fs_attributes answers `differs` (what AnsibleModule would find)."""

    def __init__(self, differs=False, symbolic=None):
        self.differs = differs
        self.symbolic = symbolic or {}
        self.fs_calls = []
        self.warnings = []

    def symbolic_mode(self, current, text):
        if text not in self.symbolic:
            raise ValueError("bad symbolic mode")
        return self.symbolic[text]

    def fs_attributes(self, mode, uid, gid, changed):
        self.fs_calls.append((mode, uid, gid, changed))
        return self.differs

    def ensure(self, params, check_mode=False, diff=False):
        return task.ensure(params, self.symbolic_mode, self.fs_attributes, check_mode, diff, self.warnings.append)


@pytest.fixture
def network(tmp_path):
    return write_file(tmp_path / "network.xml", J1011)


def _params(path, tmp_path, **options):
    return dict(options, path=str(path), record_path=str(tmp_path / "record" / "state.json"))


@pytest.mark.parametrize("params, expected", [
    ({"known_proxies": ["10.0.0.2"]}, ({}, {"KnownProxies": ["10.0.0.2"]})),
    ({"public_https_port": 443, "enable_ipv6": False}, ({"PublicHttpsPort": 443, "EnableIPv6": False}, {})),
    ({"base_url": "jellyfin/", "remote_ip_filter_mode": "deny"}, ({"BaseUrl": "/jellyfin", "IsRemoteIPFilterBlacklist": True}, {})),
    ({"known_proxies": None, "certificate_password": "x"}, ({"CertificatePassword": "x"}, {})),
])
def test_desired_settings_maps_options_to_elements(params, expected):
    assert task.desired_settings(params) == expected


def test_check_version_refuses_upnp_without_a_version_and_from_1011():
    with pytest.raises(task.TaskError, match="^enable_upnp: needs jellyfin_version"):
        task.check_version(None, True, None)
    with pytest.raises(task.TaskError, match="^enable_upnp: Jellyfin 10.11.0 has no UPnP setting"):
        task.check_version("10.11.0", False, None)


def test_check_version_warns_below_the_floor_only():
    warnings = []
    assert task.check_version("10.10.7", True, warnings.append) == (10, 10, 7)
    assert len(warnings) == 1 and warnings[0].startswith("Jellyfin 10.10.7 is older than 10.11.10, which fixes ")
    assert task.check_version("10.11.10", None, warnings.append) == (10, 11, 10) and len(warnings) == 1
    assert task.check_version(None, None, warnings.append) is None


@pytest.mark.parametrize("mode, expected", [(None, None), (0o600, 0o600), ("0640", 0o640), ("640", 0o640), ("u=rw", 0o600)])
def test_resolve_mode(mode, expected):
    assert task.resolve_mode(mode, 0o644, Host(symbolic={"u=rw": 0o600}).symbolic_mode) == expected


def test_resolve_mode_names_the_option_and_the_forms():
    with pytest.raises(task.TaskError) as caught:
        task.resolve_mode("rw-all", 0o644, Host().symbolic_mode)
    assert str(caught.value) == (
        "mode: 'rw-all' is not valid: expected an octal mode such as '0640' or a symbolic one such as u=rw,g=r. "
        "bad symbolic mode"
    )


def test_resolve_ids_names_the_option():
    assert task.resolve_ids("0", "") == (0, None)
    with pytest.raises(task.TaskError, match="^group 'no-such-group-x' is not a group on this host"):
        task.resolve_ids(None, "no-such-group-x")


def test_ensure_writes_then_only_asks_the_attributes(network, tmp_path):
    host = Host()
    params = _params(network, tmp_path, known_proxies=["10.0.0.2"])
    first = host.ensure(params)
    assert (first["changed"], first["created"], first["changed_settings"]) == (True, False, ["KnownProxies"])
    assert b"<string>10.0.0.2</string>" in network.read_bytes()
    st = os.stat(network)
    # Written with the file's own mode and owner, then the other attributes applied (changed True).
    assert stat.S_IMODE(st.st_mode) == 0o644
    assert host.fs_calls == [(0o644, st.st_uid, st.st_gid, True)]
    # Unchanged content: whether anything changed is the attributes' answer alone.
    assert host.ensure(params)["changed"] is False
    assert host.fs_calls[-1] == (0o644, st.st_uid, st.st_gid, False)
    assert Host(differs=True).ensure(dict(params, mode="0600"))["changed"] is True


def test_ensure_in_check_mode_writes_and_records_nothing(network, tmp_path):
    host = Host()
    params = _params(network, tmp_path, base_url="/jf")
    result = host.ensure(params, check_mode=True, diff=True)
    assert result["changed"] is True and result["network"]["base_url"] == "/jf"
    assert "<BaseUrl>/jf</BaseUrl>" in result["diff"]["after"]
    assert network.read_bytes() == J1011 and host.fs_calls == []
    assert not os.path.exists(params["record_path"])


def test_ensure_records_the_original_and_absent_puts_it_back(network, tmp_path):
    host = Host()
    params = _params(network, tmp_path, base_url="/jf")
    host.ensure(params)
    with open(params["record_path"], encoding="utf-8") as handle:
        assert str(network) in json.load(handle)["sections"]["jellyfin_network"]["files"]
    back = host.ensure(_params(network, tmp_path, state="absent"))
    assert (back["changed"], back["changed_settings"]) == (True, ["BaseUrl"])
    assert network.read_bytes() == J1011


def test_ensure_absent_with_settings_is_refused(network, tmp_path):
    with pytest.raises(task.TaskError) as caught:
        Host().ensure(_params(network, tmp_path, state="absent", base_url="/jf", restore=["known_proxies"]))
    assert str(caught.value).startswith(
        "state: absent puts back every recorded setting and takes no settings and no restore, but got base_url, restore. "
    )
    assert network.read_bytes() == J1011


def test_ensure_absent_without_a_file_or_a_record_changes_nothing(tmp_path):
    host = Host()
    result = host.ensure(_params(tmp_path / "gone.xml", tmp_path, state="absent"))
    assert result == dict(changed=False, path=str(tmp_path / "gone.xml"), created=False, changed_settings=[], network={},
                          restored=[], recorded={})
    assert host.fs_calls == [] and host.warnings == []


def test_ensure_passes_warnings_on(network, tmp_path):
    host = Host()
    host.ensure(_params(network, tmp_path, jellyfin_version="10.11.9"))
    assert [w[:40] for w in host.warnings] == ["Jellyfin 10.11.9 is older than 10.11.10,"]
