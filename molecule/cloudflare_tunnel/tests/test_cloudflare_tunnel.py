"""What a user of the cloudflare_tunnel role would check on the server.

Two tunnels run side by side: a remotely managed one (token mode, unit cloudflared-jellyfin)
and a locally managed one (named mode, unit cloudflared-jellyfin-named). The last tests run
the converge playbook again in a subprocess: without the terms acknowledgement (nothing may
change) and with a new token (the unit must restart with it).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest
import yaml
from conftest import changed_on_server, converge, exposure, playbook, recap_changed

SCENARIO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPO = os.path.dirname(os.path.dirname(SCENARIO))
LOG = "/var/log/cloudflared-standin/invocations.jsonl"
TOKEN_UNIT = "cloudflared-jellyfin"
NAMED_UNIT = "cloudflared-jellyfin-named"
ENV_FILE = "/etc/cloudflared/cloudflared-jellyfin.env"
CONFIG = "/etc/cloudflared/cloudflared-jellyfin-named.yml"
TUNNEL_ID = "6ff42ae2-765d-4adf-8112-31c55c1551ef"
NAMED_ID = "2c1f7a52-63e4-4c8e-9b1d-6d2f0c7e9a11"
CREDS = "/etc/cloudflared/%s.json" % NAMED_ID


def _token(secret_word):
    """A made-up token in the real shape; converge.yml builds the first one the same way."""
    data = {"a": "0123456789abcdef0123456789abcdef", "s": base64.b64encode(secret_word.encode() * 2).decode(),
            "t": TUNNEL_ID}
    return base64.b64encode(json.dumps(data, separators=(",", ":")).encode()).decode()


FIRST_TOKEN = _token("labTokenSecretOne")


def _fp(token):
    return hashlib.sha256(token.strip().encode()).hexdigest()[:16]


def _log(server):
    return [json.loads(line) for line in server.file(LOG).content_string.splitlines() if line.strip()]


def _runs(server, mode):
    return [r for r in _log(server) if r.get("event") == "run" and r.get("mode") == mode]


def _main_pid(server, unit):
    return server.check_output("systemctl show -p MainPID --value %s" % unit)


@pytest.mark.parametrize("unit", [TOKEN_UNIT, NAMED_UNIT])
def test_tunnel_unit_runs_restarts_on_failure_and_is_enabled(server, unit):
    service = server.service(unit)
    assert service.is_running and service.is_enabled
    assert server.check_output("systemctl show -p Restart --value %s" % unit) == "on-failure"
    assert server.check_output("systemctl show -p User --value %s" % unit) == "cloudflared"


@pytest.mark.parametrize("unit", [TOKEN_UNIT, NAMED_UNIT])
def test_tunnel_unit_is_hardened(server, unit):
    # No capability, a system-call filter, no namespaces: 8.4 EXPOSED before, 2.4 now.
    assert exposure(server, unit) <= 3.0


def test_token_reaches_cloudflared_through_the_environment(server):
    run = _runs(server, "token")[-1]
    assert run["token_sha256_16"] == _fp(FIRST_TOKEN)
    assert "TUNNEL_TOKEN" in run["env_names"] and run["tunnel_id"] == TUNNEL_ID
    assert run["argv"] == ["--no-autoupdate", "tunnel", "run"]


def test_no_secret_on_any_command_line_or_in_the_log(server):
    records = _log(server)
    assert records and not [r["argv"] for r in records if r.get("secret_in_argv")]
    raw = server.file(LOG).content_string
    assert FIRST_TOKEN.strip() not in raw and "TunnelSecret" not in raw
    unit = server.file("/etc/systemd/system/%s.service" % TOKEN_UNIT).content_string
    assert "eyJ" not in unit and "--token" not in unit


def test_secret_files_are_private(server):
    env = server.file(ENV_FILE)
    assert (env.user, env.group, env.mode) == ("root", "root", 0o600)
    creds = server.file(CREDS)
    assert (creds.user, creds.group, creds.mode) == ("cloudflared", "cloudflared", 0o600)
    assert server.file("/etc/cloudflared").mode == 0o750


def test_named_tunnel_config_routes_jellyfin_and_ends_with_404(server):
    out = server.check_output("cloudflared tunnel --config %s ingress validate" % CONFIG)
    assert out.splitlines() == ["Validating rules from %s" % CONFIG, "OK"]
    run = _runs(server, "named")[-1]
    assert run["tunnel_id"] == NAMED_ID and run["credentials_file"] == CREDS
    assert run["ingress"] == [{"hostname": "jellyfin.example.test", "service": "http://127.0.0.1:8096"},
                              {"hostname": None, "service": "http_status:404"}]
    rule = server.check_output("cloudflared tunnel --config %s ingress rule https://other.example.test/" % CONFIG)
    assert "http_status:404" in rule


def test_cert_pem_is_never_deployed(server):
    assert not server.run("find / -xdev -name cert.pem -path '*cloudflare*'").stdout.strip()
    assert not any(r.get("origincert_configured") for r in _log(server) if r.get("event") == "run")


def test_known_proxies_has_loopback(server):
    root = ET.fromstring(server.file("/etc/jellyfin/network.xml").content_string)
    assert "127.0.0.1" in [e.text for e in root.find("KnownProxies")]


def _apt_keys(lab):
    return os.path.join(REPO, ".cache", "lab", "%s-apt" % lab["lab"])


def _key_sha256(lab, name):
    with open(os.path.join(_apt_keys(lab), name + ".gpg"), "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()


def _fpr(lab, name):
    with open(os.path.join(_apt_keys(lab), name + ".fpr"), encoding="ascii") as handle:
        return handle.read().strip()


def test_apt_source_and_keyring(server, lab):
    source = server.file("/etc/apt/sources.list.d/cloudflared.sources")
    fields = dict(line.split(": ", 1) for line in source.content_string.splitlines() if line and not line.startswith("#"))
    # Written by ansible.builtin.deb822_repository (its X-Repolib-Name), signed by the pinned keyring.
    assert fields == {"X-Repolib-Name": "cloudflared", "Types": "deb", "URIs": "file:///srv/lab-apt/cloudflare/cloudflared", "Suites": "any",
                      "Components": "main", "Signed-By": "/usr/share/keyrings/cloudflare-main.gpg"}
    assert server.file("/usr/share/keyrings/cloudflare-main.gpg").sha256sum == _key_sha256(lab, "first")
    assert server.run("dpkg-query -W cloudflared").rc != 0


def test_apt_accepted_the_signed_lab_repository(server):
    # The role's check fetched the repository's index with the pinned key (apt verified InRelease).
    lists = server.check_output("ls /var/lib/apt/lists/")
    assert "_srv_lab-apt_cloudflare_cloudflared_dists_any_InRelease" in lists


def test_defaults_pin_cloudflares_current_key():
    with open(os.path.join(REPO, "roles", "cloudflare_tunnel", "defaults", "main.yml"), encoding="utf-8") as handle:
        defaults = yaml.safe_load(handle)
    # The key Cloudflare rolled to in October 2025 (NO_PUBKEY 8A682D308D4E5E73 on hosts that lack it).
    assert defaults["cloudflare_tunnel_apt_key_fingerprint"] == "CC94B39C77AE7342A68B89628A682D308D4E5E73"


def test_defaults_point_at_cloudflares_repository():
    with open(os.path.join(REPO, "roles", "cloudflare_tunnel", "defaults", "main.yml"), encoding="utf-8") as handle:
        defaults = yaml.safe_load(handle)
    assert defaults["cloudflare_tunnel_apt_key_url"] == "https://pkg.cloudflare.com/cloudflare-main.gpg"
    assert defaults["cloudflare_tunnel_apt_repository_url"] == "https://pkg.cloudflare.com/cloudflared"
    assert defaults["cloudflare_tunnel_accept_video_terms"] is False


def _rerun_repository(extra_vars):
    return playbook(os.path.join(SCENARIO, "repository.yml"), "-e", json.dumps(extra_vars), timeout=300)


def _snapshot(server):
    """Every file the role could touch, with its checksum, mode and owner; and the units' PIDs."""
    files = server.check_output(
        "find /etc /usr/share/keyrings /srv/lab-apt -xdev -type f -printf '%p %m %u ' -exec sha256sum {} \\; "
        "2>/dev/null | awk '{print $1, $2, $3, $4}' | sort")
    return files, _main_pid(server, TOKEN_UNIT), _main_pid(server, NAMED_UNIT)


needs_molecule = pytest.mark.skipif("MOLECULE_EPHEMERAL_DIRECTORY" not in os.environ, reason="needs Molecule's inventory")


@needs_molecule
def test_without_the_terms_acknowledgement_nothing_changes(server, tmp_path):
    before = _snapshot(server)
    proc = converge(SCENARIO, {"cloudflare_tunnel_accept_video_terms": False,
                                      "cloudflare_tunnel_token": _token("refusedTokenSecret")})
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "cloudflare_tunnel_accept_video_terms is not true, so nothing was changed" in out
    assert "Service-Specific Terms" in out and "web UI" in out
    assert recap_changed(out) == 0
    assert _snapshot(server) == before


@needs_molecule
def test_a_new_token_is_applied_on_the_next_run(server, tmp_path):
    new_token = _token("secondLabTokenSecret")
    pid_before, named_pid_before = _main_pid(server, TOKEN_UNIT), _main_pid(server, NAMED_UNIT)
    proc = converge(SCENARIO, {"cloudflare_tunnel_token": new_token})
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert new_token not in proc.stdout and new_token not in proc.stderr
    assert _main_pid(server, TOKEN_UNIT) != pid_before
    assert _main_pid(server, NAMED_UNIT) == named_pid_before
    assert _runs(server, "token")[-1]["token_sha256_16"] == _fp(new_token)
    assert server.file(ENV_FILE).mode == 0o600
    assert new_token not in server.file(LOG).content_string


@needs_molecule
def test_cert_pem_given_as_credentials_is_refused(server, tmp_path):
    pem = "-----BEGIN ARGO TUNNEL TOKEN-----\nbm90IGEgcmVhbCBjZXJ0aWZpY2F0ZQ==\n-----END ARGO TUNNEL TOKEN-----\n"
    proc = converge(SCENARIO, {"cloudflare_tunnel_credentials": pem})
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0 and "is never deployed to the server" in out
    assert "ARGO TUNNEL TOKEN" not in server.file(CREDS).content_string
    assert not server.run("grep -rl 'BEGIN ARGO' /etc/cloudflared").stdout.strip()


@needs_molecule
def test_cloudflare_rotates_its_signing_key_under_the_same_name(server, lab):
    """The lab repository rolls to its second key, as Cloudflare did in October 2025: the
    keyring file keeps its name and gets the new key; the Release file is signed only by it."""
    keyring = "/usr/share/keyrings/cloudflare-main.gpg"
    subprocess.run([sys.executable, os.path.join(REPO, "tests", "lab", "apt_repo.py"), "publish", _apt_keys(lab),
                    "--sign", "second", "--key", "second", "--container", lab["hosts"]["server"]["container"],
                    "--dest", "/srv/lab-apt/cloudflare"], check=True, capture_output=True)
    # A host that still pins the old key: apt rejects the repository, and the role says why and what to change.
    proc = _rerun_repository({"cloudflare_tunnel_apt_key_fingerprint": _fpr(lab, "first")})
    out = " ".join((proc.stdout + proc.stderr).split())
    assert proc.returncode != 0 and "apt rejects Cloudflare's repository" in out
    assert "NO_PUBKEY" in out and "set cloudflare_tunnel_apt_key_fingerprint to it" in out
    assert server.file(keyring).sha256sum == _key_sha256(lab, "first")
    # The pin of the new key: the old file under the same name is replaced, and apt works again.
    proc = _rerun_repository({"cloudflare_tunnel_apt_key_fingerprint": _fpr(lab, "second")})
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "Keep Cloudflare's current signing key" in proc.stdout and "changed=1" in proc.stdout
    assert server.file(keyring).sha256sum == _key_sha256(lab, "second")
    # A wrong pin: the download does not hold it, the role refuses it and leaves the keyring alone.
    wrong = "CC94B39C77AE7342A68B89628A682D308D4E5E73"
    proc = _rerun_repository({"cloudflare_tunnel_apt_key_fingerprint": wrong})
    out = " ".join((proc.stdout + proc.stderr).split())
    assert proc.returncode != 0
    assert "has the fingerprint %s, not the pinned %s" % (_fpr(lab, "second"), wrong) in out
    assert "set cloudflare_tunnel_apt_key_fingerprint to it" in out
    assert server.file(keyring).sha256sum == _key_sha256(lab, "second")


@needs_molecule
def test_state_absent_removes_the_tunnels(server, tmp_path):
    proc = converge(SCENARIO, {"cloudflare_tunnel_state": "absent"})
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    for unit in (TOKEN_UNIT, NAMED_UNIT):
        assert not server.service(unit).is_running
        assert not server.file("/etc/systemd/system/%s.service" % unit).exists
    for path in (ENV_FILE, CONFIG, CREDS):
        assert not server.file(path).exists
    assert "cloudflare_tunnel: closed on server:" in proc.stdout and "the tunnel is down" in proc.stdout
    again = converge(SCENARIO, {"cloudflare_tunnel_state": "absent"})
    assert changed_on_server(again) == 0
    assert "nothing was open" in again.stdout

