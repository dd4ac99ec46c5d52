# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ddns role's timer runner (roles/ddns/files/ddns_host.py), installed as the role
installs it (the runner and vars/main.yml's module_utils list under one directory, run with
python3 -I -B), against the loopback DDNS stand-in, with a fake `ip` for this host's addresses:
nothing changed -> no update; a new prefix -> the AAAA record follows; a provider error ->
exit 1 and a journal line; never a secret in the output."""

from __future__ import annotations

import importlib.util
import io
import json
import os
import shutil
import subprocess
import sys

import pytest
import yaml


REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
ROLE = os.path.join(REPO, "roles", "ddns")
RUNNER = os.path.join(ROLE, "files", "ddns_host.py")
UTILS = "ansible_collections/homelab/jellyfin_remote/plugins/module_utils"
HOST = "home.dyn.test"
PASSWORD = "labpass"  # the stand-in's account
OLD6, NEW6 = "2001:db8:5::10", "2001:db8:7::10"

FAKE_IP = r'''#!%(python)s
import json, os
print(json.dumps([{"ifname": "lo", "addr_info": [{"family": "inet6", "local": "::1"}]},
                  {"ifname": "eth0", "addr_info": [{"family": "inet", "local": "192.168.1.10"},
                                                   {"family": "inet6", "local": "fd00:5::10"},
                                                   {"family": "inet6", "local": os.environ["FAKE_ADDRESS"]},
                                                   {"family": "inet6", "local": "fe80::1"}]}]))
'''


@pytest.fixture
def installed(tmp_path):
    """The runner's directory as the _host_runner role lays it out for the ddns role."""
    with open(os.path.join(ROLE, "vars", "main.yml"), encoding="utf-8") as handle:
        role_vars = yaml.safe_load(handle)
    root = tmp_path / "lib"
    for name in role_vars["__ddns_timer_module_files"]:
        dest = root / UTILS / name
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(os.path.join(REPO, "plugins", "module_utils", name), dest)
    shutil.copy(RUNNER, root / "ddns_host.py")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "ip").write_text(FAKE_IP % {"python": sys.executable})
    (bin_dir / "ip").chmod(0o755)
    return root


def configure(tmp_path, standin, password=PASSWORD, record_types=("AAAA",)):
    credentials = tmp_path / "credentials.json"
    credentials.write_text(json.dumps({"username": "labuser", "password": password}))
    credentials.chmod(0o600)
    config = tmp_path / "config.json"
    config.write_text(json.dumps({
        "credentials": str(credentials),
        "record_types": list(record_types),
        "settings": {"provider": "dyndns2", "hostname": HOST, "base_url": standin.base, "allow_insecure_http": True,
                     "resolver": "127.0.0.1", "resolver_port": standin.dns_port, "timeout": 5, "max_retries": 0,
                     "zone": None},
        "ipv4": {},
        # As in a lab: the documentation prefix counts as global (allow_ranges); the unique local
        # address beside it does not.
        "ipv6": {"allow_ranges": ["2001:db8::/32"], "ignore_interfaces": []},
    }))
    return config


# As on the host, where systemd runs it: no ansible-core to import (its HTTP client falls back
# to module_utils/_stdlib_http.py).
WITHOUT_ANSIBLE = ("import runpy, sys; sys.modules['ansible'] = None; sys.argv = sys.argv[1:]; "
                   "runpy.run_path(sys.argv[0], run_name='__main__')")


def run_installed(root, config, address):
    env = dict(os.environ, PATH="%s:%s" % (root.parent / "bin", os.environ["PATH"]), FAKE_ADDRESS=address)
    return subprocess.run([sys.executable, "-I", "-B", "-c", WITHOUT_ANSIBLE, str(root / "ddns_host.py"), str(config)],
                          capture_output=True, text=True, env=env, check=False, timeout=60)


def no_secret(*texts):
    for text in texts:
        assert PASSWORD not in text


def test_unchanged_address_sends_no_update(standin, installed, tmp_path):
    standin.add_host(HOST, "dyndns2", {"AAAA": [OLD6]})
    proc = run_installed(installed, configure(tmp_path, standin), OLD6)
    assert (proc.returncode, proc.stderr) == (0, "")
    assert proc.stdout == "ddns: %s AAAA: unchanged (%s)\n" % (HOST, OLD6)
    stats = standin.stats("dyndns2")
    assert (stats["reads"], stats["updates"]) == (1, 0)
    assert standin.records(HOST)["AAAA"] == [OLD6]


def test_new_prefix_moves_the_aaaa_record(standin, installed, tmp_path):
    standin.add_host(HOST, "dyndns2", {"AAAA": [OLD6]})
    config = configure(tmp_path, standin)
    proc = run_installed(installed, config, NEW6)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("ddns: %s AAAA: %s -> %s at dyndns2, answer: good" % (HOST, OLD6, NEW6)), proc.stdout
    assert standin.records(HOST)["AAAA"] == [NEW6]
    assert standin.stats("dyndns2")["updates"] == 1
    no_secret(proc.stdout, proc.stderr)
    # The next run finds the record current and sends nothing (no nochg, which providers punish).
    standin.reset()
    proc = run_installed(installed, config, NEW6)
    assert (proc.returncode, standin.stats("dyndns2")["updates"]) == (0, 0)


def test_provider_error_fails_loudly_without_the_secret(standin, installed, tmp_path):
    standin.add_host(HOST, "dyndns2", {"AAAA": [OLD6]})
    proc = run_installed(installed, configure(tmp_path, standin, password="wrong-" + PASSWORD), NEW6)
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert proc.stderr.startswith("ddns: %s: not updated (auth): " % HOST), proc.stderr
    assert "wrong-" not in proc.stderr
    no_secret(proc.stdout, proc.stderr)
    assert standin.records(HOST)["AAAA"] == [OLD6]


def test_no_global_ipv6_leaves_the_record_and_fails(standin, installed, tmp_path):
    # Only link-local and unique local addresses (the prefix is gone): nothing is sent.
    standin.add_host(HOST, "dyndns2", {"AAAA": [OLD6]})
    proc = run_installed(installed, configure(tmp_path, standin), "fe80::2")
    assert proc.returncode == 1
    assert "no global IPv6 address" in proc.stderr
    assert standin.stats("dyndns2").get("requests", 0) == 0


def test_missing_credentials_file_names_it(standin, installed, tmp_path):
    config = configure(tmp_path, standin)
    os.unlink(tmp_path / "credentials.json")
    proc = run_installed(installed, config, NEW6)
    assert proc.returncode == 1
    assert "cannot read the credentials file %s" % (tmp_path / "credentials.json") in proc.stderr


def _load_runner():
    spec = importlib.util.spec_from_file_location("ddns_host", RUNNER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class _Race:
    def __init__(self, address):
        self.addresses = {4: address}


def test_the_a_record_comes_from_the_public_ip_race(standin, tmp_path):
    # In process: the race is replaced (no source is asked); the A record follows its answer.
    runner = _load_runner()
    standin.add_host(HOST, "dyndns2", {"A": ["192.0.2.1"]})
    config = configure(tmp_path, standin, record_types=("A",))
    seen = {}

    def race(sources, **kwargs):
        seen.update(kwargs)
        return _Race("198.51.100.7")

    out, err = io.StringIO(), io.StringIO()
    assert runner.main(["ddns_host.py", str(config)], out=out, err=err, race=race) == 0, err.getvalue()
    assert seen["ip_versions"] == (4,)
    assert standin.records(HOST)["A"] == ["198.51.100.7"]
    assert "192.0.2.1 -> 198.51.100.7" in out.getvalue()
