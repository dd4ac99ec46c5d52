# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""host_probe, the roles' read-only look at the host (CONTRIBUTING.md, "Read-only probes").

Run as a task runs it, with dpkg-query, systemctl and nft replaced by stubs first on PATH that
answer as the real tools do, and every path inside the test's temp directory. Each test
changes one thing and checks the probe sees it: a role skips a task exactly when the probe
says nothing differs.
"""

from __future__ import annotations

import hashlib
import json
import os
import pwd

import pytest
from harness import run_module

from ansible_collections.homelab.jellyfin_remote.plugins.module_utils import _host_probe
from ansible_collections.homelab.jellyfin_remote.plugins.modules import host_probe

ME = pwd.getpwuid(os.getuid()).pw_name


def stub(bindir, name, body):
    path = bindir / name
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)


@pytest.fixture
def host(tmp_path, monkeypatch):
    """Stubs: python3-miniupnpc installed, python3-dnspython not; fw.service enabled and
    active, renew.timer enabled and inactive; only the table inet jellyfin_remote_port_forward
    loaded."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    # dpkg-query -W -f FORMAT PKG...: a line per known package; an unknown one on stderr.
    stub(bindir, "dpkg-query", 'shift 3\nfor p in "$@"; do case "$p" in python3-miniupnpc) echo "python3-miniupnpc:amd64 installed";; '
          'python3-dnspython) echo "python3-dnspython not-installed";; '
          '*) echo "dpkg-query: no packages found matching $p" >&2;; esac; done\n')
    stub(bindir, "systemctl", 'case "$1 $2" in "is-enabled "*) echo enabled;; "is-active fw.service") echo active;; '
          '"is-active "*) echo inactive; exit 3;; esac\n')
    stub(bindir, "nft", '[ "$3 $4" = "inet jellyfin_remote_port_forward" ] && exit 0; '
          'echo "Error: No such file or directory" >&2; exit 1\n')
    monkeypatch.setenv("PATH", "%s:%s" % (bindir, os.environ["PATH"]))
    etc = tmp_path / "etc"
    etc.mkdir()
    nft = etc / "port-forward.nft"
    nft.write_text("table inet jellyfin_remote_port_forward {}\n")
    nft.chmod(0o644)
    config = etc / "upnp-mappings.json"
    config.write_text(json.dumps({"mappings": [{"external_port": 8096, "protocol": "TCP"}]}))
    args = {
        "packages": ["python3-miniupnpc", "python3-dnspython"],
        "paths": [str(etc), str(nft), str(etc / "absent.service")],
        "files": [str(nft), str(etc / "absent.service")],
        "units": ["fw.service", "renew.timer"],
        "nft_tables": ["inet jellyfin_remote_port_forward", "inet other"],
        "users": [ME, "no-such-user-jfr"],
        "json_files": [str(config), str(etc / "absent.json")],
    }
    return {"bin": bindir, "args": args, "nft": nft, "config": config, "etc": etc}


def probe(host, check=False, **changes):
    kind, result, _ = run_module(host_probe.main, dict(host["args"], **changes), check=check)
    assert kind == "exit", result
    assert result["changed"] is False
    return result


def test_reports_everything_a_role_decides_on(host):
    out = probe(host)
    nft, absent = str(host["nft"]), host["args"]["files"][1]
    assert out["missing_packages"] == ["python3-dnspython"]
    assert out["paths"][nft] == "644 %s %s" % (ME, out["paths"][nft].split()[2])
    assert out["paths"][str(host["etc"])] == "%o %s %s" % (host["etc"].stat().st_mode & 0o7777, ME, out["paths"][nft].split()[2])
    assert out["paths"][absent] == "absent"
    assert out["sha1"] == {nft: hashlib.sha1(host["nft"].read_bytes()).hexdigest(), absent: None}
    assert out["units"] == {"fw.service": {"enabled": True, "active": True},
                            "renew.timer": {"enabled": True, "active": False}}
    assert out["nft_tables"] == {"inet jellyfin_remote_port_forward": True, "inet other": False}
    assert out["users"] == {ME: True, "no-such-user-jfr": False}
    assert out["json"][str(host["config"])]["mappings"][0]["external_port"] == 8096
    assert out["json"][host["args"]["json_files"][1]] is None


def test_check_mode_answers_the_same(host):
    assert probe(host, check=True) == probe(host)


def test_a_changed_file_and_mode_show(host):
    before = probe(host)
    host["nft"].write_text("table inet jellyfin_remote_port_forward { }\n")
    host["nft"].chmod(0o600)
    after = probe(host)
    nft = str(host["nft"])
    assert after["sha1"][nft] != before["sha1"][nft]
    assert after["paths"][nft].startswith("600 ")


def test_a_stopped_unit_shows(host):
    stub(host["bin"], "systemctl", 'case "$1" in is-enabled) echo disabled; exit 1;; *) echo inactive; exit 3;; esac\n')
    assert probe(host)["units"]["fw.service"] == {"enabled": False, "active": False}


def test_a_link_is_described_not_followed(host):
    link = host["etc"] / "link"
    link.symlink_to(host["nft"])
    out = probe(host, paths=[str(link)], files=[])
    assert out["paths"][str(link)].startswith("777 ")


@pytest.mark.parametrize("content", ["not json", "[1, 2]", '"text"'])
def test_a_json_file_that_is_no_object_counts_as_none(host, content):
    host["config"].write_text(content)
    assert probe(host)["json"][str(host["config"])] is None


def test_nothing_asked_nothing_run(host):
    for tool in ("dpkg-query", "systemctl", "nft"):
        stub(host["bin"], tool, "echo called >> %s/called; exit 0\n" % host["bin"])
    out = probe(host, packages=[], units=[], nft_tables=[], paths=[], files=[], users=[], json_files=[])
    assert out["missing_packages"] == [] and out["units"] == {} and out["nft_tables"] == {}
    assert not (host["bin"] / "called").exists()


@pytest.mark.parametrize("table", ["jellyfin_remote_port_forward", "inet", "nope table", "inet two words", "inet "])
def test_a_table_without_its_family_is_refused_by_name(host, table):
    kind, result, _ = run_module(host_probe.main, dict(host["args"], nft_tables=[table]))
    assert kind == "fail" and result["msg"].startswith("nft_tables: ") and "<family> <name>" in result["msg"]


def test_without_systemctl_nft_and_dpkg():
    """A minimal container: none of the tools there; everything counts as missing or off."""
    def run(argv):
        return "", 127

    out = _host_probe.probe(run, packages=["a", "b"], units=["fw.service"], nft_tables=["inet t"])
    assert out["missing_packages"] == ["a", "b"]
    assert out["units"] == {"fw.service": {"enabled": False, "active": False}}
    assert out["nft_tables"] == {"inet t": False}


def test_a_secret_file_gives_its_hash_only(host):
    """ddclient.conf and a TSIG key file hold secrets: the probe answers with their hash."""
    secret = "Probe-test-pw-NOT-TO-BE-PRINTED"
    conf = host["etc"] / "ddclient.conf"
    conf.write_text("password='%s'\n" % secret)
    conf.chmod(0o600)
    out = probe(host, paths=[str(conf)], files=[str(conf)])
    assert out["paths"][str(conf)].startswith("600 ")
    assert out["sha1"][str(conf)] == hashlib.sha1(conf.read_bytes()).hexdigest()
    assert secret not in json.dumps(out)


@pytest.mark.parametrize("option", ["packages", "paths", "files", "units", "users", "json_files"])
def test_a_nul_character_is_refused_by_name(host, option):
    kind, result, _ = run_module(host_probe.main, dict(host["args"], **{option: ["a\x00b"]}))
    assert kind == "fail" and result["msg"].startswith(option + ": ") and "NUL" in result["msg"]


@pytest.mark.parametrize("text, expected", [
    ('PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_CODENAME=bookworm\nID=debian\n',
     {"id": "debian", "version_codename": "bookworm"}),
    ('NAME="Ubuntu"\nID=ubuntu\nID_LIKE=debian\nVERSION_CODENAME="noble"\n', {"id": "ubuntu", "version_codename": "noble"}),
    ('ID=debian\nPRETTY_NAME="Debian GNU/Linux trixie/sid"\n', {"id": "debian", "version_codename": ""}),
    ("", {"id": "", "version_codename": ""}),
])
def test_os_release_names_the_distribution_as_the_facts_do(tmp_path, text, expected):
    path = tmp_path / "os-release"
    path.write_text(text)
    assert _host_probe.os_release(str(path)) == expected
    assert _host_probe.os_release(str(tmp_path / "absent")) == {"id": "", "version_codename": ""}


def test_the_module_reports_this_hosts_os_release(host):
    assert probe(host)["os_release"] == _host_probe.os_release()


# -- sysctls: the value now and whether the role's sysctl file sets it -------------------------

def _proc(tmp_path, values):
    proc = tmp_path / "proc-sys"
    for name, value in values.items():
        path = proc / name.replace(".", "/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(value + "\n")
    return str(proc)


@pytest.mark.parametrize("file_text, now, expected", [
    ("net.ipv4.ip_forward=1\n", "1", {"value": "1", "in_file": True}),
    ("# by the role\nnet.ipv4.ip_forward = 1\n", "1", {"value": "1", "in_file": True}),
    ("net.ipv4.ip_forward=1\n", "0", {"value": "0", "in_file": False}),  # set in the file, not in the kernel
    ("", "1", {"value": "1", "in_file": False}),  # on in the kernel, not in the file
    ("net.ipv4.ip_forward=1\nnet.ipv4.ip_forward=0\n", "1", {"value": "1", "in_file": False}),  # the last line wins
    ("#net.ipv4.ip_forward=1\n", "1", {"value": "1", "in_file": False}),
    (None, "1", {"value": "1", "in_file": False}),  # no file yet
])
def test_a_sysctl_and_the_role_s_file_are_read_as_the_sysctl_module_reads_them(tmp_path, file_text, now, expected):
    sysctl_file = tmp_path / "90-role.conf"
    if file_text is not None:
        sysctl_file.write_text(file_text)
    proc = _proc(tmp_path, {"net.ipv4.ip_forward": now})
    assert _host_probe.sysctl_values(["net.ipv4.ip_forward"], str(sysctl_file), proc) == {"net.ipv4.ip_forward": expected}


def test_a_sysctl_the_kernel_does_not_have_is_none(tmp_path):
    proc = _proc(tmp_path, {})
    assert _host_probe.sysctl_values(["net.ipv6.conf.all.forwarding"], None, proc) == {
        "net.ipv6.conf.all.forwarding": {"value": None, "in_file": False}}


def test_the_module_reads_the_running_kernel_s_sysctls(host, tmp_path):
    sysctl_file = tmp_path / "90-role.conf"
    sysctl_file.write_text("kernel.ostype = Linux\n")
    out = probe(host, sysctls=["kernel.ostype", "kernel.no_such_value_jfr"], sysctl_file=str(sysctl_file))
    assert out["sysctl"] == {"kernel.ostype": {"value": "Linux", "in_file": True},
                             "kernel.no_such_value_jfr": {"value": None, "in_file": False}}
    assert probe(host)["sysctl"] == {}


@pytest.mark.parametrize("name", ["ip_forward", "net/ipv4/ip_forward", "net.ipv4..ip_forward", "../../etc.passwd"])
def test_a_sysctl_name_that_is_not_one_is_refused(host, name):
    kind, result, _ = run_module(host_probe.main, dict(host["args"], sysctls=[name]))
    assert kind == "fail" and result["msg"].startswith("sysctls: "), result
