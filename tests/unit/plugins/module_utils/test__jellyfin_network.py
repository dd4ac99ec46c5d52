# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import codecs
import os

import pytest

from ansible_collections.homelab.jellyfin_remote.plugins.module_utils import _jellyfin_network as jn
from ansible_collections.homelab.jellyfin_remote.plugins.module_utils._jellyfin_network import (
    MASK,
    ORDER,
    NetworkXml,
    NetworkXmlError,
    apply_settings,
    canonical_entry,
    mask_secrets,
    merge_list,
    normalize_base_url,
    result_values,
)

DISCARDED = (
    ". Jellyfin cannot read it either: it would ignore the whole file and run on its defaults "
    "(KnownProxies, LocalNetworkSubnets, ports and HTTPS lost)"
)

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")


def fixture(name):
    with open(os.path.join(FIXTURES, name), "rb") as handle:
        return handle.read()


J1011 = fixture("network-10.11.xml")
J109 = fixture("network-10.9.xml")


# ---------------------------------------------------------------- round trip
@pytest.mark.parametrize(
    "data",
    [
        J1011,
        J109,
        J1011.replace(b"\n", b"\r\n"),
        codecs.BOM_UTF8 + J1011,
        J1011 + b"\n",
        J1011.replace(b"\n    ", b"\n\t\t").replace(b"\n  ", b"\n\t"),
        J1011.replace(b"  <AutoDiscovery>", b"  <!-- managed by hand -->\n  <AutoDiscovery>"),
        b'<?xml version="1.0" encoding="utf-8"?><NetworkConfiguration><BaseUrl>/jf</BaseUrl>'
        b"<KnownProxies><string>::1</string></KnownProxies></NetworkConfiguration>",
        b"<NetworkConfiguration>\n  <Custom a=\"1\" b=\"&quot;x&quot;\">mixed <b>bold</b> text</Custom>\n"
        b"</NetworkConfiguration>\n<!-- tail -->\n",
    ],
    ids=["10.11", "10.9-upnp", "crlf", "bom", "final-newline", "tabs", "comment", "compact", "mixed"],
)
def test_round_trip_is_byte_identical(data):
    assert NetworkXml.parse(data).to_bytes() == data


def test_jellyfin_1011_layout_facts():
    """The fixture is what XmlTextWriter(Formatting.Indented) over a BOM-less UTF-8 writer gives."""
    assert not J1011.startswith(codecs.BOM_UTF8)
    assert J1011.startswith(b'<?xml version="1.0" encoding="utf-8"?>\n<NetworkConfiguration xmlns:xsi=')
    assert J1011.endswith(b"</NetworkConfiguration>")
    assert b"<EnableUPnP>" not in J1011


def test_new_file_has_every_element_in_order_without_upnp():
    document = NetworkXml.new(None)
    names = [child.tag for child in document.root]
    assert names == [name for name in ORDER if name != "EnableUPnP"]
    # Setting the values of the 10.11 fixture onto defaults gives exactly the fixture.
    document.set_value("BaseUrl", "/jellyfin")
    document.set_value("LocalNetworkSubnets", ["192.168.1.0/24", "10.13.13.0/24"])
    document.set_value("KnownProxies", ["127.0.0.1"])
    assert document.to_bytes() == J1011
    assert NetworkXml.new((10, 11, 7)).to_bytes() == NetworkXml.new(None).to_bytes()


def test_new_file_for_old_version_has_upnp_in_place():
    names = [child.tag for child in NetworkXml.new((10, 10, 7)).root]
    assert names == list(ORDER)
    assert names.index("EnableUPnP") == names.index("AutoDiscovery") + 1


# ---------------------------------------------------------------- parse errors
@pytest.mark.parametrize(
    "data, message",
    [
        (b"<NetworkConfiguration><BaseUrl></NetworkConfiguration>", "not well-formed XML: mismatched tag: line 1, column 33"),
        (b"", "not well-formed XML: no element found: line 1, column 0"),
        (b"<ServerConfiguration />", "the root element is <ServerConfiguration>, expected <NetworkConfiguration>; this is not Jellyfin's network.xml"),
        (
            b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><NetworkConfiguration>&a;</NetworkConfiguration>',
            "DOCTYPE and entity declarations are refused; Jellyfin never writes them",
        ),
        (
            b'<?xml version="1.0" encoding="utf-16"?><NetworkConfiguration />',
            "the declaration names encoding 'utf-16'; only utf-8 is supported (Jellyfin writes utf-8)",
        ),
        (b"<NetworkConfiguration><EnableHttps>yes</EnableHttps></NetworkConfiguration>", "<EnableHttps> holds 'yes'; expected true or false (case-sensitive)" + DISCARDED),
        (b"<NetworkConfiguration><InternalHttpPort>80a</InternalHttpPort></NetworkConfiguration>", "<InternalHttpPort> holds '80a'; expected a whole number" + DISCARDED),
        (
            b"<NetworkConfiguration><KnownProxies /><KnownProxies /></NetworkConfiguration>",
            "<KnownProxies> appears 2 times; remove the duplicates so that one is left",
        ),
        (b"<NetworkConfiguration>\xff</NetworkConfiguration>", "the file is not UTF-8 text ('utf-8' codec can't decode byte 0xff in position 22: invalid start byte)"),
    ],
)
def test_parse_errors(data, message):
    with pytest.raises(NetworkXmlError) as info:
        NetworkXml.parse(data)
    assert str(info.value) == message


def test_values_and_defaults():
    document = NetworkXml.parse(b"<NetworkConfiguration><BaseUrl>jf/</BaseUrl><EnableHttps>1</EnableHttps></NetworkConfiguration>")
    assert document.value("BaseUrl") == "/jf"
    assert document.value("EnableHttps") is True
    assert document.value("InternalHttpPort") == 8096
    assert document.value("VirtualInterfaceNames") == ["veth"]
    assert result_values(document)["enable_upnp"] is None


def test_obsolete_elements_found():
    data = b"<NetworkConfiguration><PublicPort>8096</PublicPort><EnableIPV6>false</EnableIPV6></NetworkConfiguration>"
    assert NetworkXml.parse(data).obsolete_elements() == ["PublicPort", "EnableIPV6"]


# ---------------------------------------------------------------- changes
def test_change_keeps_everything_else_byte_for_byte():
    data = J1011.replace(b"  <AutoDiscovery>", b'  <Future enabled="yes"><Inner>1</Inner></Future>\n  <AutoDiscovery>')
    document = NetworkXml.parse(data)
    assert apply_settings(document, {"EnableHttps": True}, {}, "present") == ["EnableHttps"]
    expected = data.replace(b"<EnableHttps>false</EnableHttps>", b"<EnableHttps>true</EnableHttps>")
    assert document.to_bytes() == expected


@pytest.mark.parametrize(
    "present, name, expected_after",
    [
        (["BaseUrl", "EnableHttps"], "RequireHttps", "EnableHttps"),
        (["Custom", "KnownProxies"], "LocalNetworkSubnets", None),  # before KnownProxies: first position
        (["Custom", "IsRemoteIPFilterBlacklist"], "RemoteIPFilter", "Custom"),
        (["Custom"], "KnownProxies", "Custom"),  # nothing known: at the end
    ],
)
def test_insertion_position(present, name, expected_after):
    body = "".join("<%s>%s</%s>" % (tag, "false" if tag.startswith(("Enable", "Is", "Require")) else "x", tag) for tag in present)
    document = NetworkXml.parse(("<NetworkConfiguration>%s</NetworkConfiguration>" % body).encode())
    value = ["10.0.0.0/8"] if name in ("LocalNetworkSubnets", "KnownProxies", "RemoteIPFilter") else True
    assert document.set_value(name, value)
    tags = [child.tag for child in document.root]
    index = tags.index(name)
    if expected_after is None:
        assert index == 0 or tags[index - 1] not in ORDER
        assert tags[index + 1] == "KnownProxies"
    else:
        assert tags[index - 1] == expected_after


def test_inserted_element_uses_file_indentation():
    data = J1011.replace(b"  <RequireHttps>false</RequireHttps>\n", b"").replace(b"\n  ", b"\n    ")
    document = NetworkXml.parse(data)
    assert document.set_value("RequireHttps", True)
    text = document.to_text()
    assert "\n    <EnableHttps>false</EnableHttps>\n    <RequireHttps>true</RequireHttps>\n    <CertificatePath />" in text


def test_default_value_on_absent_element_is_no_change():
    document = NetworkXml.parse(b"<NetworkConfiguration />")
    assert apply_settings(document, {"EnableIPv6": False, "InternalHttpPort": 8096}, {"KnownProxies": []}, "exact") == []
    assert document.to_bytes() == b"<NetworkConfiguration />"


def test_list_rewrite_and_empty():
    document = NetworkXml.parse(J1011)
    assert document.set_value("KnownProxies", [])
    assert b"  <KnownProxies />\n" in document.to_bytes()
    assert document.set_value("LocalNetworkAddresses", ["192.168.1.10", "fd00::10"])
    assert b"  <LocalNetworkAddresses>\n    <string>192.168.1.10</string>\n    <string>fd00::10</string>\n  </LocalNetworkAddresses>\n" in document.to_bytes()


def test_values_are_escaped():
    document = NetworkXml.new()
    document.set_value("CertificatePassword", "a<b&c")
    assert "<CertificatePassword>a&lt;b&amp;c</CertificatePassword>" in document.to_text()
    assert NetworkXml.parse(document.to_bytes()).value("CertificatePassword") == "a<b&c"


def test_namespaced_attribute_keeps_prefix():
    data = (
        b'<NetworkConfiguration xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">\n'
        b'  <CertificatePath xsi:nil="true" />\n</NetworkConfiguration>'
    )
    document = NetworkXml.parse(data)
    assert document.to_bytes() == data
    document.set_value("EnableHttps", True)
    assert b'<CertificatePath xsi:nil="true" />' in document.to_bytes()


# ---------------------------------------------------------------- lists
@pytest.mark.parametrize(
    "current, desired, mode, expected",
    [
        (["10.0.0.1"], ["10.0.0.2"], "present", ["10.0.0.1", "10.0.0.2"]),
        (["10.0.0.1"], ["10.0.0.1"], "present", ["10.0.0.1"]),
        (["2001:DB8:0::1"], ["2001:db8::1"], "present", ["2001:DB8:0::1"]),
        (["Proxy.LAN"], ["proxy.lan"], "present", ["Proxy.LAN"]),
        (["a", "b"], ["c", "c"], "present", ["a", "b", "c"]),
        (["10.0.0.1", "10.0.0.2"], ["10.0.0.1"], "absent", ["10.0.0.2"]),
        (["2001:db8:0:0::1", "proxy"], ["2001:db8::1", "PROXY"], "absent", []),
        (["10.0.0.1"], ["10.9.9.9"], "absent", ["10.0.0.1"]),
        (["10.0.0.1", "10.0.0.2"], ["10.0.0.3", "10.0.0.1"], "exact", ["10.0.0.3", "10.0.0.1"]),
        (["FD00::1"], ["fd00::1"], "exact", ["FD00::1"]),
        (["x", "x"], ["x"], "exact", ["x"]),
        ([], [], "exact", []),
        (["10.0.0.0/8"], ["10.0.0.0/8"], "present", ["10.0.0.0/8"]),
    ],
)
def test_merge_list(current, desired, mode, expected):
    assert merge_list(current, desired, mode) == expected


def test_merge_list_rejects_unknown_mode():
    with pytest.raises(ValueError):
        merge_list([], [], "replace")


@pytest.mark.parametrize(
    "a, b, same",
    [
        ("2001:0db8::0001", "2001:db8::1", True),
        ("FD00::/64", "fd00:0::/64", True),
        ("10.0.0.5/24", "10.0.0.0/24", False),
        ("Proxy.Lan.", "proxy.lan", True),
        ("10.0.0.1", "10.0.0.10", False),
    ],
)
def test_canonical_entry(a, b, same):
    assert (canonical_entry(a) == canonical_entry(b)) is same


def test_apply_settings_list_modes_on_file():
    document = NetworkXml.parse(J1011)
    changed = apply_settings(document, {}, {"KnownProxies": ["::1"], "LocalNetworkSubnets": ["192.168.1.0/24"]}, "present")
    assert changed == ["KnownProxies"]
    assert document.value("KnownProxies") == ["127.0.0.1", "::1"]
    assert apply_settings(document, {}, {"KnownProxies": ["127.0.0.1"]}, "absent") == ["KnownProxies"]
    assert document.value("KnownProxies") == ["::1"]


# ---------------------------------------------------------------- base url, masking
@pytest.mark.parametrize(
    "raw, normalized",
    [("", ""), (None, ""), ("  ", ""), ("/", ""), ("jf", "/jf"), ("/jf/", "/jf"), ("jf//", "/jf/"), ("/a/b", "/a/b")],
)
def test_normalize_base_url_like_jellyfin(raw, normalized):
    assert normalize_base_url(raw) == normalized


@pytest.mark.parametrize(
    "text, secrets, expected",
    [
        ("<CertificatePassword>hunter2</CertificatePassword>", (), "<CertificatePassword>%s</CertificatePassword>" % MASK),
        ("<CertificatePassword />", ("",), "<CertificatePassword />"),
        ("<CertificatePassword>a&amp;b</CertificatePassword><X>a&amp;b</X>", ("a&b",), "<CertificatePassword>%s</CertificatePassword><X>%s</X>" % (MASK, MASK)),
        ("<CertificatePassword><![CDATA[</CertificatePassword>zz]]></CertificatePassword>", ("</CertificatePassword>zz",), None),
    ],
)
def test_mask_secrets(text, secrets, expected):
    masked = mask_secrets(text, secrets)
    if expected is not None:
        assert masked == expected
    for secret in secrets:
        if secret:
            assert secret not in masked
    assert "hunter2" not in masked and "zz" not in masked


@pytest.mark.parametrize(
    "data, expected",
    [
        (b"<NetworkConfiguration />", b"<NetworkConfiguration>\n  <KnownProxies>\n    <string>::1</string>\n  </KnownProxies>\n</NetworkConfiguration>"),
        (
            b"<NetworkConfiguration><BaseUrl /></NetworkConfiguration>",
            b"<NetworkConfiguration><BaseUrl /><KnownProxies><string>::1</string></KnownProxies></NetworkConfiguration>",
        ),
        (
            b"<NetworkConfiguration>\n\t<BaseUrl />\n</NetworkConfiguration>",
            b"<NetworkConfiguration>\n\t<BaseUrl />\n\t<KnownProxies>\n\t\t<string>::1</string>\n\t</KnownProxies>\n</NetworkConfiguration>",
        ),
    ],
    ids=["empty-root", "compact", "tabs"],
)
def test_insert_follows_file_style(data, expected):
    document = NetworkXml.parse(data)
    assert document.set_value("KnownProxies", ["::1"])
    assert document.to_bytes() == expected


# ---------------------------------------------------------------- the file: read, create, attributes


def test_read_network_xml_existing_new_and_errors(tmp_path):
    path = tmp_path / "network.xml"
    new = jn.read_network_xml(str(path), version=(10, 11, 7))
    assert (new.created, new.data, new.warnings) == (True, None, [])
    assert new.document.to_bytes() == jn.NetworkXml.new((10, 11, 7)).to_bytes()
    path.write_bytes(b"<NetworkConfiguration><PublicPort>8096</PublicPort></NetworkConfiguration>")
    old = jn.read_network_xml(str(path), version=None)
    assert (old.created, old.data) == (False, path.read_bytes())
    assert old.warnings == [
        "%s contains PublicPort: names from before Jellyfin 10.7 that Jellyfin ignores. Their values have no effect; "
        "set internal_http_port, public_http_port, internal_https_port, enable_ipv6 instead and remove them." % path
    ]
    path.write_bytes(b"<NetworkConfiguration><a></b></NetworkConfiguration>")
    with pytest.raises(jn.NetworkFileError, match=r"^path: %s cannot be used: not well-formed XML: mismatched tag: line " % path):
        jn.read_network_xml(str(path), None)
    missing = tmp_path / "no" / "network.xml"
    with pytest.raises(jn.NetworkFileError, match=r"^path: '%s' cannot be created: its directory %s does not exist" % (missing, missing.parent)):
        jn.read_network_xml(str(missing), None)
    with pytest.raises(jn.NetworkFileError, match=r"^path: cannot read %s: Is a directory\. Give the path of network\.xml, a regular file\.$" % tmp_path):
        jn.read_network_xml(str(tmp_path), None)


def test_file_diff_masks_the_certificate_password():
    old = b"<NetworkConfiguration><CertificatePassword>old-secret</CertificatePassword></NetworkConfiguration>"
    new = b"<NetworkConfiguration><CertificatePassword>new-secret</CertificatePassword></NetworkConfiguration>"
    diff = jn.file_diff("/j/network.xml", False, old, new, True, ["old-secret", "new-secret", None])
    assert diff["before_header"] == diff["after_header"] == "/j/network.xml"
    assert "secret" not in diff["before"] + diff["after"] and jn.MASK in diff["after"]
    assert jn.file_diff("/j/network.xml", True, None, new, True, [])["before"] == ""
    same = jn.file_diff("/j/network.xml", False, old, old, False, ["old-secret"])
    assert same["before"] == same["after"]


# ---------------------------------------------------------------- record and put back
def test_note_changes_then_restore_settings_give_the_file_back():
    document = NetworkXml.parse(J1011)
    entries = {}
    before = jn.snapshot(document)
    apply_settings(document, {"BaseUrl": "/media", "CertificatePassword": "pfx-secret-42"}, {"KnownProxies": ["::1"]}, "present")
    assert jn.note_changes(entries, before, document) == ["BaseUrl", "CertificatePassword", "KnownProxies"]
    assert entries == {
        "BaseUrl": {"original": "/jellyfin", "set": "/media"},
        "CertificatePassword": {"original_empty": True},
        "KnownProxies": {"original": ["127.0.0.1"], "added": ["::1"], "removed": []},
    }
    done = jn.restore_settings(document, entries, set(ORDER))
    assert entries == {} and document.to_bytes() == J1011
    assert [r.result() for r in done] == [
        {"setting": "BaseUrl", "option": "base_url", "outcome": "restored", "before": "/media", "after": "/jellyfin",
         "text": "Jellyfin setting BaseUrl: back to '/jellyfin'"},
        {"setting": "CertificatePassword", "option": "certificate_password", "outcome": "restored", "before": MASK,
         "after": "", "text": "Jellyfin setting CertificatePassword: back to ''"},
        {"setting": "KnownProxies", "option": "known_proxies", "outcome": "restored", "before": ["127.0.0.1", "::1"],
         "after": ["127.0.0.1"], "text": "Jellyfin setting KnownProxies: removed ::1"},
    ]


def test_restore_settings_only_the_names_given():
    document = NetworkXml.parse(J1011)
    entries = {"BaseUrl": {"original": "", "set": "/jellyfin"}, "EnableIPv6": {"original": True, "set": False}}
    done = jn.restore_settings(document, entries, {"BaseUrl", "KnownProxies"})
    assert [r.name for r in done] == ["BaseUrl"] and document.value("BaseUrl") == "" and document.value("EnableIPv6") is False
    assert entries == {"EnableIPv6": {"original": True, "set": False}}


def test_the_record_section_keeps_a_password_entry_under_a_name_the_host_record_accepts():
    from ansible_collections.homelab.jellyfin_remote.plugins.module_utils._host_record import SECRET_KEY

    entries = {"CertificatePassword": {"original_empty": True}, "BaseUrl": {"original": "", "set": "/x"}}
    section = jn.record_section({}, "/etc/jellyfin/network.xml", entries)
    keys = list(section["files"]["/etc/jellyfin/network.xml"]["settings"])
    assert sorted(keys) == ["BaseUrl", "CertificatePasswordPresence"]
    assert not any(SECRET_KEY.search(key) for key in keys)
    read = jn.recorded_entries({NetworkXml.RECORD_SECTION: section}, "/etc/jellyfin/network.xml", "state.json")
    assert read == entries
    assert jn.recorded_entries({}, "/etc/jellyfin/network.xml", "state.json") == {}
    assert jn.record_section({NetworkXml.RECORD_SECTION: section}, "/etc/jellyfin/network.xml", {}) is None


def test_a_section_without_files_is_named():
    with pytest.raises(jn.RecordError) as info:
        jn.recorded_entries({NetworkXml.RECORD_SECTION: {"file": {}}}, "/etc/jellyfin/network.xml", "state.json")
    assert str(info.value) == ("state.json: the section jellyfin_network has no 'files' mapping; repair or remove "
                               "the record and run again.")
