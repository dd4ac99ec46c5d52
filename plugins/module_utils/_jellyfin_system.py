# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Jellyfin's system.xml (ServerConfiguration): the settings this collection manages in it.

Plain Python, no AnsibleModule. The module jellyfin_system drives it. Parsing, the byte-exact
round trip, changing a value and the record of what was changed are _jellyfin_network's
JellyfinXml machinery (the same XmlSerializer output as network.xml); this file only says what
system.xml is.

What Jellyfin does (read in jellyfin/jellyfin 10.11, as the lab's stand-in Jellyfin models it):
- MediaBrowser.Model/Configuration/ServerConfiguration.cs: RemoteClientBitrateLimit, an Int32,
  bits per second per stream for clients outside LocalNetworkSubnets, 0 = no limit (the
  default). A user's own limit (UserPolicy, in the database) wins when it is above 0.
- Emby.Server.Implementations/AppBase/ConfigurationHelper.cs: a system.xml that does not
  deserialize is replaced by the defaults and written back: every server setting is lost and
  the startup wizard counts as not done. The file holds every member of ServerConfiguration;
  a missing one is never created here (Jellyfin writes it at its first start).
"""

from __future__ import annotations

from ansible_collections.homelab.jellyfin_remote.plugins.module_utils._jellyfin_network import JellyfinXml, Setting


class SystemXml(JellyfinXml):
    """A parsed system.xml; only the settings below are read or changed, every other element is kept."""

    FILE = "system.xml"
    ROOT = "ServerConfiguration"
    SETTINGS = (Setting("RemoteClientBitrateLimit", "int", 0),)
    OPTIONS = {"RemoteClientBitrateLimit": "remote_client_bitrate_limit"}
    RECORD_SECTION = "jellyfin_system"
    DISCARDED = (
        ". Jellyfin cannot read it either: it would replace the whole file by its defaults (every server setting "
        "lost, the startup wizard not done)"
    )


OPTION_ELEMENTS = {option: name for name, option in SystemXml.OPTIONS.items()}


def result_values(document):
    """The managed settings as the module returns them (snake_case)."""
    return {option: document.value(name) for name, option in SystemXml.OPTIONS.items()}
