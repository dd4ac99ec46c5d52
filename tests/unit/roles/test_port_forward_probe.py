# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The port_forward role's read-only probe (roles/port_forward/files/probe.py).

Run as the role runs it (`python3 -c SOURCE ARGS_JSON`), with dpkg-query, systemctl and nft
replaced by stubs on PATH that answer as the real tools do, and every path the probe reads
inside the test's temp directory. Each test changes one thing and checks the probe sees it:
the role skips a task exactly when the probe says nothing differs.
"""

from __future__ import annotations

import hashlib
import json
import os
import pwd
import sys

import pytest
import yaml

import probes
from probes import stub

PROBE = probes.probe_path("port_forward")
ME = pwd.getpwuid(os.getuid()).pw_name


@pytest.fixture
def host(tmp_path):
    """Stubs: python3-miniupnpc installed, python3-dnspython not; the firewall unit enabled and
    active, the timer enabled and inactive; the role's nft table loaded."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    # dpkg-query -W -f FORMAT PKG...: a line per known package; an unknown one on stderr.
    stub(bindir, "dpkg-query", 'shift 3\nfor p in "$@"; do case "$p" in python3-miniupnpc) echo "python3-miniupnpc:amd64 installed";; '
          'python3-dnspython) echo "python3-dnspython not-installed";; '
          '*) echo "dpkg-query: no packages found matching $p" >&2;; esac; done\n')
    stub(bindir, "systemctl", 'case "$1 $2" in "is-enabled "*) echo enabled;; "is-active fw.service") echo active;; '
          '"is-active "*) echo inactive; exit 3;; esac\n')
    stub(bindir, "nft", '[ "$4" = jellyfin_remote_port_forward ] && exit 0; echo "Error: No such file or directory" >&2; exit 1\n')
    etc = tmp_path / "etc"
    etc.mkdir()
    nft = etc / "port-forward.nft"
    nft.write_text("table inet jellyfin_remote_port_forward {}\n")
    nft.chmod(0o644)
    config = etc / "upnp-mappings.json"
    config.write_text(json.dumps({"discovery_delay_ms": 2000, "mappings": [
        {"external_port": 8096, "protocol": "TCP", "internal_client": "192.168.1.20", "internal_port": 8096}]}))
    args = {
        "packages": ["python3-miniupnpc", "python3-dnspython"],
        "paths": [str(etc), str(nft), str(etc / "absent.service")],
        "files": [str(nft), str(etc / "absent.service")],
        "units": ["fw.service", "renew.timer"],
        "nft_table": "jellyfin_remote_port_forward",
        "user": ME,
        "renew_config": str(config),
    }
    return {"bin": bindir, "args": args, "nft": nft, "config": config}


def probe(host, path=None, **changes):
    return probes.run(PROBE, dict(host["args"], **changes), host["bin"], path)[1]


def test_reports_everything_the_role_decides_on(host):
    out = probe(host)
    nft = str(host["nft"])
    assert out["missing_packages"] == ["python3-dnspython"]
    assert out["paths"][nft] == "644 %s %s" % (ME, out["paths"][nft].split()[2])
    assert out["paths"][host["args"]["paths"][2]] == "absent"
    assert out["sha1"] == {nft: hashlib.sha1(host["nft"].read_bytes()).hexdigest(), host["args"]["files"][1]: None}
    assert out["units"] == {"fw.service": {"enabled": True, "active": True}, "renew.timer": {"enabled": True, "active": False}}
    assert out["nft_table_loaded"] is True
    assert out["user"] is True
    assert out["renew_config"]["mappings"][0]["external_port"] == 8096


def test_a_changed_file_and_mode_show(host):
    before = probe(host)
    host["nft"].write_text("table inet jellyfin_remote_port_forward { }\n")
    host["nft"].chmod(0o600)
    after = probe(host)
    nft = str(host["nft"])
    assert after["sha1"][nft] != before["sha1"][nft]
    assert after["paths"][nft].startswith("600 ")


def test_nothing_there_yet(host, tmp_path):
    missing = str(tmp_path / "nowhere" / "x")
    out = probe(host, paths=[missing], files=[missing], renew_config=missing, user="no-such-user-jfr",
                nft_table="other_table")
    assert out["paths"] == {missing: "absent"} and out["sha1"] == {missing: None}
    assert out["renew_config"] is None and out["user"] is False and out["nft_table_loaded"] is False


@pytest.mark.parametrize("content", ["not json", "[1, 2]", '{"mappings": "8096"}'])
def test_unreadable_renewal_config_counts_as_none(host, content):
    host["config"].write_text(content)
    assert probe(host)["renew_config"] is None


def test_without_systemctl_nft_and_dpkg(host, tmp_path):
    """A minimal container: none of the tools on PATH; everything counts as missing or off."""
    out = probe(host, path=os.path.dirname(sys.executable))
    assert out["missing_packages"] == ["python3-miniupnpc", "python3-dnspython"]
    assert out["units"]["fw.service"] == {"enabled": False, "active": False}
    assert out["nft_table_loaded"] is False


def test_reverse_proxy_arguments_only(host):
    """The reverse_proxy role runs this probe with packages, paths, files and units only (its
    tasks/main.yml): it answers those and asks nothing of nft, the users or a renewal config."""
    stub(host["bin"], "nft", "echo called >> %s/nft-called; exit 0\n" % host["bin"])
    args = {k: host["args"][k] for k in ("packages", "paths", "files", "units")}
    out = probes.run(PROBE, args, host["bin"])[1]
    assert sorted(out) == ["missing_packages", "paths", "sha1", "units"]
    assert out["units"]["fw.service"] == {"enabled": True, "active": True}
    assert not (host["bin"] / "nft-called").exists()


def test_reverse_proxy_role_passes_only_the_generic_arguments():
    """What the reverse_proxy role hands the borrowed probe stays within what it answers."""
    with open(os.path.join(probes.REPO, "roles", "reverse_proxy", "vars", "main.yml"), encoding="utf-8") as handle:
        args = yaml.safe_load(handle)["__reverse_proxy_probe_args"]
    assert sorted(args) == ["files", "packages", "paths", "units"]
    with open(os.path.join(probes.REPO, "roles", "reverse_proxy", "tasks", "main.yml"), encoding="utf-8") as handle:
        assert "/../port_forward/files/probe.py" in handle.read()
