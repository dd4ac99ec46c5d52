# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""tests/gates/leak_scan.py finds planted secrets in their encoded forms, and nothing else."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import sys
import urllib.parse

import pytest

from .conftest import GATES

sys.path.insert(0, GATES)
try:
    import leak_scan
finally:
    sys.path.pop(0)

# A WireGuard key pair (made for this test only) and the fingerprint of the public key.
PRIVATE = "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk="
PUBLIC = "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg="
FINGERPRINT = "SHA256:" + base64.b64encode(hashlib.sha256(base64.b64decode(PUBLIC)).digest()).decode()
PASSWORD = "c0rrect horse/battery+staple"


def _scan(tmp_path, log_text, *secrets, capsys=None):
    log = tmp_path / "run.log"
    log.write_text(log_text)
    secrets_file = tmp_path / "secrets.json"
    secrets_file.write_text(json.dumps({"wg": PRIVATE, "ddns": PASSWORD} if not secrets else dict(enumerate(map(str, secrets)))))
    code = leak_scan.main([str(log), "--secrets-file", str(secrets_file)])
    return code


@pytest.mark.parametrize(
    "leak",
    [
        PRIVATE,
        "PrivateKey = %s" % PRIVATE,
        base64.b64encode(("[Interface]\nPrivateKey = %s\n" % PRIVATE).encode()).decode(),
        base64.urlsafe_b64encode(("xx" + PASSWORD).encode()).decode(),
        "GET /update?password=%s HTTP/1.1" % urllib.parse.quote(PASSWORD, safe=""),
        "body: user=a&password=%s" % urllib.parse.quote_plus(PASSWORD),
        json.dumps({"msg": PASSWORD}),
        base64.b64decode(PRIVATE).hex(),
    ],
)
def test_planted_secret_is_found(tmp_path, capsys, leak):
    code = _scan(tmp_path, "line before\n%s\nline after\n" % leak)
    out = capsys.readouterr().out
    assert code == 1
    assert "LEAK" in out
    assert PRIVATE not in out and PASSWORD not in out and urllib.parse.quote(PASSWORD) not in out
    assert leak_scan.fingerprint(PRIVATE) in out or leak_scan.fingerprint(PASSWORD) in out


def test_public_key_and_fingerprint_are_not_hits(tmp_path, capsys):
    log = "changed: [server] => {\"public_key\": \"%s\", \"fingerprint\": \"%s\", \"private_key\": \"VALUE_SPECIFIED_IN_NO_LOG_PARAMETER\"}\n" % (PUBLIC, FINGERPRINT)
    code = _scan(tmp_path, log * 50)
    assert code == 0, capsys.readouterr().out
    assert "2 secrets, 1 logs, 0 leaked" in capsys.readouterr().out


def test_counts_per_secret_and_form(tmp_path, capsys):
    code = _scan(tmp_path, "%s\n%s\n%s\n" % (PRIVATE, PRIVATE, urllib.parse.quote(PASSWORD, safe="")))
    out = capsys.readouterr().out
    assert code == 1
    assert "wg (sha256 %s): 2 hits" % leak_scan.fingerprint(PRIVATE) in out
    assert "ddns (sha256 %s): 1 hits" % leak_scan.fingerprint(PASSWORD) in out and "url-encoded 1" in out


def test_short_secrets_are_refused_not_scanned(tmp_path, capsys):
    code = _scan(tmp_path, "abc abc abc", "abc", PASSWORD)
    captured = capsys.readouterr()
    assert code == 0 and "shorter than" in captured.err and "abc" not in captured.err


def test_collects_from_a_container_listing(monkeypatch):
    files = {
        "/etc/wireguard/server.key": PRIVATE + "\n",
        "/etc/wireguard/wg0.conf": "[Interface]\nPrivateKey = %s\n[Peer]\nPublicKey = %s\nPresharedKey = %s\n" % (PRIVATE, PUBLIC, "p" * 44),
        "/etc/ddclient.conf": "protocol=dyndns2\nlogin=me\npassword='%s'\n" % "s3cret-pass",
    }

    class Done:
        def __init__(self, out, code=0):
            self.stdout, self.stderr, self.returncode = out, b"", code

    def fake_podman(container, *command):
        assert container == "lab-server"
        if command[0] == "sh":
            return Done("".join(p + "\n" for p in files).encode())
        return Done(files[command[1]].encode())

    monkeypatch.setattr(leak_scan, "_podman", fake_podman)
    secrets = leak_scan.collect_from_container("lab-server")
    assert sorted(secrets.values()) == sorted([PRIVATE, PRIVATE, "p" * 44, "s3cret-pass"])
    assert PUBLIC not in secrets.values()


def test_save_secrets_file_is_private(tmp_path, monkeypatch):
    monkeypatch.setattr(leak_scan, "collect_from_container", lambda c: {"/etc/wireguard/server.key": PRIVATE})
    out = tmp_path / "s.json"
    assert leak_scan.main(["--container", "lab", "--save-secrets", str(out)]) == 0
    assert os.stat(out).st_mode & 0o777 == 0o600
    assert json.loads(out.read_text()) == {"lab:/etc/wireguard/server.key": PRIVATE}


def test_the_listing_script_expands_globs(tmp_path):
    """The script collect_from_container runs in the container, run here: globs match files."""
    import subprocess

    (tmp_path / "clients").mkdir()
    for name in ("server.key", "phone.psk", "clients/phone.key", "notes.txt"):
        (tmp_path / name).write_text("x")
    globs = [str(tmp_path / "*.key"), str(tmp_path / "*.psk"), str(tmp_path / "clients/*.key"),
             str(tmp_path / "missing/*.conf"), str(tmp_path / "plain-missing.conf")]
    out = subprocess.run(["sh", "-c", leak_scan.LIST_SCRIPT, "sh"] + globs, capture_output=True, text=True, check=True)
    assert sorted(out.stdout.split()) == sorted(str(tmp_path / n) for n in ("server.key", "phone.psk", "clients/phone.key"))
