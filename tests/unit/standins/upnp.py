# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""FakeUPnP: a stand-in for miniupnpc.UPnP (2.2) for the _upnp and upnp_port_mapping tests.

It sends nothing: discovery, IGD selection and mappings are in memory. Errors are plain
Exceptions carrying miniupnpc's own texts, as the C extension raises them. `calls` records
every call in order, so a test can count discoveries (each real one waits discoverdelay).

Modelled behaviour, read in miniupnp/miniupnp miniupnpc/src/miniupnpcmodule.c (miniupnpc 2.2):
| behaviour                                                              | where               |
|------------------------------------------------------------------------|---------------------|
| discover() returns the number of devices that answered                 | UPnP_discover       |
| selectigd() raises Exception("No UPnP device discovered") without one  | UPnP_selectigd      |
| externalipaddress(), addportmapping(), deleteportmapping() raise a     | UPnP_externalip..., |
|   plain Exception with strupnperror(code) ("ConflictInMappingEntry")   | UPnP_addportmapping |
| getspecificportmapping() returns (client, iport, desc, enabled, lease) | UPnP_getspecific... |
|   or None when the router has no such mapping (it does not raise)      |                     |
| lanaddr is filled by selectigd() (read-only attribute)                 | UPnP_members        |
| selectigd(url) reads the description at url (no discovery needed) and  | UPnP_selectigd      |
|   raises Exception("No UPnP device discovered") when that fails        |                     |
"""

from __future__ import annotations

LAN = "192.168.1.20"
OTHER = "192.168.1.30"
WAN = "81.2.69.160"  # any global address; nothing is sent anywhere
IGD = "http://192.168.1.1:5000/ctl/IPConn"
ROOT_DESC = "http://192.168.1.1:5000/rootDesc.xml"  # the SSDP LOCATION


class FakeUPnP:
    """Behaves like miniupnpc.UPnP (2.2): plain Exceptions with miniupnpc's error texts."""

    def __init__(self, devices=1, igd=IGD, external=WAN, lanaddr=LAN, add_error=None, mappings=None,
                 read_error=None, delete_error=None, discover_error=None, external_error=None, forget_after_add=False):
        self.discoverdelay = 0
        self.multicastif = None
        self.lanaddr = ""
        self._lan = lanaddr
        self.devices = devices
        self.igd = igd
        self.external = external
        self.add_error = list(add_error) if isinstance(add_error, (list, tuple)) else add_error
        self.read_error = read_error
        self.delete_error = delete_error
        self.discover_error = discover_error
        self.external_error = external_error
        self.forget_after_add = forget_after_add
        self.mappings = dict(mappings or {})  # (port, proto) -> (host, iport, desc, enabled, lease)
        self.calls = []

    def discover(self):
        self.calls.append("discover")
        if self.discover_error:
            raise Exception(self.discover_error)
        return self.devices

    def locate(self, timeout):
        """_ssdp.find_igd's stand-in: the router's description URL when a device would answer."""
        self.calls.append("locate")
        if self.discover_error or not self.devices:
            return None
        return ROOT_DESC

    def selectigd(self, location=None):
        if location is None:
            self.calls.append("selectigd")
            if not self.igd:
                raise Exception("No UPnP device discovered")
        else:
            # UPNP_GetIGDFromUrl: the description at that URL, whatever discover() found
            self.calls.append("selectigd(url)")
            if location != ROOT_DESC or not self.igd:
                raise Exception("No UPnP device discovered")  # miniupnpc 2.2.4 says so for an unreadable URL too
        self.lanaddr = self._lan
        return self.igd

    def externalipaddress(self):
        self.calls.append("externalipaddress")
        if self.external_error:
            raise Exception(self.external_error)
        return self.external

    def getspecificportmapping(self, port, proto):
        self.calls.append(("get", port, proto))
        if self.read_error:
            raise Exception(self.read_error)
        return self.mappings.get((port, proto))

    def addportmapping(self, eport, proto, host, iport, desc, remote, lease=0):
        self.calls.append(("add", eport, proto, host, iport, desc, remote, lease))
        error = self.add_error.pop(0) if isinstance(self.add_error, list) and self.add_error else (
            None if isinstance(self.add_error, list) else self.add_error)
        if error:
            raise Exception(error)
        if not self.forget_after_add:
            self.mappings[(eport, proto)] = (host, iport, desc, True, lease)
        return True

    def deleteportmapping(self, eport, proto, remote=""):
        self.calls.append(("delete", eport, proto))
        if self.delete_error:
            raise Exception(self.delete_error)
        if (eport, proto) not in self.mappings:
            raise Exception("NoSuchEntryInArray")
        del self.mappings[(eport, proto)]
        return True

    def writes(self):
        return [c for c in self.calls if isinstance(c, tuple) and c[0] in ("add", "delete")]
