# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""main() of ddns_update driven with module args against the loopback stand-in."""

from __future__ import annotations

import json
import time

import pytest

from harness import run_module

from ansible_collections.homelab.jellyfin_remote.plugins.module_utils import _ddns
from ansible_collections.homelab.jellyfin_remote.plugins.module_utils._ddns import base as ddns_base
from ansible_collections.homelab.jellyfin_remote.plugins.modules import ddns_update

SECRETS = ("labpass", "labtoken", "pk1_lab", "sk1_lab")


@pytest.fixture
def run(monkeypatch):
    """main() against the stand-in, waits skipped: ('exit'|'fail', result with the warnings)."""
    monkeypatch.setattr(time, "sleep", lambda s: None)

    def _run(args):
        kind, result, warnings = run_module(ddns_update.main, args)
        if kind == "exit":
            result["warnings"] = warnings
        return kind, result

    return _run


def _no_secret(result):
    text = json.dumps(result, default=str)
    for secret in SECRETS:
        assert secret not in text


def _duck(standin, **extra):
    args = dict(provider="duckdns", hostname="JF.duckdns.org.", token="labtoken", base_url=standin.base, allow_insecure_http=True,
                resolver="127.0.0.1", resolver_port=standin.dns_port, public_ip={"ipv4": "198.51.100.7", "ipv6": None})
    args.update(extra)
    return args


def test_update_then_second_run_unchanged(standin, run):
    standin.add_host("jf.duckdns.org", "duckdns", {"A": ["192.0.2.1"]})
    status, result = run(_duck(standin))
    assert status == "exit"
    assert result["changed"] is True
    assert result["hostname"] == "jf.duckdns.org"
    assert result["previous"] == {"A": "192.0.2.1"}
    assert result["current"] == {"A": "198.51.100.7"}
    assert result["requests"] == {"reads": 1, "lookups": 0, "updates": 1}
    _no_secret(result)
    standin.reset()
    status, again = run(_duck(standin))
    assert again["changed"] is False
    assert standin.stats("duckdns")["reads"] == 1
    assert standin.stats("duckdns")["updates"] == 0


def test_check_mode_and_diff(standin, run):
    standin.add_host("jf.duckdns.org", "duckdns", {"A": ["192.0.2.1"]})
    status, result = run(dict(_duck(standin), _ansible_check_mode=True, _ansible_diff=True))
    assert result["changed"] is True
    assert result["diff"] == {"before": {"A": "192.0.2.1"}, "after": {"A": "198.51.100.7"}}
    assert standin.records("jf.duckdns.org")["A"] == ["192.0.2.1"]
    assert standin.stats("duckdns")["updates"] == 0


def test_failure_message_and_kind(standin, run):
    standin.add_host("home.noip.test", "noip", {"A": ["192.0.2.1"]})
    standin.behave("home.noip.test", "abuse")
    status, result = run(dict(provider="noip", hostname="home.noip.test", username="labuser", password="labpass",
                              base_url=standin.base + "/noip", resolver="127.0.0.1", allow_insecure_http=True, user_agent_contact="admin@lab.test", resolver_port=standin.dns_port,
                              address="198.51.100.7"))
    assert status == "fail"
    assert result["error_kind"] == "abuse"
    assert result["msg"].startswith("ddns_update noip home.noip.test: ")
    assert "the provider blocked updates for this host; contact them; updates stopped" in result["msg"]
    assert result["previous"] == {"A": "192.0.2.1"}
    _no_secret(result)


def test_total_retry_time_is_bounded(standin, run, monkeypatch):
    """A provider failing for ever: max_retry_seconds ends the run, whatever max_retries says."""
    standin.add_host("home.noip.test", "noip", {"A": ["192.0.2.1"]})
    standin.behave("home.noip.test", "5xx", status=503)
    clock = {"now": 0.0}
    slept = []

    def sleep(seconds):
        slept.append(seconds)
        clock["now"] += seconds

    monkeypatch.setattr(time, "sleep", sleep)
    monkeypatch.setattr(ddns_base, "_monotonic", lambda: clock["now"])
    status, result = run(dict(provider="noip", hostname="home.noip.test", username="labuser", password="labpass",
                              base_url=standin.base + "/noip", resolver="127.0.0.1", resolver_port=standin.dns_port,
                              address="198.51.100.7", max_retries=1000, max_retry_wait=10, max_retry_seconds=45,
                              allow_insecure_http=True, user_agent_contact="admin@lab.test"))
    assert status == "fail"
    assert result["error_kind"] == "retryable"
    assert "max_retry_seconds=45" in result["msg"]
    assert sum(slept) <= 45 and slept == [5, 10, 10, 10, 10]
    _no_secret(result)


def test_nochg_warns(standin, run, monkeypatch):
    standin.add_host("home.noip.test", "noip", {"A": ["198.51.100.7"]})
    # DNS lags: make the read see an old address while the provider already holds the new one.
    monkeypatch.setattr(_ddns.DnsReader, "read", lambda self, name, rtype: ["192.0.2.1"])
    status, result = run(dict(provider="noip", hostname="home.noip.test", username="labuser", password="labpass",
                              base_url=standin.base + "/noip", resolver="127.0.0.1", allow_insecure_http=True, user_agent_contact="admin@lab.test", address="198.51.100.7"))
    assert result["answer"] == "nochg"
    assert any("nochg" in w for w in result["warnings"])
    _no_secret(result)


@pytest.mark.parametrize(
    "args,text",
    [
        (dict(provider="noip", hostname="h.example.test", address="198.51.100.7"), "missing: username, password, user_agent_contact"),
        (dict(provider="cloudflare", hostname="h.example.test", token="labtoken", address="198.51.100.7"), "zone"),
        (dict(provider="duckdns", hostname="h.duckdns.org", token="t"), "one of the following is required: address, public_ip"),
        (dict(provider="duckdns", hostname="h.duckdns.org", token="t", address="198.51.100.7", public_ip={}), "mutually exclusive"),
        (dict(provider="duckdns", hostname="h..org", token="t", address="198.51.100.7"), "hostname: 'h..org' is not valid"),
        (dict(provider="duckdns", hostname="h.duckdns.org", token="t", address="198.51.100.7", resolver="ns1"), "resolver: 'ns1' is not valid"),
        (dict(provider="duckdns", hostname="h.duckdns.org", token="t", public_ip={"ipv4": None}, record_type="AAAA"), "needs public_ip.ipv6"),
        (dict(provider="rfc2136", hostname="h.example.test", zone="example.test", server="127.0.0.1", tsig_key_name="k",
              address="198.51.100.7"), "tsig_key_name"),
        (dict(provider="duckdns", hostname="h.duckdns.org", token="t", address="198.51.100.7", max_retries=-1), "max_retries must be 0 or more"),
        (dict(provider="duckdns", hostname="h.duckdns.org", token="t", address="198.51.100.7", base_url="http://127.0.0.1:9"),
         "base_url http://127.0.0.1:9 is plain http://, which sends the credentials in clear text; use https://, or set allow_insecure_http"),
        (dict(provider="noip", hostname="h.example.test", username="u", password="p", user_agent_contact="me at home",
              address="198.51.100.7"), "user_agent_contact 'me at home' is not an e-mail address"),
        (dict(provider="duckdns", hostname="h.duckdns.org", token="t", address="198.51.100.7", max_retry_seconds=0),
         "max_retry_seconds must be more than 0 and at most 900 seconds, got 0"),
        (dict(provider="duckdns", hostname="h.duckdns.org", token="t", address="198.51.100.7", max_retry_seconds=1800),
         "max_retry_seconds must be more than 0 and at most 900 seconds, got 1800"),
    ],
)
def test_option_errors(run, args, text):
    status, result = run(args)
    assert status == "fail"
    assert text in result["msg"]
    assert "labtoken" not in result["msg"]


def test_spec_marks_every_secret_no_log():
    spec = ddns_update.argument_spec()
    for name in ("password", "token", "api_key", "secret_api_key", "tsig_key_secret"):
        assert spec[name]["no_log"] is True
    assert spec["tsig_key_name"]["no_log"] is False


def test_every_provider_choice_is_registered():
    _ddns._load_providers()
    assert sorted(ddns_update.PROVIDERS) == sorted(_ddns.REGISTRY)


# ------------------------------------------------------------------------------------------------ state: absent

def _cloudflare(standin, **extra):
    args = dict(state="absent", provider="cloudflare", hostname="jf.cf.test", zone="cf.test", token="labtoken",
                base_url=standin.base + "/client/v4", allow_insecure_http=True)
    args.update(extra)
    return args


def test_absent_check_mode_then_delete_then_unchanged(standin, run):
    standin.add_zone("cf.test", "cloudflare")
    standin.add_host("jf.cf.test", "cloudflare", {"A": ["192.0.2.1"]})
    status, check = run(dict(_cloudflare(standin), _ansible_check_mode=True, _ansible_diff=True))
    assert status == "exit" and check["changed"] is True
    assert check["deleted"] == ["A"] and check["kept"] is None
    assert check["summary"] == "DNS record jf.cf.test (A) would be deleted at cloudflare"
    assert check["diff"] == {"before": {"A": "192.0.2.1", "AAAA": None}, "after": {"A": None, "AAAA": None}}
    assert standin.records("jf.cf.test")["A"] == ["192.0.2.1"]
    assert standin.stats("cloudflare")["updates"] == 0

    status, real = run(_cloudflare(standin))
    assert real["changed"] is True and real["state"] == "absent"
    assert real["summary"] == "DNS record jf.cf.test (A) deleted at cloudflare"
    assert standin.records("jf.cf.test")["A"] == []
    _no_secret(real)

    standin.reset()
    status, again = run(_cloudflare(standin))
    assert again["changed"] is False and again["deleted"] == []
    assert standin.stats("cloudflare")["updates"] == 0


def test_absent_at_a_provider_without_delete_keeps_the_record_and_warns(standin, run):
    """dyndns2 cannot delete: no credentials are needed, nothing is sent, the warning says why."""
    standin.add_host("home.dyn.test", "dyndns2", {"A": ["192.0.2.1"]})
    status, result = run(dict(state="absent", provider="dyndns2", hostname="home.dyn.test"))
    assert status == "exit" and result["changed"] is False
    assert result["deleted"] == []
    assert result["kept"] == ("dyndns2 has no delete: its update protocol (/nic/update) can only set addresses; "
                              "remove the record in the provider's control panel")
    assert result["summary"] == "DNS record home.dyn.test left as it is: " + result["kept"]
    assert any("remove the record in the provider's control panel" in w for w in result["warnings"])
    assert standin.stats() == {}
    assert standin.records("home.dyn.test")["A"] == ["192.0.2.1"]


@pytest.mark.parametrize("args,text", [
    (dict(state="absent", provider="cloudflare", hostname="jf.cf.test", zone="cf.test"),
     "provider is cloudflare but all of the following are missing: token"),
    (dict(state="absent", provider="porkbun", hostname="jf.pb.test", api_key="pk1_lab"),
     "missing: secret_api_key, zone"),
    (dict(state="absent", provider="duckdns", hostname="jf.duckdns.org", token="labtoken", record_type="A"),
     "duckdns clears the A and the AAAA record of a name together"),
])
def test_absent_option_errors(standin, run, args, text):
    standin.add_host("jf.duckdns.org", "duckdns", {"A": ["192.0.2.1"]})
    if args["provider"] == "duckdns":
        args = dict(args, base_url=standin.base, allow_insecure_http=True, resolver="127.0.0.1", resolver_port=standin.dns_port)
    status, result = run(args)
    assert status == "fail"
    assert text in result["msg"]
    assert result["error_kind"] == "config"
    assert standin.records("jf.duckdns.org")["A"] == ["192.0.2.1"]


def test_every_provider_says_whether_it_can_delete():
    _ddns._load_providers()
    for name, cls in _ddns.REGISTRY.items():
        assert isinstance(cls.can_delete, bool), name
        assert cls.can_delete or "control panel" in cls.cannot_delete, name
    assert sorted(n for n, c in _ddns.REGISTRY.items() if not c.can_delete) == ["desec", "dyndns2", "dynu", "namecheap", "noip"]
