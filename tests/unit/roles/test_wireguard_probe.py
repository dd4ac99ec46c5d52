# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The wireguard role's read-only probe (roles/wireguard/files/probe.py).

Run as the role runs it (`python3 -c SOURCE ARGS_JSON`), with modprobe, dpkg-query,
systemctl and nft replaced by stubs on PATH that answer as the real tools do, and every
path the probe reads inside the test's temp directory.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path

import pytest

from harness import run_probe, stub_command

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
PROBE = os.path.join(REPO, "roles", "wireguard", "files", "probe.py")
KERNEL_LOADED = os.path.isdir("/sys/module/wireguard")
PRIVATE = "PrivateKey = yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk="


@pytest.fixture
def host(tmp_path):
    """Stubs: no kernel module (modprobe -n fails), wireguard-tools installed, wireguard-go
    not; the unit enabled and active; the nft table loaded."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    stub_command(bindir, "modprobe", "exit 1\n")
    # dpkg-query -W -f FORMAT PKG...: a line per known package; exit 1 when one is unknown.
    stub_command(bindir, "dpkg-query", 'shift 3\nfor p in "$@"; do case "$p" in wireguard-tools) echo "wireguard-tools installed";; '
          'nftables) echo "nftables:amd64 installed";; wireguard-go) echo "wireguard-go not-installed";; '
          '*) echo "dpkg-query: no packages found matching $p" >&2;; esac; done\n')
    stub_command(bindir, "systemctl", 'case "$1" in is-enabled) echo enabled;; is-active) echo active;; esac\n')
    stub_command(bindir, "nft", '[ "$4" = jellyfin_remote_wg ] && exit 0; echo "Error: No such file or directory" >&2; exit 1\n')
    etc = tmp_path / "etc"
    (etc / "wireguard").mkdir(parents=True)
    conf = etc / "wireguard" / "wg0.conf"
    conf.write_text(
        "[Interface]\n" + PRIVATE + "\n"
        '# jellyfin_remote peer: {"name": "phone", "address": "10.8.0.2"}\n'
        "# jellyfin_remote peer: not json\n"
        '# jellyfin_remote peer: {"address": "10.8.0.9"}\n'
        '# jellyfin_remote peer: ["name", "list"]\n'
        "[Peer]\n# jellyfin_remote peer: {\"name\": \"laptop\"}\n  # jellyfin_remote peer: {\"name\": \"indented: not a marker line\"}\n"
    )
    conf.chmod(0o600)
    sysctl = etc / "sysctl.conf"
    sysctl.write_text("net.ipv4.ip_forward = 1\n")
    args = {
        "packages": ["wireguard-tools", "nftables"],
        "userspace_packages": ["wireguard-go"],
        "paths": [str(etc / "wireguard"), str(conf), str(etc / "absent.nft")],
        "files": [str(conf), str(etc / "absent.nft")],
        "unit": "wg-quick@wg0.service",
        "sysctl_file": str(sysctl),
        "sysctls": ["net.ipv4.ip_forward", "net.ipv6.conf.all.forwarding"],
        "conf": str(conf),
        "nft_table": "jellyfin_remote_wg",
        "clients_dir": str(etc / "wireguard" / "clients"),
    }
    return {"bin": bindir, "args": args, "conf": conf}


def probe(host, path=None, **changes):
    return run_probe(PROBE, dict(host["args"], **changes), path if path is not None else "%s:/usr/bin:/bin" % host["bin"])


def test_reports_packages_files_unit_table_and_forwarding(host):
    raw, out = probe(host)
    if KERNEL_LOADED:
        assert out["kernel_module"] is True and out["packages"] == ["wireguard-tools", "nftables"]
    else:
        assert out["kernel_module"] is False
        assert out["packages"] == ["wireguard-tools", "nftables", "wireguard-go"]
        assert out["missing_packages"] == ["wireguard-go"]
    conf = str(host["conf"])
    assert out["paths"][conf].startswith("600 ")
    assert out["paths"][host["args"]["paths"][2]] == "absent"
    assert out["sha1"] == {conf: hashlib.sha1(host["conf"].read_bytes()).hexdigest(), host["args"]["files"][1]: None}
    assert out["unit"] == {"enabled": True, "active": True}
    assert out["nft_table_loaded"] is True
    assert out["sysctl"]["net.ipv4.ip_forward"]["in_file"] is True
    assert out["sysctl"]["net.ipv6.conf.all.forwarding"]["in_file"] is False
    assert set(out["sysctl"]["net.ipv4.ip_forward"]) == {"value", "in_file"}


def test_peers_only_from_marker_lines_and_no_key_read_out(host):
    raw, out = probe(host)
    assert out["peers"] == [{"name": "phone", "address": "10.8.0.2"}, {"name": "laptop"}]
    assert "PrivateKey" not in raw and PRIVATE.split(" = ")[1] not in raw


def test_other_table_and_stopped_unit(host):
    stub_command(host["bin"], "systemctl", 'case "$1" in is-enabled) echo disabled;; is-active) echo inactive; exit 3;; esac\n')
    _, out = probe(host, nft_table="other_table")
    assert out["unit"] == {"enabled": False, "active": False}
    assert out["nft_table_loaded"] is False


def test_nothing_there_yet(host, tmp_path):
    missing = str(tmp_path / "nowhere" / "wg0.conf")
    _, out = probe(host, paths=[missing], files=[missing], conf=missing, sysctl_file=missing)
    assert out["paths"] == {missing: "absent"} and out["sha1"] == {missing: None}
    assert out["peers"] == []
    assert not any(v["in_file"] for v in out["sysctl"].values())


def test_without_systemctl_nft_and_modprobe(host, tmp_path):
    """A minimal container: no systemctl, nft or modprobe on PATH (dpkg-query only)."""
    only = tmp_path / "only"
    only.mkdir()
    os.symlink(host["bin"] / "dpkg-query", only / "dpkg-query")
    _, out = probe(host, path="%s:%s" % (only, os.path.dirname(sys.executable)))
    assert out["unit"] == {"enabled": False, "active": False}
    assert out["nft_table_loaded"] is False
    assert out["kernel_module"] is KERNEL_LOADED


def test_client_file_names_are_listed_not_read(host):
    clients = Path(host["args"]["clients_dir"])
    clients.mkdir(parents=True)
    (clients / "phone.key").write_text("PRIVATE-KEY-NOT-TO-BE-PRINTED\n")
    (clients / "old.psk").write_text("PSK-NOT-TO-BE-PRINTED\n")
    text, out = probe(host)
    assert out["client_files"] == ["old.psk", "phone.key"]
    assert "NOT-TO-BE-PRINTED" not in text
    assert probe(host, clients_dir=str(clients / "absent"))[1]["client_files"] == []


def test_host_record_read_as_host_record_info_reads_it(host, tmp_path):
    """The record's sections; {} when there is none; null (host_record_info then reads it and
    fails naming the problem) when it is not a record of the format this collection writes."""
    record = tmp_path / "state.json"
    _, out = probe(host)
    assert "record" not in out  # not asked for
    _, out = probe(host, record=str(record))
    assert out["record"] == {}
    sections = {"wireguard": {"interface": "wg0", "peers": ["phone"]}, "site": {"method": "wireguard"}}
    record.write_text(json.dumps({"format": 1, "sections": sections}))
    _, out = probe(host, record=str(record))
    assert out["record"] == sections
    for text in ("{not json", json.dumps({"format": 2, "sections": sections}), json.dumps({"format": 1}),
                 json.dumps([1])):
        record.write_text(text)
        _, out = probe(host, record=str(record))
        assert out["record"] is None, text
    record.write_text(json.dumps({"format": 1, "sections": sections}))
    record.chmod(0o000)
    if os.geteuid() != 0:
        _, out = probe(host, record=str(record))
        assert out["record"] is None
