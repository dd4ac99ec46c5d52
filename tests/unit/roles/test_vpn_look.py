# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The read-only look the VPN roles take before they close (roles/_vpn/files/look.py).

Run as the role runs it (`python3 -c SOURCE ARGS_JSON`), with systemctl and nft replaced by
stubs on PATH that answer as the real tools do, and every sysctl file it reads inside the
test's temp directory.
"""

from __future__ import annotations

import os
import sys

import pytest

from harness import run_probe, stub_command

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
LOOK = os.path.join(REPO, "roles", "_vpn", "files", "look.py")


@pytest.fixture
def host(tmp_path):
    """Stubs: wg-quick@wg0 enabled and running, a timer known but stopped, any other unit
    unknown to systemd; the table jellyfin_remote_wireguard loaded."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    stub_command(bindir, "systemctl", """unit=$(eval echo \\${$#})
case "$1 $unit" in
  "show wg-quick@wg0.service"|"show crl.timer") echo loaded;;
  "show "*) echo not-found;;
  "is-enabled wg-quick@wg0.service") echo enabled;;
  "is-enabled crl.timer") echo disabled; exit 1;;
  "is-enabled "*) echo "Failed to get unit file state for $unit: No such file or directory" >&2; exit 1;;
  "is-active wg-quick@wg0.service") echo active;;
  "is-active "*) echo inactive; exit 3;;
esac
""")
    stub_command(bindir, "nft", '[ "$4" = jellyfin_remote_wireguard ] && exit 0; echo "Error: No such file or directory" >&2; exit 1\n')
    etc = tmp_path / "etc"
    (etc / "sysctl.d").mkdir(parents=True)
    own = etc / "sysctl.d" / "90-jellyfin-remote-wireguard.conf"
    own.write_text("net.ipv4.ip_forward=1\n")
    conf = etc / "wg0.conf"
    conf.write_text("[Interface]\nPrivateKey = NOT-TO-BE-PRINTED\n")
    args = {
        "units": ["wg-quick@wg0.service", "crl.timer", "gone.service"],
        "interface": "lo",
        "nft_table": "jellyfin_remote_wireguard",
        "paths": [str(conf), str(etc / "absent.nft"), str(own)],
        "sysctl_file": str(own),
        "sysctls": ["net.ipv4.ip_forward"],
        "sysctl_sources": [str(etc / "sysctl.d"), str(etc / "sysctl.conf")],
    }
    return {"bin": bindir, "args": args, "etc": etc, "conf": conf}


def look(host, path=None, **changes):
    return run_probe(LOOK, dict(host["args"], **changes), path if path is not None else "%s:/usr/bin:/bin" % host["bin"])


def test_units_interface_table_and_files(host):
    raw, out = look(host)
    assert out["units"] == {
        "wg-quick@wg0.service": {"known": True, "enabled": True, "active": True},
        "crl.timer": {"known": True, "enabled": False, "active": False},
        "gone.service": {"known": False, "enabled": False, "active": False},
    }
    assert out["interface"] is True  # lo: every host has it
    assert out["nft_table_loaded"] is True
    conf, nft, own = host["args"]["paths"]
    assert out["paths"] == {conf: True, nft: False, own: True}
    assert "NOT-TO-BE-PRINTED" not in raw  # paths are looked at, never read


def test_a_closed_host(host):
    """Nothing left: the second absent run finds nothing to do."""
    stub_command(host["bin"], "systemctl", 'case "$1" in show) echo not-found;; is-enabled) exit 1;; is-active) echo inactive; exit 3;; esac\n')
    _, out = look(host, interface="wg-none-here", nft_table="other", paths=[str(host["etc"] / "absent")])
    assert not any(u["active"] or u["enabled"] or u["known"] for u in out["units"].values())
    assert out["interface"] is False and out["nft_table_loaded"] is False
    assert out["paths"] == {str(host["etc"] / "absent"): False}


@pytest.mark.parametrize("interface", ["", "../lo", None])
def test_no_or_odd_interface_name_is_not_found(host, interface):
    assert look(host, interface=interface)[1]["interface"] is False


def test_without_systemctl_and_nft(host, tmp_path):
    """A minimal host: neither tool on PATH."""
    _, out = look(host, path=os.path.dirname(sys.executable))
    assert not any(u["active"] or u["enabled"] for u in out["units"].values())
    assert out["nft_table_loaded"] is False


def test_the_value_now_and_only_the_roles_own_file_asks_for_forwarding(host):
    _, out = look(host)
    with open("/proc/sys/net/ipv4/ip_forward", encoding="ascii") as handle:
        now = handle.read().strip()
    assert out["sysctl"] == {"net.ipv4.ip_forward": {"value": now, "elsewhere": False}}


@pytest.mark.parametrize("name, line, elsewhere", [
    ("90-jellyfin-remote-openvpn.conf", "net.ipv4.ip_forward = 1\n", True),
    ("99-admin.conf", "-net/ipv4/ip_forward=1\n", True),  # slashes and '-' (ignore errors) count too
    ("99-admin.conf", "net.ipv4.ip_forward = 0\n", False),
    ("99-admin.conf", "# net.ipv4.ip_forward = 1\n", False),
    ("99-admin.conf", "net.ipv4.ip_forward_update_priority = 1\n", False),
    ("README", "net.ipv4.ip_forward = 1\n", False),  # not a .conf file: sysctl skips it too
])
def test_forwarding_asked_for_by_another_file(host, name, line, elsewhere):
    """The other VPN role's file (or the admin's) still wants forwarding: absent leaves it on."""
    (host["etc"] / "sysctl.d" / name).write_text(line)
    assert look(host)[1]["sysctl"]["net.ipv4.ip_forward"]["elsewhere"] is elsewhere


def test_forwarding_in_sysctl_conf(host):
    (host["etc"] / "sysctl.conf").write_text("net.ipv4.ip_forward=1\n")
    assert look(host)[1]["sysctl"]["net.ipv4.ip_forward"]["elsewhere"] is True


def test_an_unreadable_key_reads_as_none(host):
    _, out = look(host, sysctls=["net.no.such.key"])
    assert out["sysctl"] == {"net.no.such.key": {"value": None, "elsewhere": False}}
