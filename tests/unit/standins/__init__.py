# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The unit tests' stand-ins, in one place (tests/unit is on sys.path: `from standins.network import ...`).

- network: loopback DNS, HTTP(S) echo, TCP black hole, a test CA.
- upnp: FakeUPnP, a miniupnpc.UPnP look-alike.
- ddns: the lab's dynamic DNS stand-in (tests/lab/standins/ddns), loaded and started on loopback.
"""
