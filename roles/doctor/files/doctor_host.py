# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The doctor's checks on the host itself, without Ansible: what jellyfin-remote-doctor.timer
runs (the doctor role's tasks_from: timer installs it).

Usage: python3 doctor_host.py CONFIG_JSON

CONFIG_JSON (written by the role, no secret): {"config_path": network.xml, "textfile": the
Prometheus textfile to write, or "", "record_path": the host record}. Beside this file: the
role's probe.py and the collection's module_utils the report needs (under ansible_collections/,
as in the collection), so the findings are the very ones `ansible-playbook ... doctor` gives.

What it does not do, and why: the DDNS record is not asked of the provider (that needs the
provider's credentials, which stay on the controller; ddclient's unit is still checked), and
there is no observer outside the home. Everything else is the same look, read-only.
Prints the table (the journal keeps it), writes the textfile atomically (0644, for
node_exporter) and exits 0, 1 when a check is WARN or 2 when one is FAIL.
"""

from __future__ import annotations

import datetime
import json
import os
import sys
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import probe  # noqa: E402 - the role's probe.py, installed beside this file
from ansible_collections.homelab.jellyfin_remote.plugins.module_utils import (  # noqa: E402
    _doctor,
    _host_record,
    _jellyfin_network,
)
from ansible_collections.homelab.jellyfin_remote.plugins.module_utils._atomic_file import write_atomic  # noqa: E402


def fetch(url):
    """(status, body) of a GET with a short timeout; (None, why) when nothing answered."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - Jellyfin on this host
            return response.status, response.read(65536).decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(4096).decode("utf-8", "replace")
    except (urllib.error.URLError, OSError, ValueError) as exc:
        return None, str(getattr(exc, "reason", exc))


def jellyfin(config_path):
    """What the role's jellyfin_network read gives: settings from network.xml (read only), then
    Jellyfin asked at the URL they give."""
    settings = {}
    try:
        settings = _jellyfin_network.result_values(_jellyfin_network.read_network_xml(config_path, None).document)
    except (_jellyfin_network.NetworkFileError, OSError, ValueError):
        settings = {}  # unreadable: the role's read gives {} too, and no settings finding follows
    try:
        url = _jellyfin_network.local_url(settings)
    except ValueError:
        url = "http://127.0.0.1:8096"
    status, body = fetch(url + "/System/Info/Public")
    try:
        info = json.loads(body) if status == 200 else {}
    except ValueError:
        info = {}
    info = info if isinstance(info, dict) else {}
    _, health = fetch(url + "/health")
    return {"answered": bool(info), "url": url, "info": info, "health": health if info else "",
            "settings": settings, "path": config_path}


def main(argv):
    with open(argv[1], encoding="utf-8") as handle:
        config = json.load(handle)
    record = _host_record.read(config.get("record_path") or _host_record.DEFAULT_PATH)
    facts = {"record": record, "probe": probe.look_at(_doctor.look(record)),
             "jellyfin": jellyfin(config.get("config_path") or "/etc/jellyfin/network.xml"),
             "now": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}
    result = _doctor.report(facts, "never")
    method = (record.get("site") or {}).get("method") or "nothing set up"
    print("Remote access (%s): %s (%d OK, %d WARN, %d FAIL)" % (
        method, result["status"], result["counts"]["OK"], result["counts"]["WARN"], result["counts"]["FAIL"]))
    for line in result["table"]:
        print(line)
    if config.get("textfile"):
        write_atomic(config["textfile"], result["textfile"].encode("utf-8"), mode=0o644)
    return _doctor.SEVERITY[result["status"]]


if __name__ == "__main__":
    sys.exit(main(sys.argv))
