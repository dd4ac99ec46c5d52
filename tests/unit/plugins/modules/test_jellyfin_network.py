# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import json
import os
import stat

import pytest

from harness import run_module

from ansible_collections.homelab.jellyfin_remote.plugins.modules import jellyfin_network

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(__file__)), "module_utils", "fixtures")
with open(os.path.join(FIXTURES, "network-10.11.xml"), "rb") as _handle:
    J1011 = _handle.read()
with open(os.path.join(FIXTURES, "network-10.9.xml"), "rb") as _handle:
    J109 = _handle.read()


RECORD = {}


@pytest.fixture(autouse=True)
def record_path(tmp_path):
    """Every run records in the test's own host record, never in /var/lib/jellyfin-remote."""
    RECORD["path"] = str(tmp_path / "record" / "state.json")
    yield RECORD["path"]
    RECORD.clear()


def _args(args):
    return dict(args, record_path=args.get("record_path", RECORD["path"]))


def run(args, check=False, diff=False):
    kind, result, warnings = run_module(jellyfin_network.main, _args(args), check, diff)
    assert kind == "exit", result
    result["warnings_seen"] = warnings
    return result


def fail(args):
    kind, result, warnings = run_module(jellyfin_network.main, _args(args))
    assert kind == "fail", result
    result["warnings_seen"] = warnings
    return result


@pytest.fixture
def existing(tmp_path):
    path = tmp_path / "network.xml"
    path.write_bytes(J1011)
    os.chmod(path, 0o644)
    return path


def _mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_check_mode_predicts_change_and_writes_nothing(existing):
    before = os.stat(existing)
    result = run({"path": str(existing), "known_proxies": ["10.0.0.2"]}, check=True)
    assert result["changed"] is True
    assert result["network"]["known_proxies"] == ["127.0.0.1", "10.0.0.2"]
    after = os.stat(existing)
    assert existing.read_bytes() == J1011
    assert (after.st_mtime_ns, after.st_ino) == (before.st_mtime_ns, before.st_ino)


def test_change_then_second_run_unchanged(existing):
    args = {"path": str(existing), "known_proxies": ["10.0.0.2"], "base_url": "jellyfin/"}
    first = run(args)
    assert first["changed"] is True and first["created"] is False
    assert existing.read_bytes() == J1011.replace(
        b"    <string>127.0.0.1</string>\n", b"    <string>127.0.0.1</string>\n    <string>10.0.0.2</string>\n"
    )
    assert _mode(existing) == 0o644
    second = run(args)
    assert second["changed"] is False
    assert run(args, check=True)["changed"] is False


def test_matching_settings_do_not_write(existing):
    before = os.stat(existing)
    result = run({"path": str(existing), "known_proxies": ["127.0.0.1"], "local_network_subnets": ["10.13.13.0/24"], "enable_ipv4": True})
    assert result["changed"] is False
    assert os.stat(existing).st_mtime_ns == before.st_mtime_ns


def test_list_modes_through_main(existing):
    assert run({"path": str(existing), "local_network_subnets": ["10.13.13.0/24"], "list_mode": "absent"})["network"][
        "local_network_subnets"
    ] == ["192.168.1.0/24"]
    result = run({"path": str(existing), "known_proxies": ["::1", "Caddy.LAN"], "list_mode": "exact"})
    assert result["network"]["known_proxies"] == ["::1", "caddy.lan"]
    assert result["network"]["local_network_subnets"] == ["192.168.1.0/24"]  # untouched


def test_diff_masks_password(existing):
    result = run(
        {"path": str(existing), "certificate_password": "pfx-secret-42", "enable_https": True}, diff=True
    )
    diff = result["diff"]
    assert diff["before_header"] == diff["after_header"] == str(existing)
    assert diff["before"] == J1011.decode()
    assert "<CertificatePassword>********</CertificatePassword>" in diff["after"]
    assert "<EnableHttps>true</EnableHttps>" in diff["after"]
    assert "pfx-secret-42" not in repr(result)
    assert result["network"]["certificate_password"] == "********"
    assert b"<CertificatePassword>pfx-secret-42</CertificatePassword>" in existing.read_bytes()
    again = run({"path": str(existing), "certificate_password": "other"}, diff=True)
    assert "pfx-secret-42" not in repr(again) and "other" not in again["diff"]["after"]


def test_new_file_gets_defaults_and_0640(tmp_path):
    path = tmp_path / "network.xml"
    result = run({"path": str(path), "known_proxies": ["127.0.0.1"], "base_url": "/jellyfin", "local_network_subnets": ["192.168.1.0/24", "10.13.13.0/24"]})
    assert result["changed"] is True and result["created"] is True
    assert path.read_bytes() == J1011
    assert _mode(path) == 0o640
    st, parent = os.stat(path), os.stat(tmp_path)
    assert (st.st_uid, st.st_gid) == (parent.st_uid, parent.st_gid)
    assert run({"path": str(path), "known_proxies": ["127.0.0.1"]})["changed"] is False


def test_new_file_in_check_mode_is_not_created(tmp_path):
    path = tmp_path / "network.xml"
    result = run({"path": str(path)}, check=True, diff=True)
    assert result["changed"] is True and result["created"] is True
    assert result["diff"]["before"] == ""
    assert not path.exists()


def test_new_file_for_old_version_has_upnp(tmp_path):
    path = tmp_path / "network.xml"
    run({"path": str(path), "jellyfin_version": "10.10.7", "enable_upnp": False})
    assert b"  <EnableUPnP>false</EnableUPnP>\n" in path.read_bytes()


def test_missing_directory_fails(tmp_path):
    path = tmp_path / "nothere" / "network.xml"
    result = fail({"path": str(path)})
    assert result["msg"] == (
        "path: %r cannot be created: its directory %s does not exist. Install Jellyfin first "
        "or give the path of its configuration directory." % (str(path), str(tmp_path / "nothere"))
    )


def test_existing_mode_and_owner_kept(existing):
    os.chmod(existing, 0o600)
    os.chown(existing, 1234, 5678)
    run({"path": str(existing), "enable_ipv6": True})
    st = os.stat(existing)
    assert (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid) == (0o600, 1234, 5678)


def test_given_mode_and_owner_applied_on_write(existing):
    run({"path": str(existing), "enable_ipv6": True, "mode": "0640", "owner": "1234", "group": "5678"})
    st = os.stat(existing)
    assert (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid) == (0o640, 1234, 5678)


def test_attributes_only_change_is_reported(existing):
    result = run({"path": str(existing), "mode": "0600"}, check=True)
    assert result["changed"] is True and _mode(existing) == 0o644
    assert run({"path": str(existing), "mode": "0600"})["changed"] is True
    assert _mode(existing) == 0o600
    assert existing.read_bytes() == J1011
    assert run({"path": str(existing), "mode": "0600"})["changed"] is False


def test_upnp_refused_for_1011(existing):
    result = fail({"path": str(existing), "enable_upnp": True, "jellyfin_version": "10.11.7"})
    assert result["msg"] == (
        "enable_upnp: Jellyfin 10.11.7 has no UPnP setting (EnableUPnP is obsolete since 10.11.0 and ignored): "
        "expected enable_upnp only with jellyfin_version older than 10.11.0. Remove enable_upnp and forward "
        "the port on the router instead."
    )
    assert existing.read_bytes() == J1011


def test_upnp_needs_version(existing):
    assert "jellyfin_version" in fail({"path": str(existing), "enable_upnp": True})["msg"]


def test_upnp_allowed_for_old_version(tmp_path):
    path = tmp_path / "network.xml"
    path.write_bytes(J109)
    result = run({"path": str(path), "enable_upnp": True, "jellyfin_version": "10.9.11"})
    assert result["changed"] is True and result["network"]["enable_upnp"] is True
    assert b"<EnableUPnP>true</EnableUPnP>" in path.read_bytes()
    assert result["warnings_seen"] == [
        "Jellyfin 10.9.11 is older than 10.11.10, which fixes CVE-2026-35031 and CVE-2026-35033 (fixed in "
        "10.11.7), GHSA-f47c-m7gr-q92j, GHSA-jg92-mrxq-vv75 and GHSA-wwwm-px48-fpvq (fixed in 10.11.10). "
        "Update the server before it is exposed to the internet."
    ]


def test_warning_for_a_release_below_the_floor(existing):
    assert "older than 10.11.10" in run({"path": str(existing), "jellyfin_version": "10.11.9"})["warnings_seen"][0]


def test_no_warning_for_current_version(existing):
    assert run({"path": str(existing), "jellyfin_version": "10.11.10"})["warnings_seen"] == []


def test_malformed_xml_not_overwritten(tmp_path):
    path = tmp_path / "network.xml"
    broken = J1011.replace(b"</KnownProxies>", b"")
    path.write_bytes(broken)
    result = fail({"path": str(path), "known_proxies": ["10.0.0.1"]})
    assert result["msg"].startswith("path: %s cannot be used: not well-formed XML: mismatched tag: line " % path)
    assert result["msg"].endswith("The file was left unchanged; repair it or move it away and run again.")
    assert path.read_bytes() == broken


def test_wrong_root_fails(tmp_path):
    path = tmp_path / "network.xml"
    path.write_bytes(b"<ServerConfiguration />")
    assert "the root element is <ServerConfiguration>, expected <NetworkConfiguration>" in fail({"path": str(path)})["msg"]


def test_obsolete_names_warned_and_kept(tmp_path):
    path = tmp_path / "network.xml"
    data = J1011.replace(b"  <AutoDiscovery>", b"  <PublicPort>8096</PublicPort>\n  <AutoDiscovery>")
    path.write_bytes(data)
    result = run({"path": str(path), "enable_ipv6": True})
    assert result["warnings_seen"] == [
        "%s contains PublicPort: names from before Jellyfin 10.7 that Jellyfin ignores. Their values have no effect; "
        "set internal_http_port, public_http_port, internal_https_port, enable_ipv6 instead and remove them." % path
    ]
    assert b"  <PublicPort>8096</PublicPort>\n" in path.read_bytes()


@pytest.mark.parametrize(
    "args, message",
    [
        (
            {"known_proxies": ["10.0.0.256"]},
            "known_proxies: '10.0.0.256' is not valid: expected an IP address, a CIDR network or a hostname. Correct the address.",
        ),
        (
            {"local_network_subnets": ["192.168.1.1/24"]},
            "local_network_subnets: '192.168.1.1/24' is not valid: expected an IP address or a CIDR network such as "
            "192.168.1.10 or 192.168.1.0/24. Host bits are set; the network that contains this address is 192.168.1.0/24.",
        ),
        (
            {"public_https_port": 70000},
            "public_https_port: 70000 is not valid: expected a port number from 1 to 65535. Choose a port from 1 to 65535.",
        ),
        (
            {"base_url": "/jelly fin"},
            "base_url: '/jelly fin' is not valid: expected a URL path prefix such as /jellyfin, or an empty string for "
            "none. Remove the spaces; encode a needed one as %20.",
        ),
        (
            {"jellyfin_version": "ten"},
            "jellyfin_version: 'ten' is not valid: expected a version such as 10.11.7. Give the server version as "
            "major.minor.patch.",
        ),
    ],
)
def test_invalid_options_fail_with_message(existing, args, message):
    args["path"] = str(existing)
    assert fail(args)["msg"] == message
    assert existing.read_bytes() == J1011


@pytest.mark.parametrize("element, text, expected", [
    ("IgnoreVirtualInterfaces", "True", "true or false (case-sensitive)"),
    ("EnableRemoteAccess", "yes", "true or false (case-sensitive)"),
    ("EnablePublishedServerUriByRequest", "", "true or false (case-sensitive)"),
    ("InternalHttpsPort", "8920x", "a whole number"),
    ("PublicHttpPort", "2147483648", "a whole number"),
    ("PublicHttpsPort", "1_000", "a whole number"),
])
def test_a_value_jellyfin_cannot_read_is_refused(existing, element, text, expected):
    """Jellyfin 10.11 would ignore the whole file for it (and run on its defaults): refuse,
    naming the element and the consequence, and leave the file as it is."""
    data = existing.read_bytes()
    start = data.index(b"<%s" % element.encode())
    end = data.index(b"\n", start)
    broken = data[:start] + b"<%s>%s</%s>" % (element.encode(), text.encode(), element.encode()) + data[end:]
    existing.write_bytes(broken)
    result = fail({"path": str(existing), "known_proxies": ["10.0.0.1"]})
    assert result["msg"] == (
        "path: %s cannot be used: <%s> holds %r; expected %s. Jellyfin cannot read it either: it would ignore "
        "the whole file and run on its defaults (KnownProxies, LocalNetworkSubnets, ports and HTTPS lost). "
        "The file was left unchanged; repair it or move it away and run again." % (existing, element, text, expected))
    assert existing.read_bytes() == broken


@pytest.mark.parametrize("text", ["1", "0", " true ", "false\n"])
def test_xmlconvert_booleans_are_accepted(existing, text):
    data = existing.read_bytes().replace(b"<AutoDiscovery>true</AutoDiscovery>",
                                         b"<AutoDiscovery>%s</AutoDiscovery>" % text.encode())
    existing.write_bytes(data)
    assert run({"path": str(existing)})["changed"] is False


def test_changed_settings_names_what_changed(existing):
    result = run({"path": str(existing), "known_proxies": ["10.0.0.1"], "base_url": "/jf"}, check=True)
    assert result["changed_settings"] == ["BaseUrl", "KnownProxies"]
    run({"path": str(existing), "known_proxies": ["10.0.0.1"], "base_url": "/jf"})
    again = run({"path": str(existing), "known_proxies": ["10.0.0.1"], "base_url": "/jf"}, check=True)
    assert again["changed"] is False and again["changed_settings"] == []


def test_enable_upnp_written_by_jellyfin_12_is_not_drift(existing):
    """.NET 10 serialises [Obsolete] members again: Jellyfin 12 adds <EnableUPnP> on its next
    save. The settings the role wrote are still there; nothing to change, nothing lost."""
    args = {"path": str(existing), "known_proxies": ["10.0.0.1"], "local_network_subnets": ["192.168.1.0/24"],
            "jellyfin_version": "12.0.0"}
    run(args)
    data = existing.read_bytes()
    data = data.replace(b"  <EnableIPv4>", b"  <EnableUPnP>false</EnableUPnP>\n  <EnableIPv4>")
    existing.write_bytes(data)
    result = run(args, check=True)
    assert (result["changed"], result["changed_settings"], result["warnings_seen"]) == (False, [], [])
    assert result["network"]["enable_upnp"] is False


@pytest.mark.parametrize(
    "option,value,message",
    [
        ("owner", "no-such-user-x", "owner 'no-such-user-x' is not a user on this host; give an existing user name or a numeric uid"),
        ("group", "no-such-group-x", "group 'no-such-group-x' is not a group on this host; give an existing group name or a numeric gid"),
        ("owner", str(2**40), "owner %d is larger than any uid (4294967294 at most)" % 2**40),
    ],
)
def test_owner_and_group_errors_name_the_option(existing, option, value, message):
    """The same resolver as wireguard_keypair's (_atomic_file), so the same messages; nothing written."""
    assert fail({"path": str(existing), "known_proxies": ["10.0.0.2"], option: value})["msg"] == message
    assert existing.read_bytes() == J1011


# ---------------------------------------------------------------- record and put back (state, restore)
def _record(path):
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)["sections"]["jellyfin_network"]["files"]


def _edit(path, old, new):
    data = path.read_bytes()
    assert old in data
    path.write_bytes(data.replace(old, new))


def test_first_change_records_the_owners_original(existing, record_path):
    result = run({"path": str(existing), "known_proxies": ["10.0.0.2"], "base_url": "/media"})
    expected = {
        "BaseUrl": {"original": "/jellyfin", "set": "/media"},
        "KnownProxies": {"original": ["127.0.0.1"], "added": ["10.0.0.2"], "removed": []},
    }
    assert result["recorded"] == expected
    assert _record(record_path) == {str(existing): {"settings": expected}}
    st = os.stat(record_path)
    assert (stat.S_IMODE(st.st_mode), st.st_uid) == (0o600, os.getuid())


def test_later_runs_keep_the_first_original(existing, record_path):
    run({"path": str(existing), "base_url": "/media"})
    _edit(existing, b"<BaseUrl>/media<", b"<BaseUrl>/owner<")  # the owner, by hand
    run({"path": str(existing), "base_url": "/media2"})
    assert _record(record_path)[str(existing)]["settings"]["BaseUrl"] == {"original": "/jellyfin", "set": "/media2"}
    mtime = os.stat(record_path).st_mtime_ns
    again = run({"path": str(existing), "base_url": "/media2"})
    assert again["changed"] is False and os.stat(record_path).st_mtime_ns == mtime


def test_absent_puts_the_file_back_byte_for_byte_and_drops_the_record(existing, record_path):
    run({"path": str(existing), "known_proxies": ["10.0.0.2"], "local_network_subnets": ["10.8.0.0/24"],
         "base_url": "/media", "enable_remote_access": False, "internal_http_port": 8097})
    assert existing.read_bytes() != J1011
    result = run({"path": str(existing), "state": "absent"})
    assert result["changed"] is True
    assert existing.read_bytes() == J1011
    assert not os.path.exists(record_path)
    assert result["changed_settings"] == ["BaseUrl", "InternalHttpPort", "EnableRemoteAccess", "LocalNetworkSubnets",
                                          "KnownProxies"]
    assert [r["text"] for r in result["restored"]] == [
        "Jellyfin setting BaseUrl: back to '/jellyfin'",
        "Jellyfin setting InternalHttpPort: back to 8096",
        "Jellyfin setting EnableRemoteAccess: back to True",
        "Jellyfin setting LocalNetworkSubnets: removed 10.8.0.0/24",
        "Jellyfin setting KnownProxies: removed 10.0.0.2",
    ]
    assert {r["outcome"] for r in result["restored"]} == {"restored"}
    assert _mode(existing) == 0o644
    second = run({"path": str(existing), "state": "absent"})
    assert (second["changed"], second["restored"]) == (False, [])


def test_absent_keeps_the_entries_the_owner_added_since(existing):
    run({"path": str(existing), "known_proxies": ["10.0.0.2"]})
    _edit(existing, b"<string>10.0.0.2</string>\n", b"<string>10.0.0.2</string>\n    <string>10.0.0.9</string>\n")
    result = run({"path": str(existing), "state": "absent"})
    assert result["network"]["known_proxies"] == ["127.0.0.1", "10.0.0.9"]


def test_absent_puts_back_the_owners_entries_the_collection_removed(existing):
    run({"path": str(existing), "local_network_subnets": ["10.8.0.0/24"], "list_mode": "exact"})
    assert run({"path": str(existing), "state": "absent"})["network"]["local_network_subnets"] == [
        "192.168.1.0/24", "10.13.13.0/24"]
    assert existing.read_bytes() == J1011


def test_absent_leaves_a_scalar_the_owner_changed_since_and_says_so(existing, record_path):
    run({"path": str(existing), "base_url": "/media", "known_proxies": ["10.0.0.2"]})
    _edit(existing, b"<BaseUrl>/media<", b"<BaseUrl>/owner<")
    result = run({"path": str(existing), "state": "absent"})
    assert result["network"]["base_url"] == "/owner"
    assert result["network"]["known_proxies"] == ["127.0.0.1"]
    assert result["warnings_seen"] == [
        "%s: BaseUrl was changed after this collection set it; it is left as it is now ('/owner')." % existing]
    assert [(r["setting"], r["outcome"]) for r in result["restored"]] == [("BaseUrl", "kept"), ("KnownProxies", "restored")]
    assert not os.path.exists(record_path)
    assert run({"path": str(existing), "state": "absent"})["changed"] is False


def test_absent_in_check_mode_changes_nothing(existing, record_path):
    run({"path": str(existing), "known_proxies": ["10.0.0.2"], "base_url": "/media"})
    data, record = existing.read_bytes(), open(record_path, "rb").read()
    stamps = (os.stat(existing).st_mtime_ns, os.stat(record_path).st_mtime_ns)
    result = run({"path": str(existing), "state": "absent"}, check=True, diff=True)
    assert result["changed"] is True
    assert result["network"]["known_proxies"] == ["127.0.0.1"] and result["network"]["base_url"] == "/jellyfin"
    assert result["diff"]["after"] == J1011.decode()
    assert (existing.read_bytes(), open(record_path, "rb").read()) == (data, record)
    assert (os.stat(existing).st_mtime_ns, os.stat(record_path).st_mtime_ns) == stamps


def test_check_mode_records_nothing(existing, record_path):
    result = run({"path": str(existing), "known_proxies": ["10.0.0.2"]}, check=True)
    assert result["changed"] is True and result["recorded"]["KnownProxies"]["added"] == ["10.0.0.2"]
    assert not os.path.exists(record_path) and existing.read_bytes() == J1011


def test_restore_puts_some_back_and_sets_others_in_one_write(existing, record_path):
    run({"path": str(existing), "known_proxies": ["10.0.0.2"], "base_url": "/media"})
    inode = os.stat(existing).st_ino
    result = run({"path": str(existing), "restore": ["known_proxies", "enable_https"],
                  "local_network_subnets": ["10.8.0.0/24"]}, diff=True)
    assert result["changed"] is True
    assert result["changed_settings"] == ["LocalNetworkSubnets", "KnownProxies"]
    assert result["network"]["known_proxies"] == ["127.0.0.1"] and result["network"]["base_url"] == "/media"
    assert [r["text"] for r in result["restored"]] == ["Jellyfin setting KnownProxies: removed 10.0.0.2"]
    assert set(_record(record_path)[str(existing)]["settings"]) == {"BaseUrl", "LocalNetworkSubnets"}
    assert os.stat(existing).st_ino != inode  # written once, atomically
    assert run({"path": str(existing), "restore": ["known_proxies"], "local_network_subnets": ["10.8.0.0/24"]},
               check=True)["changed"] is False
    run({"path": str(existing), "state": "absent"})
    assert existing.read_bytes() == J1011


def test_restore_and_given_replaces_the_collections_entries(existing, record_path):
    run({"path": str(existing), "known_proxies": ["10.0.0.2"]})
    _edit(existing, b"<string>10.0.0.2</string>\n", b"<string>10.0.0.2</string>\n    <string>10.0.0.9</string>\n")
    result = run({"path": str(existing), "restore": ["known_proxies"], "known_proxies": ["10.0.0.3"]})
    assert result["network"]["known_proxies"] == ["127.0.0.1", "10.0.0.9", "10.0.0.3"]
    assert result["recorded"]["KnownProxies"]["added"] == ["10.0.0.3"]
    assert run({"path": str(existing), "restore": ["known_proxies"], "known_proxies": ["10.0.0.3"]},
               check=True)["changed"] is False


def test_restore_in_check_mode_changes_nothing(existing, record_path):
    run({"path": str(existing), "base_url": "/media"})
    record = open(record_path, "rb").read()
    result = run({"path": str(existing), "restore": ["base_url"]}, check=True)
    assert result["changed"] is True and result["network"]["base_url"] == "/jellyfin" and result["recorded"] == {}
    assert open(record_path, "rb").read() == record and b"<BaseUrl>/media<" in existing.read_bytes()


def test_setting_back_to_the_original_by_hand_of_the_collection_forgets_it(existing, record_path):
    """jellyfin_https's own removal gives the old values through the options: nothing stays recorded."""
    run({"path": str(existing), "enable_https": True})
    result = run({"path": str(existing), "enable_https": False})
    assert result["recorded"] == {} and not os.path.exists(record_path)


def test_no_password_in_the_record_and_an_empty_one_comes_back(existing, record_path):
    args = {"path": str(existing), "enable_https": True, "certificate_path": "/etc/jellyfin/jellyfin.pfx",
            "certificate_password": "pfx-secret-42"}
    result = run(args)
    text = open(record_path, encoding="utf-8").read()
    assert "pfx-secret-42" not in text and "pfx-secret-42" not in repr(result)
    assert _record(record_path)[str(existing)]["settings"]["CertificatePasswordPresence"] == {"original_empty": True}
    result = run({"path": str(existing), "state": "absent"}, diff=True)
    assert "pfx-secret-42" not in repr(result)
    assert existing.read_bytes() == J1011


def test_an_owners_password_is_never_recorded_and_left_with_a_warning(existing, record_path):
    _edit(existing, b"<CertificatePassword />", b"<CertificatePassword>owners-pw-77</CertificatePassword>")
    run({"path": str(existing), "certificate_password": "pfx-secret-42"})
    assert "owners-pw-77" not in open(record_path, encoding="utf-8").read()
    result = run({"path": str(existing), "state": "absent"})
    assert "owners-pw-77" not in repr(result) and "pfx-secret-42" not in repr(result)
    assert result["restored"][0]["outcome"] == "unknown" and result["restored"][0]["before"] == "********"
    assert "passwords are never recorded" in result["warnings_seen"][0]
    assert b"<CertificatePassword>pfx-secret-42<" in existing.read_bytes()
    assert not os.path.exists(record_path)


def test_absent_takes_no_settings(existing):
    assert fail({"path": str(existing), "state": "absent", "known_proxies": ["10.0.0.2"], "restore": ["base_url"]})[
        "msg"] == (
        "state: absent puts back every recorded setting and takes no settings and no restore, but got known_proxies, "
        "restore. Remove them, or use state present with restore to put back some settings and set others.")


def test_absent_on_a_host_never_set_up(tmp_path, record_path):
    result = run({"path": str(tmp_path / "no-jellyfin" / "network.xml"), "state": "absent"}, check=True)
    assert (result["changed"], result["restored"]) == (False, [])
    assert run({"path": str(tmp_path / "no-jellyfin" / "network.xml"), "state": "absent"})["changed"] is False
    assert not os.path.exists(record_path)


def test_absent_when_network_xml_went_drops_the_record(existing, record_path):
    run({"path": str(existing), "base_url": "/media"})
    os.unlink(existing)
    result = run({"path": str(existing), "state": "absent"})
    assert result["changed"] is True and not os.path.exists(existing) and not os.path.exists(record_path)
    assert result["warnings_seen"] == [
        "%s does not exist: the recorded settings (BaseUrl) cannot be put back; their record is dropped." % existing]


def test_the_record_keeps_other_sections_and_files(existing, record_path, tmp_path):
    other = tmp_path / "other.xml"
    other.write_bytes(J1011)
    run({"path": str(other), "base_url": "/other"})
    run({"path": str(existing), "base_url": "/media"})
    assert set(_record(record_path)) == {str(other), str(existing)}
    run({"path": str(existing), "state": "absent"})
    assert set(_record(record_path)) == {str(other)}


@pytest.mark.parametrize("content, message", [
    ("{", "record_path: the host record %s is not JSON"),
    ('{"format": 1, "sections": {"jellyfin_network": {"files": {"%s": {"settings": {"BaseUrl": {"set": "/x"}}}}}}}',
     "record_path: %s: the record of BaseUrl is {'set': '/x'}; expected original and set; repair or remove the record"),
])
def test_a_record_that_cannot_be_read_fails_clearly(existing, record_path, content, message):
    os.makedirs(os.path.dirname(record_path))
    with open(record_path, "w", encoding="utf-8") as handle:
        handle.write(content.replace("%s", str(existing)))
    assert fail({"path": str(existing), "state": "absent"})["msg"].startswith(message % record_path)
    assert existing.read_bytes() == J1011


# -- public_info: Jellyfin's /System/Info/Public asked with the read, on loopback ----------------


class _Jellyfin:
    """A loopback HTTP server answering GET <path> with a body (and a redirect from /old)."""

    def __init__(self, path, body, content_type="application/json"):
        import http.server
        import threading

        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's name
                owner.asked.append(self.path)
                if self.path == "/old/System/Info/Public":
                    self.send_response(302)
                    self.send_header("Location", "http://127.0.0.1:%d%s" % (owner.port, path))
                    self.end_headers()
                    return
                if self.path != path:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.asked = []
        self.server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def jellyfin_at():
    made = []

    def make(path, body, **kwargs):
        made.append(_Jellyfin(path, body, **kwargs))
        return made[-1]

    yield make
    for server in made:
        server.close()


def test_public_info_comes_with_the_read_at_the_address_the_settings_give(existing, jellyfin_at):
    jellyfin = jellyfin_at("/jf/System/Info/Public", b'{"Version": "10.10.7", "StartupWizardCompleted": true}')
    run({"path": str(existing), "internal_http_port": jellyfin.port, "base_url": "/jf"})
    before = existing.read_bytes()
    result = run({"path": str(existing), "public_info": True}, check=True)
    assert result["public_info"] == {"Version": "10.10.7", "StartupWizardCompleted": True}
    assert jellyfin.asked == ["/jf/System/Info/Public"]
    assert result["changed"] is False and existing.read_bytes() == before


def test_public_info_follows_a_redirect(existing, jellyfin_at):
    jellyfin = jellyfin_at("/System/Info/Public", b'{"Version": "10.11.0"}')
    run({"path": str(existing), "internal_http_port": jellyfin.port, "base_url": "/old"})
    result = run({"path": str(existing), "public_info": True}, check=True)
    assert result["public_info"] == {"Version": "10.11.0"}
    assert jellyfin.asked == ["/old/System/Info/Public", "/System/Info/Public"]


@pytest.mark.parametrize("body", [b"[1, 2]", b"<html>not jellyfin</html>", b'"10.10.7"'])
def test_public_info_is_empty_for_anything_but_a_json_object(existing, jellyfin_at, body):
    jellyfin = jellyfin_at("/System/Info/Public", body)
    run({"path": str(existing), "internal_http_port": jellyfin.port})
    assert run({"path": str(existing), "public_info": True}, check=True)["public_info"] == {}


def test_public_info_is_empty_when_nothing_answers(existing, jellyfin_at):
    jellyfin = jellyfin_at("/System/Info/Public", b"{}")
    port = jellyfin.port
    jellyfin.close()
    run({"path": str(existing), "internal_http_port": port})
    assert run({"path": str(existing), "public_info": True}, check=True)["public_info"] == {}


def test_public_info_is_not_asked_unless_wanted(existing, jellyfin_at):
    jellyfin = jellyfin_at("/System/Info/Public", b"{}")
    run({"path": str(existing), "internal_http_port": jellyfin.port})
    assert "public_info" not in run({"path": str(existing)}, check=True)
    assert jellyfin.asked == []


def test_public_info_is_still_asked_when_the_settings_cannot_be_read(tmp_path):
    result = fail({"path": str(tmp_path / "nothere" / "network.xml"), "public_info": True})
    assert isinstance(result["public_info"], dict)  # at the default address; {} unless a Jellyfin runs here
