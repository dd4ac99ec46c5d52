# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every HTTP provider against the loopback stand-in: success, unchanged, errors, retries.

The stand-in (tests/lab/standins/ddns/ddns_standin.py) runs in this process on loopback;
the network guard (tests/unit/conftest.py) refuses anything else.
"""

from __future__ import annotations

import json
import time

import pytest

from standins import ddns as ddns_standin

from ansible_collections.homelab.jellyfin_remote.plugins.module_utils import _ddns

SECRETS = ("labpass", "labtoken", "pk1_lab", "sk1_lab")
NEW4, NEW6, OLD4, OLD6 = "198.51.100.7", "2001:db8::7", "192.0.2.1", "2001:db8::1"


# provider -> (stand-in label, hostname, zone, seed provider host?, settings builder)
def _settings(standin, provider, **extra):
    common = dict(resolver="127.0.0.1", resolver_port=standin.dns_port, timeout=5, max_retries=2, max_retry_wait=5,
                  allow_insecure_http=True)  # the loopback stand-in speaks plain http
    table = {
        "dyndns2": dict(hostname="home.dyn.test", username="labuser", password="labpass", base_url=standin.base),
        "noip": dict(hostname="home.noip.test", username="labuser", password="labpass", base_url=standin.base + "/noip",
                     user_agent_contact="admin@lab.test"),
        "dynu": dict(hostname="home.dynu.test", username="labuser", password="labpass", base_url=standin.base + "/dynu"),
        "desec": dict(hostname="home.dedyn.io", token="labtoken", base_url=standin.base + "/desec"),
        "duckdns": dict(hostname="jf.duckdns.org", token="labtoken", base_url=standin.base),
        "namecheap": dict(hostname="jf.nc.test", zone="nc.test", password="labpass", base_url=standin.base + "/namecheap"),
        "cloudflare": dict(hostname="jf.cf.test", zone="cf.test", token="labtoken", base_url=standin.base + "/client/v4"),
        "porkbun": dict(hostname="jf.pb.test", zone="pb.test", api_key="pk1_lab", secret_api_key="sk1_lab", base_url=standin.base + "/api/json/v3"),
    }
    values = dict(common, provider=provider, **table[provider])
    values.update(extra)
    return _ddns.Settings(**values)


LABEL = {"dyndns2": "dyndns2", "noip": "noip", "dynu": "dynu", "desec": "desec", "duckdns": "duckdns",
         "namecheap": "namecheap", "cloudflare": "cloudflare", "porkbun": "porkbun"}
HTTP_PROVIDERS = list(LABEL)
V6_PROVIDERS = [p for p in HTTP_PROVIDERS if p != "namecheap"]


def _seed(standin, provider, records):
    s = _settings(standin, provider)
    if provider in ("cloudflare", "porkbun"):
        standin.add_zone(s.zone, provider)
    standin.add_host(s.hostname, LABEL[provider], records)
    return s


def _no_secret(obj):
    text = json.dumps(obj, default=str)
    for secret in SECRETS:
        assert secret not in text, "secret %r leaked: %s" % (secret, text)


@pytest.mark.parametrize("provider", HTTP_PROVIDERS)
def test_update_then_unchanged(standin, provider):
    s = _seed(standin, provider, {"A": [OLD4]})
    first = _ddns.run(s, {"A": NEW4}, sleep=lambda _s: None)
    assert first["changed"] is True
    assert first["previous"] == {"A": OLD4}
    assert first["current"] == {"A": NEW4}
    assert standin.records(s.hostname)["A"] == [NEW4]
    _no_secret(first)
    standin.reset()
    second = _ddns.run(_settings(standin, provider), {"A": NEW4})
    assert second["changed"] is False
    assert second["previous"] == second["current"] == {"A": NEW4}
    stats = standin.stats(LABEL[provider])
    # Exactly one read of the record and no update. Cloudflare adds one zone lookup.
    assert stats["reads"] == 1
    assert stats["updates"] == 0
    assert stats["lookups"] == (1 if provider == "cloudflare" else 0)
    assert second["requests"] == {"reads": 1, "updates": 0, "lookups": stats["lookups"]}


def test_cloudflare_zone_id_skips_the_lookup(standin):
    s = _seed(standin, "cloudflare", {"A": [NEW4]})
    zone_id = standin.add_zone("cf.test", "cloudflare")
    result = _ddns.run(_settings(standin, "cloudflare", zone=zone_id), {"A": NEW4})
    assert result["changed"] is False
    assert standin.stats("cloudflare") == {"requests": 1, "reads": 1, "lookups": 0, "updates": 0, "changes": 0}
    assert s.hostname == "jf.cf.test"


@pytest.mark.parametrize("provider", V6_PROVIDERS)
def test_both_families(standin, provider):
    s = _seed(standin, provider, {"A": [OLD4], "AAAA": [OLD6]})
    result = _ddns.run(s, {"A": NEW4, "AAAA": NEW6})
    assert result["changed"] is True
    assert standin.records(s.hostname) == {"A": [NEW4], "AAAA": [NEW6]}
    standin.reset()
    again = _ddns.run(_settings(standin, provider), {"A": NEW4, "AAAA": NEW6})
    assert again["changed"] is False
    stats = standin.stats(LABEL[provider])
    assert stats["updates"] == 0
    # Cloudflare reads both types in one request; the others one read per type.
    assert stats["reads"] == (1 if provider == "cloudflare" else 2)


@pytest.mark.parametrize("provider", ["noip", "dynu", "desec", "duckdns", "cloudflare", "porkbun"])
def test_one_family_leaves_the_other(standin, provider):
    s = _seed(standin, provider, {"A": [OLD4], "AAAA": [OLD6]})
    _ddns.run(s, {"AAAA": NEW6})
    assert standin.records(s.hostname) == {"A": [OLD4], "AAAA": [NEW6]}


def test_desec_sends_preserve(standin):
    s = _seed(standin, "desec", {"A": [OLD4], "AAAA": [OLD6]})
    provider = _ddns.make_provider(s)
    assert provider.params({"A": NEW4}, {"A": NEW4}) == {"hostname": s.hostname, "myipv4": NEW4, "myipv6": "preserve"}


def test_check_mode_reads_and_writes_nothing(standin):
    s = _seed(standin, "noip", {"A": [OLD4]})
    result = _ddns.run(s, {"A": NEW4}, check_mode=True)
    assert result["changed"] is True
    assert result["current"] == {"A": NEW4}
    assert standin.records(s.hostname)["A"] == [OLD4]
    assert standin.stats("noip")["updates"] == 0


def test_cloudflare_and_porkbun_create_a_missing_record(standin):
    for provider in ("cloudflare", "porkbun"):
        s = _seed(standin, provider, {"A": [OLD4]})
        result = _ddns.run(s, {"AAAA": NEW6})
        assert result["previous"] == {"AAAA": None}
        assert result["answer"] == "created"
        assert standin.records(s.hostname)["AAAA"] == [NEW6]


# -- errors ------------------------------------------------------------------------------

DYNDNS2_ERRORS = [
    ("badauth", "auth", "check username/password or token"),
    ("nohost", "nohost", "check hostname"),
    ("abuse", "abuse", "the provider blocked updates for this host; contact them; updates stopped"),
    ("!donator", "donator", "!donator"),
    ("badagent", "badagent", "badagent"),
    ("notfqdn", "notfqdn", "fully qualified"),
    ("numhost", "numhost", "numhost"),
    ("dnserr", "dnserr", "dnserr"),
]


@pytest.mark.parametrize("provider", ["dyndns2", "noip", "dynu"])
@pytest.mark.parametrize("answer,kind,text", DYNDNS2_ERRORS)
def test_dyndns2_fatal_answers_are_not_retried(standin, provider, answer, kind, text):
    s = _seed(standin, provider, {"A": [OLD4]})
    standin.behave(s.hostname, answer)
    sleeps = []
    with pytest.raises(_ddns.DdnsError) as info:
        _ddns.run(s, {"A": NEW4}, sleep=sleeps.append)
    assert info.value.kind == kind
    assert text in str(info.value)
    assert sleeps == []
    assert standin.stats(LABEL[provider])["updates"] == 1
    _no_secret(str(info.value))
    _no_secret(info.value.partial)


def test_dyndns2_911_is_not_retried_within_the_cap(standin):
    s = _seed(standin, "noip", {"A": [OLD4]})
    standin.behave(s.hostname, "911")
    sleeps = []
    with pytest.raises(_ddns.DdnsError) as info:
        _ddns.run(s, {"A": NEW4}, sleep=sleeps.append)
    assert info.value.kind == "retryable"
    assert info.value.retry_after == 1800
    assert "provider-side problem, retry no sooner than 30 minutes" in str(info.value)
    assert "exceeds max_retry_wait" in str(info.value)
    assert sleeps == []


def test_wrong_credentials_real_check(standin):
    s = _seed(standin, "noip", {"A": [OLD4]})
    bad = _settings(standin, "noip", password="wrong-secret-123")
    with pytest.raises(_ddns.DdnsError) as info:
        _ddns.run(bad, {"A": NEW4})
    assert info.value.kind == "auth"
    assert "wrong-secret-123" not in str(info.value)
    assert s.hostname in standin.state.hosts


@pytest.mark.parametrize("provider", HTTP_PROVIDERS)
def test_429_honours_retry_after_then_succeeds(standin, provider):
    s = _seed(standin, provider, {"A": [OLD4]})
    standin.behave(s.hostname, "429", times=1, retry_after=2)
    sleeps = []
    result = _ddns.run(s, {"A": NEW4}, sleep=sleeps.append)
    assert result["changed"] is True
    assert sleeps == [2]
    assert standin.records(s.hostname)["A"] == [NEW4]


@pytest.mark.parametrize("provider", HTTP_PROVIDERS)
def test_5xx_retried_with_bounded_attempts(standin, provider):
    s = _seed(standin, provider, {"A": [OLD4]})
    standin.behave(s.hostname, "5xx", status=503)
    sleeps = []
    with pytest.raises(_ddns.DdnsError) as info:
        _ddns.run(s, {"A": NEW4}, sleep=sleeps.append)
    assert info.value.kind == "retryable"
    assert info.value.attempts == 3  # max_retries=2
    assert len(sleeps) == 2
    assert all(w <= 5 for w in sleeps)
    _no_secret(str(info.value))


def test_retry_after_longer_than_cap_fails_at_once(standin):
    s = _seed(standin, "desec", {"A": [OLD4]})
    standin.behave(s.hostname, "429", retry_after=3600)
    sleeps = []
    with pytest.raises(_ddns.DdnsError) as info:
        _ddns.run(s, {"A": NEW4}, sleep=sleeps.append)
    assert sleeps == []
    assert "3600 s" in str(info.value)


def test_desec_rate_limit_one_update_per_minute(standin):
    standin.state.desec_interval = 60
    s = _seed(standin, "desec", {"A": [OLD4]})
    _ddns.run(s, {"A": NEW4})
    with pytest.raises(_ddns.DdnsError) as info:
        _ddns.run(_settings(standin, "desec", max_retry_wait=5), {"A": OLD4}, sleep=lambda _s: None)
    assert info.value.kind == "retryable"
    assert info.value.status == 429
    assert info.value.retry_after > 5


@pytest.mark.parametrize(
    "provider,behaviour,kind,text",
    [
        ("desec", "badauth", "auth", "check username/password or token"),
        ("desec", "nohost", "nohost", "HTTP 404"),
        ("duckdns", "badauth", "auth", "answered KO"),
        ("namecheap", "badauth", "auth", "check password"),
        ("namecheap", "nohost", "nohost", "A record not Found"),
        ("cloudflare", "badauth", "auth", "check token"),
        ("porkbun", "badauth", "auth", "check api_key and secret_api_key"),
        ("porkbun", "nohost", "nohost", "check zone"),
    ],
)
def test_provider_errors(standin, provider, behaviour, kind, text):
    s = _seed(standin, provider, {"A": [OLD4]})
    standin.behave(s.hostname, behaviour)
    with pytest.raises(_ddns.DdnsError) as info:
        _ddns.run(s, {"A": NEW4}, sleep=lambda _s: None)
    assert info.value.kind == kind
    assert text in str(info.value)
    _no_secret(str(info.value))


@pytest.mark.parametrize("provider", ["duckdns", "cloudflare", "porkbun", "namecheap"])
def test_wrong_secret_never_shown(standin, provider):
    _seed(standin, provider, {"A": [OLD4]})
    secret = "Zz9-not/so&secret=1"
    extra = {"duckdns": dict(token=secret), "cloudflare": dict(token=secret),
             "porkbun": dict(secret_api_key=secret), "namecheap": dict(password=secret)}[provider]
    with pytest.raises(_ddns.DdnsError) as info:
        _ddns.run(_settings(standin, provider, **extra), {"A": NEW4})
    assert info.value.kind == "auth"
    for form in (secret, "Zz9-not%2Fso%26secret%3D1"):
        assert form not in str(info.value)
        assert form not in json.dumps(info.value.partial)


def test_unreachable_is_retryable(standin):
    port = standin.http.server_address[1]
    standin.stop()
    s = _settings(standin, "noip", resolver=None, base_url="http://127.0.0.1:%d" % port)
    provider = _ddns.make_provider(s)
    with pytest.raises(_ddns.DdnsError) as info:
        provider.update("A", NEW4)
    assert info.value.kind == "retryable"
    assert "could not reach http://127.0.0.1:%d/nic/update" % port in str(info.value)
    standin.stop = lambda: None


def test_namecheap_refuses_aaaa(standin):
    s = _seed(standin, "namecheap", {"A": [OLD4]})
    with pytest.raises(_ddns.DdnsError) as info:
        _ddns.run(s, {"AAAA": NEW6})
    assert info.value.kind == "config"
    assert "cannot set AAAA" in str(info.value)


# -- pure functions ------------------------------------------------------------------------

@pytest.mark.parametrize(
    "value,expected",
    [("5", 5), (" 120 ", 120), (None, None), ("soon", None), ("Wed, 21 Oct 2015 07:28:00 GMT", 0)],
)
def test_parse_retry_after(value, expected):
    assert _ddns.parse_retry_after(value) == expected


def test_parse_retry_after_date_in_future():
    assert _ddns.parse_retry_after("Thu, 01 Jan 1970 00:01:40 GMT", now=40) == 60


def test_with_retries_backoff_capped():
    calls, sleeps = [], []

    def fail():
        calls.append(1)
        raise _ddns.DdnsError("retryable", "down")

    with pytest.raises(_ddns.DdnsError) as info:
        _ddns.with_retries(fail, max_retries=3, max_wait=8, sleep=sleeps.append, backoff=5)
    assert sleeps == [5, 8, 8]
    assert len(calls) == 4
    assert "gave up after 4 attempts" in str(info.value)


@pytest.mark.parametrize("kind", _ddns.FATAL_KINDS)
def test_with_retries_never_retries_fatal(kind):
    sleeps = []
    with pytest.raises(_ddns.DdnsError):
        _ddns.with_retries(lambda: (_ for _ in ()).throw(_ddns.DdnsError(kind, "x")), sleep=sleeps.append)
    assert sleeps == []


def test_redactor_forms():
    redact = _ddns.Redactor(["a b/c&d"])
    assert redact("x a b/c&d y a%20b%2Fc%26d z a+b%2Fc%26d") == "x ******** y ******** z ********"


def test_public_url_drops_query_and_userinfo():
    assert _ddns.public_url("https://u:p@h.example:8443/nic/update?token=x#f") == "https://h.example:8443/nic/update"


@pytest.mark.parametrize(
    "kwargs,expected",
    [
        (dict(addresses=["198.51.100.7"]), {"A": "198.51.100.7"}),
        (dict(addresses=["2001:DB8::7", "198.51.100.7"]), {"A": "198.51.100.7", "AAAA": "2001:db8::7"}),
        (dict(public_ip={"ipv4": "198.51.100.7", "ipv6": None}), {"A": "198.51.100.7"}),
        (dict(public_ip={"ipv4": "198.51.100.7", "ipv6": "2001:db8::7"}, record_types=["AAAA"]), {"AAAA": "2001:db8::7"}),
    ],
)
def test_desired_addresses(kwargs, expected):
    assert _ddns.desired_addresses(**kwargs) == expected


@pytest.mark.parametrize(
    "kwargs,text",
    [
        (dict(addresses=["nope"]), "'nope' is not an IP address"),
        (dict(addresses=["192.0.2.1", "192.0.2.2"]), "at most one address per family"),
        (dict(public_ip={"ipv4": None, "ipv6": None}), "neither ipv4 nor ipv6"),
        (dict(public_ip={"ipv4": "198.51.100.7"}, record_types=["AAAA"]), "needs public_ip.ipv6"),
        (dict(public_ip={"ipv4": "2001:db8::1"}), "is not an IPv4 address"),
    ],
)
def test_desired_addresses_errors(kwargs, text):
    with pytest.raises(_ddns.DdnsError) as info:
        _ddns.desired_addresses(**kwargs)
    assert info.value.kind == "config"
    assert text in str(info.value)


@pytest.mark.parametrize(
    "provider,extra,text",
    [
        ("dyndns2", dict(base_url=None), "set base_url"),
        ("noip", dict(password=None), "needs username and password"),
        ("cloudflare", dict(zone="other.test"), "is not inside zone other.test"),
        ("porkbun", dict(zone=None), "needs zone"),
        ("duckdns", dict(token=None), "needs token"),
        ("noip", dict(base_url="ftp://x.test"), "must start with https://"),
        # plain http sends credentials in clear text: only with allow_insecure_http
        ("dyndns2", dict(allow_insecure_http=False), "is plain http://, which sends the credentials in clear text"),
        ("duckdns", dict(allow_insecure_http=None), "set allow_insecure_http (ddns_allow_insecure_http in the ddns role)"),
        # No-IP disables clients without a contact in the User-Agent
        ("noip", dict(user_agent_contact=None), "provider noip needs user_agent_contact"),
        ("dynu", dict(user_agent_contact="not an address"), "user_agent_contact 'not an address' is not an e-mail address"),
    ],
)
def test_settings_errors(standin, provider, extra, text):
    with pytest.raises(_ddns.DdnsError) as info:
        _ddns.make_provider(_settings(standin, provider, **extra))
    assert info.value.kind == "config"
    assert text in str(info.value)


def test_user_agent_carries_the_contact_no_ip_asks_for(standin):
    """The stand-in answers badagent, as No-IP does, to the agent without a contact."""
    standin.add_host("home.noip.test", "noip", {"A": ["192.0.2.1"]})
    result = _ddns.run(_settings(standin, "noip"), {"A": NEW4})
    assert result["changed"] is True
    assert _ddns.user_agent("admin@lab.test") == "homelab.jellyfin_remote ddns_update/%s admin@lab.test" % _ddns.VERSION
    provider = _ddns.make_provider(_settings(standin, "noip"))
    provider.settings.user_agent_contact = None  # past the settings check: what No-IP would see
    provider.http.agent = _ddns.user_agent(None)
    with pytest.raises(_ddns.DdnsError) as info:
        provider.update("A", "198.51.100.99")
    assert info.value.kind == "badagent"


def test_https_base_url_needs_no_flag(standin):
    provider = _ddns.make_provider(_settings(standin, "noip", base_url="https://127.0.0.1:1", allow_insecure_http=False))
    assert provider.base_url == "https://127.0.0.1:1"


class _Clock:
    """A clock that moves only when slept on or told to: waits are counted, not spent."""

    def __init__(self):
        self.now = 0.0
        self.sleeps = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


def test_with_retries_total_time_is_bounded():
    clock = _Clock()
    calls = []

    def fail():
        calls.append(clock.now)
        clock.now += 1  # each attempt takes one second (a slow provider)
        raise _ddns.DdnsError("retryable", "down")

    with pytest.raises(_ddns.DdnsError) as info:
        _ddns.with_retries(fail, max_retries=100, max_wait=10, sleep=clock.sleep, backoff=5, max_total=30, clock=clock)
    # 1 s attempt, 5 s wait, 1 s attempt, 10 s wait, 1 s, 10 s wait, 1 s (28 s spent): another 10 s would pass 30.
    assert clock.sleeps == [5, 10, 10]
    assert len(calls) == 4
    assert clock.now <= 30
    assert "max_retry_seconds=30" in str(info.value)
    assert "gave up after 4 attempts" in str(info.value)


def test_with_retries_total_bound_refuses_a_retry_after_that_would_pass_it():
    clock = _Clock()

    def fail():
        raise _ddns.DdnsError("retryable", "slow down", retry_after=50)

    with pytest.raises(_ddns.DdnsError) as info:
        _ddns.with_retries(fail, max_retries=3, max_wait=60, sleep=clock.sleep, max_total=40, clock=clock)
    assert clock.sleeps == []
    assert "max_retry_seconds=40" in str(info.value)


def test_with_retries_looks_up_time_sleep_when_called(monkeypatch):
    """No sleep captured at import: patching time.sleep reaches every retry (the fuzz test relies on it)."""
    slept = []
    monkeypatch.setattr(time, "sleep", slept.append)
    attempts = iter([_ddns.DdnsError("retryable", "down"), None])

    def flaky():
        error = next(attempts)
        if error:
            raise error
        return "ok"

    assert _ddns.with_retries(flaky, max_retries=1, max_wait=3, backoff=3) == "ok"
    assert slept == [3]
    assert time.sleep not in (_ddns.with_retries.__defaults__ or ()) + (_ddns.run.__defaults__ or ())


# ---------------------------------------------------------------------------------------- removal (state absent)

DELETING = ["cloudflare", "porkbun"]
NO_DELETE = ["dyndns2", "noip", "dynu", "desec", "namecheap"]


@pytest.mark.parametrize("provider", DELETING)
def test_delete_then_nothing_left(standin, provider):
    s = _seed(standin, provider, {"A": [OLD4], "AAAA": [OLD6]})
    first = _ddns.run_delete(s)
    assert first["changed"] is True
    assert first["deleted"] == ["A", "AAAA"]
    assert first["previous"] == {"A": OLD4, "AAAA": OLD6}
    assert first["current"] == {"A": None, "AAAA": None}
    assert standin.records(s.hostname) == {"A": [], "AAAA": []}
    assert standin.stats(LABEL[provider])["changes"] == 2
    assert _ddns.removal_line(first) == "DNS record %s (A, AAAA) deleted at %s" % (s.hostname, provider)
    _no_secret(first)
    standin.reset()
    again = _ddns.run_delete(_settings(standin, provider))
    assert again["changed"] is False and again["deleted"] == []
    assert standin.stats(LABEL[provider])["updates"] == 0
    assert _ddns.removal_line(again) == "DNS record %s: nothing to remove at %s (no A or AAAA record there)" % (s.hostname, provider)


@pytest.mark.parametrize("provider", DELETING)
def test_delete_one_type_leaves_the_other(standin, provider):
    s = _seed(standin, provider, {"A": [OLD4], "AAAA": [OLD6]})
    result = _ddns.run_delete(s, ["AAAA"])
    assert result["deleted"] == ["AAAA"]
    assert standin.records(s.hostname) == {"A": [OLD4], "AAAA": []}


@pytest.mark.parametrize("provider", DELETING + ["duckdns"])
def test_delete_in_check_mode_sends_nothing(standin, provider):
    s = _seed(standin, provider, {"A": [OLD4]})
    result = _ddns.run_delete(s, check_mode=True)
    assert result["changed"] is True and result["deleted"] == ["A"]
    assert result["current"]["A"] is None
    assert standin.records(s.hostname)["A"] == [OLD4]
    assert standin.stats(LABEL[provider])["updates"] == 0
    word = "cleared" if provider == "duckdns" else "deleted"
    assert _ddns.removal_line(result, check_mode=True).startswith("DNS record %s (A) would be %s at %s" % (s.hostname, word, provider))


def test_duckdns_clears_both_and_says_cleared(standin):
    s = _seed(standin, "duckdns", {"A": [OLD4], "AAAA": [OLD6]})
    result = _ddns.run_delete(s)
    assert result["changed"] is True and result["answer"] == "UPDATED"
    assert standin.records(s.hostname) == {"A": [], "AAAA": []}
    line = _ddns.removal_line(result)
    assert line == ("DNS record jf.duckdns.org (A, AAAA) cleared at duckdns (DuckDNS keeps the name itself: "
                    "remove it on duckdns.org when it is no longer wanted)")
    assert "deleted" not in line
    standin.reset()
    assert _ddns.run_delete(_settings(standin, "duckdns"))["changed"] is False
    assert standin.stats("duckdns")["updates"] == 0


def test_duckdns_cannot_clear_one_family_alone(standin):
    s = _seed(standin, "duckdns", {"A": [OLD4], "AAAA": [OLD6]})
    with pytest.raises(_ddns.DdnsError) as info:
        _ddns.run_delete(s, ["A"])
    assert info.value.kind == "config"
    assert "duckdns clears the A and the AAAA record of a name together (clear=true)" in str(info.value)
    assert standin.records(s.hostname) == {"A": [OLD4], "AAAA": [OLD6]}


@pytest.mark.parametrize("provider", NO_DELETE)
def test_no_delete_in_the_protocol_sends_nothing_and_says_why(standin, provider):
    s = _seed(standin, provider, {"A": [OLD4]})
    result = _ddns.run_delete(s)
    assert result["changed"] is False and result["deleted"] == []
    assert result["kept"].startswith("%s has no delete: " % provider)
    assert result["kept"].endswith("remove the record in the provider's control panel")
    assert "the record was not removed" in result["warning"]
    assert standin.stats() == {}  # not one request, not even a read
    assert standin.records(s.hostname)["A"] == [OLD4]
    assert _ddns.removal_line(result) == "DNS record %s left as it is: %s" % (s.hostname, result["kept"])


def test_cloudflare_record_gone_between_read_and_delete_is_deleted(standin):
    """A retry after a lost answer meets Cloudflare's 404 81044: the record is gone, as asked."""
    s = _seed(standin, "cloudflare", {"A": [OLD4]})
    provider = _ddns.make_provider(s)
    assert provider.read_many(["A"]) == {"A": OLD4}
    standin.add_host(s.hostname, "cloudflare", {})  # removed meanwhile: its id is unknown now
    assert provider.delete_many(["A"]).answer == "deleted"


def test_cloudflare_delete_retried_after_5xx(standin):
    s = _seed(standin, "cloudflare", {"A": [OLD4]})
    provider = _ddns.make_provider(s)
    provider.read_many(["A"])
    standin.behave(s.hostname, "5xx", times=1, status=502)
    slept = []
    _ddns.with_retries(lambda: provider.delete_many(["A"]), max_retries=2, max_wait=5, sleep=slept.append)
    assert slept == [5]
    assert standin.records(s.hostname)["A"] == []


@pytest.mark.parametrize("provider", DELETING + ["duckdns"])
def test_delete_with_a_wrong_secret_never_shows_it(standin, provider):
    wrong = {"cloudflare": dict(token="wrong-secret-1"), "porkbun": dict(secret_api_key="wrong-secret-1"),
             "duckdns": dict(token="wrong-secret-1")}[provider]
    _seed(standin, provider, {"A": [OLD4], "AAAA": [OLD6]})
    s = _settings(standin, provider, **wrong)
    with pytest.raises(_ddns.DdnsError) as info:
        _ddns.run_delete(s)
    assert info.value.kind == "auth"
    assert "wrong-secret-1" not in str(info.value)
    _no_secret(info.value.partial)
