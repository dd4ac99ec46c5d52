"""The cloudflared stand-in as a program: flags, ingress validation, token and credentials checks."""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import time

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
STANDIN = os.path.join(REPO, "tests", "lab", "standins", "cloudflared", "cloudflared_standin.py")
TID = "6ff42ae2-765d-4adf-8112-31c55c1551ef"
TOKEN = base64.b64encode(json.dumps({"a": "acc0", "t": TID, "s": base64.b64encode(b"s" * 32).decode()}).encode()).decode()
GOOD = """# comment
tunnel: %s
credentials-file: %%s
ingress:
  - hostname: jellyfin.example.test
    service: http://127.0.0.1:8096
  - service: http_status:404
""" % TID


@pytest.fixture
def cf(tmp_path):
    env = dict(os.environ, CLOUDFLARED_STANDIN_LOG=str(tmp_path / "log.jsonl"), HOME=str(tmp_path))
    env.pop("TUNNEL_TOKEN", None)

    def run(*args, extra_env=None, timeout=30):
        return subprocess.run([sys.executable, STANDIN, *args], capture_output=True, text=True,
                              env=dict(env, **(extra_env or {})), timeout=timeout, check=False)

    run.tmp = tmp_path
    run.env = env
    run.log = lambda: [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    return run


def _config(cf, text):
    path = cf.tmp / "config.yml"
    path.write_text(text)
    return str(path)


def test_validate_ok(cf):
    path = _config(cf, GOOD % (cf.tmp / "c.json"))
    proc = cf("tunnel", "--config", path, "ingress", "validate")
    assert (proc.returncode, proc.stdout) == (0, "Validating rules from %s\nOK\n" % path)


@pytest.mark.parametrize("body, message", [
    ("ingress:\n  - hostname: a.example.test\n    service: http://127.0.0.1:8096\n", "The last ingress rule must match all URLs"),
    ("ingress:\n  - service: http_status:404\n  - hostname: a.example.test\n    service: http://x:1\n", "Rule #1 is matching the hostname ''"),
    ("ingress:\n  - hostname: a.example.test:443\n    service: http://x:1\n  - service: http_status:404\n", "Hostname cannot contain a port"),
    ("ingress:\n  - hostname: a.example.test\n    service: 127.0.0.1:8096\n  - service: http_status:404\n", "is an invalid address"),
    ("ingress:\n  - hostname: a.example.test\n    service: http://x:1/web\n  - service: http_status:404\n", "don't support proxying to a different path"),
    ("tunnel: x\n", "doesn't contain any ingress rules"),
])
def test_validate_errors(cf, body, message):
    proc = cf("tunnel", "--config", _config(cf, body), "ingress", "validate")
    assert proc.returncode == 1 and proc.stderr.startswith("Validation failed: ") and message in proc.stderr


def test_unused_keys_warning(cf):
    proc = cf("tunnel", "--config", _config(cf, "bogus-key: 1\ningress:\n  - service: http_status:404\n"), "ingress", "validate")
    assert proc.returncode == 0 and "unused keys" in proc.stdout and "bogus-key" in proc.stdout and "OK" not in proc.stdout


def test_unknown_flag_prints_incorrect_usage_and_exits_zero(cf):
    proc = cf("tunnel", "run", "--no-autoupdate")
    assert proc.returncode == 0 and proc.stdout.startswith("Incorrect Usage: flag provided but not defined: -no-autoupdate")


def test_bad_token(cf):
    proc = cf("tunnel", "run", extra_env={"TUNNEL_TOKEN": "not-a-token"})
    assert proc.returncode == 1 and proc.stderr.strip() == "Provided Tunnel token is not valid."


def _run_until_ready(cf, args, extra_env=None):
    proc = subprocess.Popen([sys.executable, STANDIN, *args], env=dict(cf.env, **(extra_env or {})),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for _ in range(100):
        if (cf.tmp / "log.jsonl").exists() and any(r.get("event") == "run" for r in cf.log()):
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    proc.wait(5)
    return proc


def test_token_from_environment(cf):
    proc = _run_until_ready(cf, ["--no-autoupdate", "tunnel", "run"], {"TUNNEL_TOKEN": TOKEN})
    assert proc.returncode == 0
    run = [r for r in cf.log() if r.get("event") == "run"][-1]
    assert run["mode"] == "token" and run["tunnel_id"] == TID and "TUNNEL_TOKEN" in run["env_names"]
    assert run["secret_in_argv"] is False and TOKEN not in (cf.tmp / "log.jsonl").read_text()


def test_token_on_the_command_line_is_flagged(cf):
    _run_until_ready(cf, ["tunnel", "run", "--token", TOKEN])
    assert all(r["secret_in_argv"] for r in cf.log()) and TOKEN not in (cf.tmp / "log.jsonl").read_text()


def test_named_tunnel_needs_matching_credentials(cf):
    creds = cf.tmp / "c.json"
    path = _config(cf, GOOD % creds)
    proc = cf("tunnel", "--config", path, "run")
    assert proc.returncode == 1 and "doesn't exist or is not a file" in proc.stderr
    creds.write_text(json.dumps({"AccountTag": "a", "TunnelSecret": "c2VjcmV0", "TunnelID": TID}))
    proc = _run_until_ready(cf, ["tunnel", "--config", path, "run"])
    run = [r for r in cf.log() if r.get("event") == "run"][-1]
    assert run["mode"] == "named" and run["credentials_file"] == str(creds) and run["origincert_configured"] is False
    assert run["ingress"][-1] == {"hostname": None, "service": "http_status:404"}
