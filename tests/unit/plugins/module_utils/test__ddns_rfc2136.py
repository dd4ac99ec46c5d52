# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""RFC 2136 provider against a real Knot DNS server (Debian package knot) on loopback.

Skipped, with the reason, when knotd is not installed (apt-get install -y knot).
"""

from __future__ import annotations

import base64
import os
import shutil
import socket
import subprocess
import time

import pytest
from harness import free_port

from ansible_collections.homelab.jellyfin_remote.plugins.module_utils import _ddns

KNOTD = shutil.which("knotd") or ("/usr/sbin/knotd" if os.path.exists("/usr/sbin/knotd") else None)
SECRET = base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()
ZONE = "lab.test"

pytestmark = pytest.mark.skipif(KNOTD is None, reason="knotd is not installed (Debian: apt-get install -y knot)")


def _start_knot(tmp_path, port):
    """knotd on 127.0.0.1@port serving ZONE; (process, settings) once it answers, or None when
    it exits first because the port was taken after it was found free (another test's server)."""
    (tmp_path / ("%s.zone" % ZONE)).write_text(
        "$ORIGIN %s.\n$TTL 300\n@ SOA ns1 hostmaster 1 3600 600 86400 300\n@ NS ns1\nns1 A 127.0.0.1\n"
        "jf A 192.0.2.1\n" % ZONE
    )
    (tmp_path / "knot.conf").write_text(
        "server:\n  rundir: %(d)s\n  listen: 127.0.0.1@%(p)d\n"
        "database:\n  storage: %(d)s\n"
        "control:\n  listen: %(d)s/knot.sock\n"
        "log:\n  - target: stderr\n    any: info\n"
        "key:\n  - id: ddns-key\n    algorithm: hmac-sha256\n    secret: %(s)s\n"
        "acl:\n  - id: ddns-update\n    key: ddns-key\n    action: update\n"
        "zone:\n  - domain: %(z)s\n    storage: %(d)s\n    file: %(z)s.zone\n    acl: ddns-update\n"
        % {"d": tmp_path, "p": port, "s": SECRET, "z": ZONE}
    )
    with open(tmp_path / "knotd.log", "w") as log:
        proc = subprocess.Popen([KNOTD, "-c", str(tmp_path / "knot.conf")], stdout=log, stderr=subprocess.STDOUT)
    settings = _ddns.Settings(provider="rfc2136", hostname="jf." + ZONE, zone=ZONE, server="127.0.0.1", server_port=port,
                              tsig_key_name="ddns-key", tsig_key_secret=SECRET, timeout=2, max_retries=0)
    deadline = time.monotonic() + 10
    while True:
        try:
            if _ddns.make_provider(settings).read_current("A") == "192.0.2.1":
                return proc, settings
        except _ddns.DdnsError:
            pass
        if proc.poll() is not None and "address already in use" in (tmp_path / "knotd.log").read_text():
            return None
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail("knotd did not start: %s" % (tmp_path / "knotd.log").read_text()[-2000:])
        time.sleep(0.1)


@pytest.fixture
def knot(tmp_path):
    for _ in range(5):
        started = _start_knot(tmp_path, free_port(udp=True))
        if started:
            break
    else:
        pytest.fail("knotd found its port taken five times: %s" % (tmp_path / "knotd.log").read_text()[-2000:])
    proc, settings = started
    yield settings
    proc.terminate()
    proc.wait(10)


def _with(settings, **changes):
    values = {name: getattr(settings, name) for name in _ddns.Settings.FIELDS}
    values.update(changes)
    return _ddns.Settings(**values)


def test_signed_update_then_unchanged(knot):
    first = _ddns.run(knot, {"A": "198.51.100.7", "AAAA": "2001:db8::7"})
    assert first["changed"] is True
    assert first["previous"] == {"A": "192.0.2.1", "AAAA": None}
    assert first["answer"] == "NOERROR"
    provider = _ddns.make_provider(knot)
    assert provider.read_current("A") == "198.51.100.7"
    assert provider.read_current("AAAA") == "2001:db8::7"
    second = _ddns.run(knot, {"A": "198.51.100.7", "AAAA": "2001:db8::7"})
    assert second["changed"] is False
    assert second["requests"] == {"reads": 2, "lookups": 0, "updates": 0}


def test_unsigned_update_refused(knot):
    unsigned = _with(knot, tsig_key_name=None, tsig_key_secret=None)
    with pytest.raises(_ddns.DdnsError) as info:
        _ddns.run(unsigned, {"A": "198.51.100.8"})
    assert info.value.kind == "auth"
    assert "NOTAUTH to an unsigned update" in str(info.value) or "REFUSED to an unsigned update" in str(info.value)
    assert _ddns.make_provider(knot).read_current("A") == "192.0.2.1"


def test_wrong_secret_refused_and_not_shown(knot):
    wrong = base64.b64encode(b"another secret, 32 bytes long!!!").decode()
    with pytest.raises(_ddns.DdnsError) as info:
        _ddns.run(_with(knot, tsig_key_secret=wrong), {"A": "198.51.100.9"})
    assert info.value.kind == "auth"
    assert wrong not in str(info.value) and SECRET not in str(info.value)
    assert "check tsig_key_name, tsig_key_secret and tsig_algorithm" in str(info.value)
    assert _ddns.make_provider(knot).read_current("A") == "192.0.2.1"


def test_check_mode_writes_nothing(knot):
    result = _ddns.run(knot, {"A": "198.51.100.7"}, check_mode=True)
    assert result["changed"] is True
    assert _ddns.make_provider(knot).read_current("A") == "192.0.2.1"


def test_bad_base64_secret_is_a_config_error_without_the_value():
    settings = _ddns.Settings(provider="rfc2136", hostname="jf." + ZONE, zone=ZONE, server="127.0.0.1",
                              tsig_key_name="k", tsig_key_secret="not base64 !!")
    with pytest.raises(_ddns.DdnsError) as info:
        _ddns.make_provider(settings)
    assert info.value.kind == "config"
    assert "not base64 !!" not in str(info.value)


def test_signed_delete_of_the_rrsets_then_nothing_to_do(knot):
    _ddns.run(knot, {"AAAA": "2001:db8::7"})
    removal = _ddns.run_delete(knot)
    assert removal["changed"] is True
    assert removal["deleted"] == ["A", "AAAA"]
    assert removal["answer"] == "NOERROR"
    provider = _ddns.make_provider(knot)
    assert provider.read_current("A") is None and provider.read_current("AAAA") is None
    assert _ddns.removal_line(removal) == "DNS record jf.lab.test (A, AAAA) deleted at rfc2136"
    again = _ddns.run_delete(knot)
    assert again["changed"] is False
    assert again["requests"] == {"reads": 2, "lookups": 0, "updates": 0}


def test_delete_in_check_mode_and_unsigned_delete_refused(knot):
    assert _ddns.run_delete(knot, ["A"], check_mode=True)["changed"] is True
    unsigned = _with(knot, tsig_key_name=None, tsig_key_secret=None)
    with pytest.raises(_ddns.DdnsError) as info:
        _ddns.run_delete(unsigned, ["A"])
    assert info.value.kind == "auth"
    assert _ddns.make_provider(knot).read_current("A") == "192.0.2.1"
