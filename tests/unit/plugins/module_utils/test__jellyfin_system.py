# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import pytest

from ansible_collections.homelab.jellyfin_remote.plugins.module_utils._jellyfin_network import (
    NetworkXmlError,
    plan_settings,
)
from ansible_collections.homelab.jellyfin_remote.plugins.module_utils._jellyfin_system import SystemXml, result_values

# A part of what Jellyfin 10.11 writes (XmlSerializer, base-class members first); the module
# manages one element and must keep every other one as it is.
SYSTEM = (
    b'<?xml version="1.0" encoding="utf-8"?>\n'
    b'<ServerConfiguration xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
    b'xmlns:xsd="http://www.w3.org/2001/XMLSchema">\n'
    b"  <LogFileRetentionDays>3</LogFileRetentionDays>\n"
    b"  <IsStartupWizardCompleted>true</IsStartupWizardCompleted>\n"
    b"  <EnableMetrics>false</EnableMetrics>\n"
    b"  <MetadataPath />\n"
    b"  <ContentTypes>\n"
    b"    <NameValuePair>\n"
    b"      <Name>Movies</Name>\n"
    b"      <Value>movies</Value>\n"
    b"    </NameValuePair>\n"
    b"  </ContentTypes>\n"
    b"  <RemoteClientBitrateLimit>0</RemoteClientBitrateLimit>\n"
    b"  <EnableFolderView>false</EnableFolderView>\n"
    b"</ServerConfiguration>"
)


def test_an_untouched_file_round_trips_byte_for_byte():
    assert SystemXml.parse(SYSTEM).to_bytes() == SYSTEM


def test_setting_the_limit_changes_only_its_element():
    document = SystemXml.parse(SYSTEM)
    assert document.set_value("RemoteClientBitrateLimit", 8000000) is True
    assert document.to_bytes() == SYSTEM.replace(b">0</RemoteClientBitrateLimit>", b">8000000</RemoteClientBitrateLimit>")
    assert result_values(document) == {"remote_client_bitrate_limit": 8000000}


def test_a_missing_element_reads_as_jellyfins_default_and_is_added_at_the_end():
    data = SYSTEM.replace(b"  <RemoteClientBitrateLimit>0</RemoteClientBitrateLimit>\n", b"")
    document = SystemXml.parse(data)
    assert document.value("RemoteClientBitrateLimit") == 0
    document.set_value("RemoteClientBitrateLimit", 4000000)
    assert document.to_bytes() == data.replace(
        b"</ServerConfiguration>", b"  <RemoteClientBitrateLimit>4000000</RemoteClientBitrateLimit>\n</ServerConfiguration>")


@pytest.mark.parametrize("data, message", [
    (SYSTEM.replace(b">0</Remote", b">8M</Remote"),
     "<RemoteClientBitrateLimit> holds '8M'; expected a whole number. Jellyfin cannot read it either: it would "
     "replace the whole file by its defaults (every server setting lost, the startup wizard not done)"),
    (b"<NetworkConfiguration />",
     "the root element is <NetworkConfiguration>, expected <ServerConfiguration>; this is not Jellyfin's system.xml"),
])
def test_a_file_jellyfin_could_not_read_is_refused(data, message):
    with pytest.raises(NetworkXmlError) as info:
        SystemXml.parse(data)
    assert str(info.value) == message


def test_record_and_put_back_on_the_same_machinery_as_network_xml():
    document = SystemXml.parse(SYSTEM)
    entries = {}
    changed, _ = plan_settings(document, entries, set(), {"RemoteClientBitrateLimit": 8000000}, {}, "present")
    assert changed == ["RemoteClientBitrateLimit"]
    assert entries == {"RemoteClientBitrateLimit": {"original": 0, "set": 8000000}}
    changed, done = plan_settings(document, entries, set(SystemXml.ORDER), {}, {}, "present")
    assert changed == ["RemoteClientBitrateLimit"] and entries == {}
    assert [r.result()["text"] for r in done] == ["Jellyfin setting RemoteClientBitrateLimit: back to 0"]
    assert done[0].option == "remote_client_bitrate_limit"
    assert document.to_bytes() == SYSTEM
