#!/usr/bin/python3
# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Renew the UPnP port mappings of the port_forward role (run by a systemd timer).

Usage: upnp_renew.py [CONFIG]   (default /etc/jellyfin-remote/upnp-mappings.json)

CONFIG: {"discovery_delay_ms": 2000, "multicast_interface": "",
         "mappings": [{"external_port", "protocol", "internal_client", "internal_port",
                       "description", "lease_duration"}]}
Each mapping is added again, which restarts its lease (routers also recreate mappings lost
in a reboot this way). Needs only python3 and python3-miniupnpc. Exit status 1 when a
mapping could not be renewed; the reason goes to the journal.
"""

import json
import sys

import miniupnpc

DEFAULT_CONFIG = "/etc/jellyfin-remote/upnp-mappings.json"


def main(argv):
    path = argv[1] if len(argv) > 1 else DEFAULT_CONFIG
    with open(path, encoding="utf-8") as handle:
        config = json.load(handle)
    # miniupnpc takes the multicast interface only when the object is made.
    if config.get("multicast_interface"):
        client = miniupnpc.UPnP(multicastif=config["multicast_interface"])
    else:
        client = miniupnpc.UPnP()
    client.discoverdelay = int(config.get("discovery_delay_ms", 2000))
    try:
        if not client.discover():
            raise RuntimeError("no UPnP device answered")
        client.selectigd()
    except Exception as exc:  # miniupnpc raises plain Exception
        print("upnp-renew: no UPnP router found (%s); the mappings expire with their lease" % exc)
        return 1
    failed = 0
    for m in config.get("mappings", []):
        label = "%s %d -> %s:%d" % (m["protocol"], m["external_port"], m["internal_client"], m["internal_port"])
        try:
            client.addportmapping(m["external_port"], m["protocol"], m["internal_client"], m["internal_port"],
                                  m["description"], "", int(m["lease_duration"]))
            print("upnp-renew: renewed %s for %ss" % (label, m["lease_duration"]))
        except Exception as exc:
            failed += 1
            hint = " (port forwarding is impossible here: CGNAT or double NAT)" if "Action Failed" in str(exc) else ""
            print("upnp-renew: the router refused %s: %s%s" % (label, exc, hint))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
