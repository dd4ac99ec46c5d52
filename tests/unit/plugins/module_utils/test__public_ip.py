from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time

import pytest

from harness import NonLoopbackTraffic
from standins.network import DnsStandIn, HttpEcho, TcpBlackHole, make_test_ca

from ansible_collections.homelab.jellyfin_remote.plugins.module_utils import _public_ip as pip

# Addresses from the documentation ranges stand in for "public" ones; the tests that use
# them pass LAB as allow_ranges, exactly as a lab would.
V4 = "203.0.113.7"
V4_OTHER = "198.51.100.9"
V6 = "2001:db8::7"
LAB = pip.parse_ranges(["203.0.113.0/24", "198.51.100.0/24", "2001:db8::/32"])

CLIENTS = ["builtin"] + (["dnspython"] if pip.HAS_DNSPYTHON else [])


@pytest.fixture
def servers():
    started = []

    def start(factory, *args, **kwargs):
        server = factory(*args, **kwargs)
        started.append(server)
        return server

    yield start
    for server in started:
        server.close()


def dns(name, server, rdtype, query="myip.test", port=None):
    return pip.dns_source(
        {"name": name, "server": server.host, "port": port or server.port, "query": query, "rdtype": rdtype}
    )


def http(name, url, family=4):
    return pip.http_source({"name": name, "url": url, "family": family})


def deadline_in(seconds=3.0):
    return time.monotonic() + seconds


# --------------------------------------------------------------------------------------
# validation
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, family, expected",
    [
        ("8.8.8.8", 4, "8.8.8.8"),
        (" 8.8.4.4\n", 4, "8.8.4.4"),
        ("2606:4700:4700::1111", 6, "2606:4700:4700::1111"),
        ("2606:4700:4700:0:0:0:0:1111", 6, "2606:4700:4700::1111"),
        ("8.8.8.8", None, "8.8.8.8"),
    ],
)
def test_global_answers_accepted_in_canonical_form(text, family, expected):
    assert pip.validate_answer(text, family) == (expected, None)


@pytest.mark.parametrize(
    "text, family, reason",
    [
        ("10.1.2.3", 4, "private address (RFC 1918)"),
        ("172.16.5.4", 4, "private address (RFC 1918)"),
        ("192.168.1.1", 4, "private address (RFC 1918)"),
        ("100.64.0.1", 4, "shared address space 100.64.0.0/10"),
        ("100.127.255.254", 4, "shared address space 100.64.0.0/10"),
        ("127.0.0.1", 4, "loopback address"),
        ("::1", 6, "loopback address"),
        ("169.254.10.10", 4, "link-local address"),
        ("fe80::1", 6, "link-local address"),
        ("192.0.2.1", 4, "documentation address"),
        ("198.51.100.1", 4, "documentation address"),
        ("203.0.113.1", 4, "documentation address"),
        ("2001:db8::1", 6, "documentation address"),
        ("224.0.0.1", 4, "multicast address"),
        ("ff02::1", 6, "multicast address"),
        ("0.0.0.0", 4, "unspecified address"),
        ("::", 6, "unspecified address"),
        ("fd00::1", 6, "unique local address (fc00::/7)"),
        ("::ffff:8.8.8.8", 6, "IPv4-mapped IPv6 address"),
        ("240.0.0.1", 4, "not globally routable"),
    ],
)
def test_non_global_answers_rejected(text, family, reason):
    address, error = pip.validate_answer(text, family)
    assert address is None
    assert error.startswith("rejected: ")
    assert reason in error


@pytest.mark.parametrize("text", ["hello", "", "<html>8.8.8.8</html>", "8.8.8.8.8", "1.2.3.4/24"])
def test_garbage_is_not_an_ip_address(text):
    assert pip.validate_answer(text, 4) == (None, "not an IP address")


def test_wrong_family_rejected():
    assert pip.validate_answer("8.8.8.8", 6) == (None, "IPv4 address from an IPv6 source")
    assert pip.validate_answer("2606:4700::1", 4) == (None, "IPv6 address from an IPv4 source")


def test_allow_ranges_make_lab_addresses_count():
    assert pip.validate_answer(V4, 4, LAB) == (V4, None)
    assert pip.validate_answer("2001:DB8:0::7", 6, LAB) == (V6, None)
    assert pip.validate_answer("192.0.2.1", 4, LAB)[0] is None  # not in LAB


def test_parse_ranges_names_the_bad_entry():
    with pytest.raises(ValueError, match="'not-a-net' is not a CIDR range"):
        pip.parse_ranges(["10.0.0.0/8", "not-a-net"])


# --------------------------------------------------------------------------------------
# source definitions
# --------------------------------------------------------------------------------------


def test_defaults_are_the_documented_public_services():
    sources = pip.build_sources()
    by_name = {s.name: s for s in sources}
    assert {s.server for s in sources if s.kind == "dns"} >= {"208.67.222.222", "208.67.220.220", "216.239.32.10"}
    assert by_name["google_txt4"].query == "o-o.myaddr.l.google.com" and by_name["google_txt4"].family == 4
    assert by_name["google_txt6"].family == 6
    assert by_name["opendns1_aaaa"].family == 6 and by_name["opendns1_aaaa"].query == "myip.opendns.com"
    urls = {s.url for s in sources if s.kind == "http"}
    assert {"https://api.ipify.org", "https://api6.ipify.org", "https://checkip.amazonaws.com"} <= urls
    assert any("icanhazip.com" in u for u in urls)


def test_ip_versions_filter_and_empty_lists_disable():
    only4 = pip.build_sources(ip_versions=(4,))
    assert only4 and all(s.family == 4 for s in only4)
    assert pip.build_sources([], [], None) == []
    extra = pip.build_sources([], [], ["http://127.0.0.1:1/"], ip_versions=(4,))
    assert [(s.name, s.family) for s in extra] == [("extra1", None)]


@pytest.mark.parametrize(
    "spec, message",
    [
        ({"server": "127.0.0.1", "query": "q", "rdtype": "A"}, "needs a name"),
        (
            {"name": "x", "server": "resolver.example", "query": "q", "rdtype": "A"},
            "'resolver.example' is not an IP address",
        ),
        ({"name": "x", "server": "127.0.0.1", "query": "q", "rdtype": "MX"}, "rdtype 'MX' is not one of A, AAAA, TXT"),
        ({"name": "x", "server": "127.0.0.1", "query": "", "rdtype": "A"}, "query"),
        ({"name": "x", "server": "127.0.0.1", "port": 0, "query": "q", "rdtype": "A"}, "port 0"),
    ],
)
def test_bad_dns_source(spec, message):
    with pytest.raises(ValueError, match=message):
        pip.dns_source(spec)


def test_txt_family_follows_the_server_and_port_defaults():
    assert pip.dns_source({"name": "t", "server": "::1", "query": "q", "rdtype": "TXT"}).family == 6
    source = pip.dns_source({"name": "t", "server": "127.0.0.1", "port": None, "query": "q", "rdtype": "txt"})
    assert (source.family, source.port, source.rdtype) == (4, 53, "TXT")


def test_bad_http_source_and_duplicate_names():
    with pytest.raises(ValueError, match="must start with https:// or http://"):
        pip.http_source({"name": "x", "url": "ftp://127.0.0.1/"})
    with pytest.raises(ValueError, match="family 5"):
        pip.http_source({"name": "x", "url": "http://127.0.0.1/", "family": 5})
    with pytest.raises(ValueError, match="'a' is used twice"):
        pip.build_sources([], [{"name": "a", "url": "http://127.0.0.1/"}, {"name": "a", "url": "http://127.0.0.1/"}])


# --------------------------------------------------------------------------------------
# the network guard itself: a source aimed at a non-loopback address must be refused
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("client", CLIENTS)
def test_guard_refuses_non_loopback_dns(loopback_only, client):
    source = pip.dns_source({"name": "outside", "server": "192.0.2.53", "query": "q", "rdtype": "A"})
    with pytest.raises(NonLoopbackTraffic):
        pip.query_dns(source, deadline_in(1), client)
    assert loopback_only.violations
    loopback_only.violations.clear()


def test_guard_refuses_host_names_and_default_sources(loopback_only):
    with pytest.raises(Exception):
        pip.query_http(http("outside", "http://example.invalid/"), deadline_in(1))
    result = pip.race(pip.build_sources(), timeout=2)
    assert all(r["error"] and "test network guard" in r["error"] for r in result.reports), result.reports
    assert not result.any_accepted
    assert len(loopback_only.violations) >= len(result.reports)
    loopback_only.violations.clear()


# --------------------------------------------------------------------------------------
# DNS wire format and the loopback DNS stand-in
# --------------------------------------------------------------------------------------


def test_decode_ignores_foreign_answers():
    packet = pip.encode_dns_query(0x1234, "myip.test", "A")
    assert pip.decode_dns_response(packet, 0x1234, "A") is None  # a query, not an answer
    assert pip.decode_dns_response(b"\x00" * 5, 0x1234, "A") is None
    assert pip.decode_dns_response(b"\x43\x21\x81\x80" + b"\x00" * 8, 0x1234, "A") is None


def test_encode_rejects_bad_names():
    with pytest.raises(pip.SourceError):
        pip.encode_dns_query(1, "a..b", "A")


@pytest.mark.parametrize("client", CLIENTS)
def test_dns_a_aaaa_txt_from_stand_in(servers, client):
    server = servers(
        DnsStandIn,
        {
            ("myip.test", "A"): [V4],
            ("myip.test", "AAAA"): [V6],
            ("o-o.myaddr.test", "TXT"): ["edns0-client-subnet 198.51.100.0/24", V4_OTHER],
        },
    )
    assert pip.query_dns(dns("a", server, "A"), deadline_in(), client) == V4
    assert pip.query_dns(dns("aaaa", server, "AAAA"), deadline_in(), client) == V6
    assert pip.query_dns(dns("txt", server, "TXT", query="o-o.myaddr.test"), deadline_in(), client) == V4_OTHER
    assert server.queries == [("myip.test", "A"), ("myip.test", "AAAA"), ("o-o.myaddr.test", "TXT")]


@pytest.mark.parametrize("client", CLIENTS)
def test_dns_txt_over_ipv6_loopback_counts_as_ipv6(servers, client):
    server = servers(DnsStandIn, {("o-o.myaddr.test", "TXT"): [V6]}, host="::1")
    source = dns("txt6", server, "TXT", query="o-o.myaddr.test")
    assert source.family == 6
    result = pip.race([source], allow_ranges=LAB, dns_client=client, timeout=3)
    assert result.addresses == {4: None, 6: V6}


@pytest.mark.parametrize("client", CLIENTS)
@pytest.mark.parametrize(
    "mode, message",
    [("servfail", "DNS error SERVFAIL"), ("nxdomain", "DNS error NXDOMAIN"), ("truncated", "truncated DNS answer")],
)
def test_dns_error_answers(servers, client, mode, message):
    server = servers(DnsStandIn, {("myip.test", "A"): [V4]}, mode=mode)
    with pytest.raises(pip.SourceError, match=message):
        pip.query_dns(dns("a", server, "A"), deadline_in(), client)


@pytest.mark.parametrize("client", CLIENTS)
def test_dns_without_the_record(servers, client):
    server = servers(DnsStandIn, {("myip.test", "A"): [V4]})
    with pytest.raises(pip.SourceError, match="no AAAA record"):
        pip.query_dns(dns("aaaa", server, "AAAA"), deadline_in(), client)


@pytest.mark.parametrize("client", CLIENTS)
def test_dns_txt_garbage_is_reported(servers, client):
    server = servers(DnsStandIn, {("myip.test", "TXT"): ["hello there"]})
    result = pip.race([dns("txt", server, "TXT")], dns_client=client, timeout=3)
    assert result.reports[0]["answer"] == "hello there"
    assert result.reports[0]["error"] == "not an IP address"
    assert result.reports[0]["accepted"] is False


@pytest.mark.parametrize("client", CLIENTS)
@pytest.mark.parametrize("rdtype", ["A", "AAAA"])
def test_dns_wrong_record_type_is_not_an_ip_address(servers, client, rdtype):
    server = servers(DnsStandIn, mode="garbage")
    result = pip.race([dns("g", server, rdtype)], dns_client=client, timeout=3)
    assert result.reports[0]["error"] == "not an IP address (the answer holds TXT, not %s)" % rdtype
    assert not result.any_accepted


@pytest.mark.parametrize("client", CLIENTS)
def test_dns_query_is_sent_again_when_udp_loses_it(servers, client):
    server = servers(DnsStandIn, {("myip.test", "A"): [V4]}, mode="drop_first")
    assert pip.query_dns(dns("a", server, "A"), deadline_in(4), client) == V4
    assert server.queries == [("myip.test", "A"), ("myip.test", "A")]


def test_dns_client_name():
    assert pip.dns_client_name("builtin") == "builtin"
    assert pip.dns_client_name("auto") == ("dnspython" if pip.HAS_DNSPYTHON else "builtin")


# --------------------------------------------------------------------------------------
# HTTP(S) echo sources
# --------------------------------------------------------------------------------------


def test_http_echo(servers):
    echo = servers(HttpEcho, V4 + "\n")
    assert pip.query_http(http("e", echo.url), deadline_in()) == V4
    assert echo.requests == ["homelab.jellyfin_remote public_ip"]


def test_https_echo_with_test_ca(servers, tmp_path):
    ca, tls = make_test_ca(tmp_path)
    echo = servers(HttpEcho, V6, tls=tls)
    assert pip.query_http(http("e", echo.url, 6), deadline_in(), ca_path=ca) == V6
    # Without the test CA the certificate is not trusted...
    result = pip.race([http("e", echo.url, 6)], allow_ranges=LAB, timeout=3)
    assert result.addresses[6] is None
    assert "certificate" in result.reports[0]["error"].lower()
    # ...unless certificate checks are off.
    result = pip.race([http("e", echo.url, 6)], allow_ranges=LAB, timeout=3, validate_certs=False)
    assert result.addresses[6] == V6


def test_http_garbage_and_errors(servers):
    garbage = servers(HttpEcho, "<html>hello</html>")
    broken = servers(HttpEcho, "oops", status=500)
    huge = servers(HttpEcho, "1" * 1000)
    result = pip.race(
        [http("garbage", garbage.url), http("broken", broken.url), http("huge", huge.url)], allow_ranges=LAB, timeout=3
    )
    errors = {r["name"]: r["error"] for r in result.reports}
    assert errors["garbage"] == "not an IP address"
    assert errors["broken"] == "HTTP error 500"
    assert errors["huge"].startswith("not an IP address")
    assert result.addresses == {4: None, 6: None}
    assert not result.any_accepted


# --------------------------------------------------------------------------------------
# the race
# --------------------------------------------------------------------------------------


def test_first_valid_answer_wins_and_families_are_separate(servers):
    dns_server = servers(DnsStandIn, {("myip.test", "A"): [V4], ("myip.test", "AAAA"): [V6]})
    echo = servers(HttpEcho, V4)
    sources = [dns("a", dns_server, "A"), dns("aaaa", dns_server, "AAAA"), http("e", echo.url)]
    result = pip.race(sources, allow_ranges=LAB, timeout=5)
    assert result.addresses == {4: V4, 6: V6}
    assert result.disagreement == {4: [], 6: []}
    accepted = {r["name"]: r for r in result.reports if r["accepted"]}
    assert accepted["aaaa"]["family"] == 6 and accepted["aaaa"]["kind"] == "dns"
    for report in result.reports:
        assert set(report) == {"name", "kind", "family", "answer", "latency_ms", "error", "accepted"}


def test_private_and_shared_answers_rejected_valid_one_wins(servers):
    private = servers(HttpEcho, "192.168.1.20")
    shared = servers(HttpEcho, "100.80.1.2")
    good = servers(DnsStandIn, {("myip.test", "A"): [V4]})
    sources = [http("private", private.url), http("shared", shared.url), dns("good", good, "A")]
    result = pip.race(sources, ip_versions=(4,), allow_ranges=LAB, min_agreement=1, timeout=5)
    assert result.addresses[4] == V4
    reports = {r["name"]: r for r in result.reports}
    for name in ("private", "shared"):
        if reports[name]["latency_ms"] is not None:  # it may not have been waited for
            assert reports[name]["accepted"] is False
            assert reports[name]["error"].startswith("rejected: ")


def test_only_private_and_shared_answers_give_nothing(servers):
    private = servers(HttpEcho, "10.0.0.8")
    shared = servers(DnsStandIn, {("myip.test", "A"): ["100.64.3.3"]})
    result = pip.race([http("private", private.url), dns("shared", shared, "A")], ip_versions=(4,), timeout=3)
    assert result.addresses[4] is None
    errors = sorted(r["error"] for r in result.reports)
    assert errors == [
        "rejected: private address (RFC 1918)",
        "rejected: shared address space 100.64.0.0/10 (carrier-grade NAT or a VPN mesh)",
    ]


def _scripted(answers):
    """A fetch() that answers from {name: (delay_s, answer or exception)}."""

    def fetch(source, deadline):
        delay, answer = answers[source.name]
        time.sleep(delay)
        if isinstance(answer, Exception):
            raise answer
        return answer

    return fetch


def _sources(*names, family=4):
    return [pip.Source(n, "http", family, url="http://127.0.0.1/") for n in names]


def test_disagreement_is_reported_and_min_agreement_waits_for_two():
    answers = {"a": (0.0, V4_OTHER), "b": (0.3, V4), "c": (0.6, V4), "d": (3.0, V4)}
    result = pip.race(
        _sources("a", "b", "c", "d"),
        ip_versions=(4,),
        min_agreement=2,
        allow_ranges=LAB,
        fetch=_scripted(answers),
        timeout=5,
    )
    assert result.addresses[4] == V4
    assert result.disagreement[4] == [V4_OTHER, V4]
    assert [r["accepted"] for r in result.reports] == [True, True, True, False]
    assert result.reports[3]["error"] == "not waited for: the result was already settled"


def test_min_agreement_one_takes_the_first_answer():
    answers = {"a": (0.0, V4_OTHER), "b": (0.5, V4)}
    result = pip.race(_sources("a", "b"), ip_versions=(4,), allow_ranges=LAB, fetch=_scripted(answers), timeout=5)
    assert result.addresses[4] == V4_OTHER
    assert result.reports[1]["latency_ms"] is None


def test_min_agreement_not_reached_leaves_the_family_unsettled():
    answers = {"a": (0.0, V4_OTHER), "b": (0.1, V4), "c": (0.2, pip.SourceError("DNS error SERVFAIL"))}
    result = pip.race(
        _sources("a", "b", "c"),
        ip_versions=(4,),
        min_agreement=2,
        allow_ranges=LAB,
        fetch=_scripted(answers),
        timeout=5,
    )
    assert result.addresses[4] is None
    assert result.settled[4] is False
    assert result.any_accepted
    assert sorted(result.disagreement[4]) == sorted([V4, V4_OTHER])


def test_extra_url_counts_for_the_family_it_answers():
    sources = [pip.Source("extra1", "http", None, url="http://127.0.0.1/")]
    result = pip.race(sources, allow_ranges=LAB, fetch=_scripted({"extra1": (0, V6)}), timeout=5)
    assert result.addresses == {4: None, 6: V6}
    assert result.reports[0]["family"] == 6
    result = pip.race(sources, ip_versions=(4,), allow_ranges=LAB, fetch=_scripted({"extra1": (0, V6)}), timeout=5)
    assert result.addresses[4] is None
    assert result.reports[0]["error"] == "IPv6 answer, but ip_versions does not ask for it"


def test_all_sources_down_is_offline_not_an_error(servers):
    closed = servers(DnsStandIn)  # bound, then closed: the port refuses
    closed.close()
    silent = servers(DnsStandIn, mode="silent")
    refused_http = "http://127.0.0.1:%d/" % closed.port
    sources = [dns("closed", closed, "A"), dns("silent", silent, "A"), http("refused", refused_http)]
    started = time.monotonic()
    result = pip.race(sources, timeout=1.0)
    assert time.monotonic() - started < 4
    assert result.addresses == {4: None, 6: None}
    assert not result.any_accepted
    assert all(r["error"] for r in result.reports)
    assert {r["name"]: r["error"] for r in result.reports}["silent"] == "no answer within the time budget"
    assert pip.classify(None, None, None, any_answer=False, timeout=1.0)[0] == "offline"


def test_black_holes_do_not_delay_the_healthy_answer(servers):
    """Black holes never answer; the healthy source must settle the race long before 5 s."""
    udp_hole = servers(DnsStandIn, {("myip.test", "A"): [V4]}, mode="silent")
    tcp_hole = servers(TcpBlackHole)
    healthy = servers(DnsStandIn, {("myip.test", "A"): [V4]})
    sources = [dns("udp_hole", udp_hole, "A"), http("tcp_hole", tcp_hole.url), dns("healthy", healthy, "A")]
    started = time.monotonic()
    result = pip.race(sources, ip_versions=(4,), allow_ranges=LAB, timeout=5)
    elapsed = time.monotonic() - started
    assert result.addresses[4] == V4
    assert elapsed < 2.5
    reports = {r["name"]: r for r in result.reports}
    assert reports["healthy"]["accepted"] is True
    for name in ("udp_hole", "tcp_hole"):
        assert reports[name]["error"] == "not waited for: the result was already settled"
    give_up = time.monotonic() + 5  # the black hole was asked (maybe after the race ended), never answered
    while not udp_hole.queries and time.monotonic() < give_up:
        time.sleep(0.01)
    assert udp_hole.queries
    # The still-running source threads are daemons: they cannot keep a process alive.
    stragglers = [t for t in threading.enumerate() if t.name.startswith("public_ip:")]
    assert all(t.daemon for t in stragglers)


_CHILD = """
import sys
from ansible_collections.homelab.jellyfin_remote.plugins.module_utils import _public_ip as pip
hole, healthy = int(sys.argv[1]), int(sys.argv[2])
sources = [
    pip.dns_source({"name": "hole", "server": "127.0.0.1", "port": hole, "query": "myip.test", "rdtype": "A"}),
    pip.dns_source({"name": "ok", "server": "127.0.0.1", "port": healthy, "query": "myip.test", "rdtype": "A"}),
]
result = pip.race(sources, ip_versions=(4,), allow_ranges=pip.parse_ranges(["203.0.113.0/24"]), timeout=5)
print(result.addresses[4])
sys.exit(0)
"""


def test_process_exits_without_waiting_for_black_holes(servers):
    """The module process ends right after the answer: the black hole's thread is a daemon."""
    hole = servers(DnsStandIn, mode="silent")
    healthy = servers(DnsStandIn, {("myip.test", "A"): [V4]})
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p.endswith("collections")))
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, str(hole.port), str(healthy.port)],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == V4
    assert time.monotonic() - started < 4.5  # the black hole alone would hold it for 5 s
    # The query reached the black hole; on a busy machine the stand-in's thread in this
    # process may read it only after the child has exited.
    deadline = time.monotonic() + 2
    while not hole.queries and time.monotonic() < deadline:
        time.sleep(0.01)
    assert hole.queries


def test_budget_spent_reports_timeouts(servers):
    hole = servers(TcpBlackHole)
    started = time.monotonic()
    result = pip.race([http("hole", hole.url)], timeout=0.5)
    assert time.monotonic() - started < 2.5
    assert result.reports[0]["error"] == "no answer within the time budget"
    assert result.addresses[4] is None


def test_settled_family_is_not_waited_for_while_the_other_times_out():
    answers = {"v4": (0.0, V4), "v4_slow": (3.0, V4), "v6_slow": (3.0, V6)}
    sources = _sources("v4", "v4_slow") + _sources("v6_slow", family=6)
    result = pip.race(sources, allow_ranges=LAB, fetch=_scripted(answers), timeout=0.5)
    errors = {r["name"]: r["error"] for r in result.reports}
    assert errors == {
        "v4": None,
        "v4_slow": "not waited for: the result was already settled",
        "v6_slow": "no answer within the time budget",
    }
    assert result.addresses == {4: V4, 6: None}


def test_family_without_sources_does_not_wait(servers):
    echo = servers(HttpEcho, V4)
    hole = servers(TcpBlackHole)
    # IPv6 is requested but only an IPv4 source exists besides a black hole for IPv4.
    result = pip.race([http("e", echo.url), http("hole", hole.url)], allow_ranges=LAB, timeout=5)
    assert result.addresses == {4: V4, 6: None}


# --------------------------------------------------------------------------------------
# host interfaces
# --------------------------------------------------------------------------------------

IP_JSON = json.dumps(
    [
        {"ifname": "lo", "addr_info": [{"family": "inet", "local": "127.0.0.1"}, {"family": "inet6", "local": "::1"}]},
        {
            "ifname": "eth0",
            "addr_info": [
                {"family": "inet", "local": "192.168.1.10", "scope": "global"},
                {"family": "inet6", "local": "2a01:4f8:1:2::10", "scope": "global"},
                {"family": "inet6", "local": "fe80::1", "scope": "link"},
                {"family": "inet6", "local": "2a01:4f8:1:2::99", "scope": "global", "tentative": True},
            ],
        },
        {
            "ifname": "tailscale0",
            "addr_info": [
                {"family": "inet", "local": "100.101.102.103"},
                {"family": "inet6", "local": "fd7a:115c:a1e0::1"},
            ],
        },
        {"ifname": "CloudflareWARP", "addr_info": [{"family": "inet", "local": "100.96.0.2"}]},
        {"ifname": "wg0", "addr_info": [{"family": "inet", "local": "100.90.0.1"}]},
        {"ifname": "docker0", "addr_info": [{"family": "inet", "local": "172.17.0.1"}]},
        {"ifname": "br-1a2b", "addr_info": [{"family": "inet", "local": "8.8.8.8"}]},
        {"ifname": "eno2", "flags": [], "addr_info": []},
        {"ifname": "can0"},
    ]
)


def test_parse_ip_json_addr():
    pairs = pip.parse_ip_json_addr(IP_JSON)
    assert ("eth0", "192.168.1.10") in pairs
    assert ("tailscale0", "100.101.102.103") in pairs
    assert ("eth0", "2a01:4f8:1:2::99") not in pairs  # tentative
    with pytest.raises(ValueError, match="not JSON"):
        pip.parse_ip_json_addr("inet 1.2.3.4")


def test_tailscale_and_warp_addresses_are_ignored():
    host = pip.host_addresses(pip.parse_ip_json_addr(IP_JSON))
    assert host.shared_addresses == []  # tailscale0, CloudflareWARP and wg0 never count
    assert host.global_addresses == [("eth0", "2a01:4f8:1:2::10")]
    assert host.has_global(6) and not host.has_global(4)


def test_shared_address_on_a_real_interface_counts_and_can_be_ignored():
    pairs = [("wwan0", "100.70.1.2"), ("eth0", "192.168.1.10")]
    assert pip.host_addresses(pairs).shared_addresses == [("wwan0", "100.70.1.2")]
    assert pip.host_addresses(pairs, ignore_interfaces=["wwan*"]).shared_addresses == []


@pytest.mark.parametrize(
    "name, ignored",
    [
        ("tailscale0", True),
        ("wg0", True),
        ("CloudflareWARP", True),
        ("veth12ab", True),
        ("docker0", True),
        ("podman1", True),
        ("cni0", True),
        ("br-3f2e", True),
        ("virbr0", True),
        ("lo", True),
        ("eth0", False),
        ("enp3s0", False),
        ("wlan0", False),
        ("br0", False),
        ("lo2", False),
    ],
)
def test_interface_ignored(name, ignored):
    assert pip.interface_ignored(name) is ignored


# --------------------------------------------------------------------------------------
# UPnP (a fake miniupnpc: the real one would send SSDP multicast)
# --------------------------------------------------------------------------------------


class FakeMiniupnpc:
    def __init__(self, devices=1, address="100.72.14.9", fail=None):
        self.devices, self.address, self.fail = devices, address, fail
        fake = self

        class UPnP:
            discoverdelay = 0

            def discover(self):
                fake.delay = self.discoverdelay
                return fake.devices

            def selectigd(self):
                if fake.fail:
                    raise Exception(fake.fail)

            def externalipaddress(self):
                return fake.address

        self.UPnP = UPnP


@pytest.mark.parametrize(
    "fake, expected",
    [
        (FakeMiniupnpc(), "100.72.14.9"),
        (FakeMiniupnpc(devices=0), None),
        (FakeMiniupnpc(fail="No UPnP device discovered"), None),
        (FakeMiniupnpc(address=""), pip.NO_EXTERNAL_ADDRESS),
        (FakeMiniupnpc(address="0.0.0.0"), pip.NO_EXTERNAL_ADDRESS),
        (FakeMiniupnpc(address="not an address"), None),
        (FakeMiniupnpc(address="2001:db8::1"), None),
    ],
)
def test_upnp_external_address(fake, expected):
    assert pip.upnp_external_address(fake, 5) == expected


def test_upnp_discover_delay_fits_the_budget():
    fake = FakeMiniupnpc()
    pip.upnp_external_address(fake, 1.0)
    assert fake.delay == 500


def test_upnp_with_an_ssdp_answer_reads_that_description_and_skips_discovery():
    class Client:
        selected = []

        def discover(self):
            raise AssertionError("miniupnpc's discovery ran although the search had found the router")

        def selectigd(self, location=None):
            Client.selected.append(location)

        def externalipaddress(self):
            return "100.72.14.9"

    fake = type(sys)("miniupnpc")
    fake.UPnP = Client
    waits = []

    def locate(timeout):
        waits.append(timeout)
        return "http://192.168.1.1:5000/rootDesc.xml"

    assert pip.upnp_external_address(fake, 1.0, locate) == "100.72.14.9"
    assert Client.selected == ["http://192.168.1.1:5000/rootDesc.xml"] and waits == [0.5]


def test_upnp_silence_in_the_search_is_no_router_without_a_second_wait():
    fake = FakeMiniupnpc()
    assert pip.upnp_external_address(fake, 5, lambda timeout: None) is None
    assert not hasattr(fake, "delay")  # discover() never ran


def test_upnp_an_unreadable_description_falls_back_to_discovery():
    fake = FakeMiniupnpc()
    fallback = fake.UPnP

    class Client(fallback):
        def selectigd(self, location=None):
            if location is not None:
                raise Exception("No UPnP device discovered")

    fake.UPnP = Client
    assert pip.upnp_external_address(fake, 5, lambda timeout: "http://192.168.1.1:5000/gone.xml") == "100.72.14.9"
    assert fake.delay == 2000


def test_import_miniupnpc_missing():
    assert pip.import_miniupnpc() is None  # the guard makes the import fail


# --------------------------------------------------------------------------------------
# WAN choice and classification
# --------------------------------------------------------------------------------------


def _host(*pairs):
    return pip.host_addresses(list(pairs), LAB)


def _classify(wan_source, ipv4=V4, ipv6=None, value=None, host=None, upnp=None, versions=(4, 6)):
    wan, used, label = pip.choose_wan(wan_source, ipv4, value, host, upnp)
    return pip.classify(ipv4, ipv6, wan, host=host, ip_versions=versions, wan_label=label), wan, used


def test_public_when_the_host_holds_the_address():
    (kind, forwarding, text), wan, used = _classify("auto", host=_host(("eth0", V4)), upnp="100.72.1.1")
    assert (kind, forwarding, wan, used) == ("public", True, V4, "interfaces")
    assert "on eth0" in text


def test_nat_when_wan_equals_public():
    (kind, forwarding, text), wan, used = _classify("auto", host=_host(("eth0", "192.168.1.10")), upnp=V4)
    assert (kind, forwarding, wan, used) == ("nat", True, V4, "upnp")
    assert "port forward" in text


def test_cgnat_when_wan_is_shared_space():
    (kind, forwarding, text), wan, used = _classify("value", value="100.72.14.9")
    assert (kind, forwarding, used) == ("cgnat", False, "value")
    assert "100.64.0.0/10" in text and "cannot work" in text


def test_cgnat_when_wan_differs_from_public():
    (kind, forwarding, text), _wan, _used = _classify("value", value=V4_OTHER)
    assert (kind, forwarding) == ("cgnat", False)
    assert "differs" in text


def test_double_nat_needs_two_forwards():
    (kind, forwarding, text), _wan, _used = _classify("upnp", upnp="192.168.0.2")
    assert (kind, forwarding) == ("double_nat", False)
    assert "both routers" in text


def test_unknown_without_wan_information():
    (kind, forwarding, text), wan, used = _classify("auto", host=_host(("eth0", "192.168.1.10")))
    assert (kind, forwarding, wan, used) == ("unknown", None, None, None)
    assert "wan_source=value" in text
    assert _classify("none", value=None)[0][0] == "unknown"


def test_tailscale_address_never_makes_cgnat():
    pairs = pip.parse_ip_json_addr(IP_JSON)
    host = pip.host_addresses(pairs, LAB)
    (kind, forwarding, _text), wan, _used = _classify("auto", host=host)
    assert kind == "unknown" and forwarding is None and wan is None
    (kind, _f, _t), _wan, _used = _classify("interfaces", host=host)
    assert kind == "unknown"
    (kind, _f, _t), _wan, _used = _classify("auto", host=host, upnp=V4)
    assert kind == "nat"


def test_shared_address_on_the_uplink_is_cgnat():
    (kind, forwarding, text), wan, used = _classify("auto", host=_host(("wwan0", "100.70.1.2")))
    assert (kind, forwarding, wan, used) == ("cgnat", False, "100.70.1.2", "interfaces")
    assert "wwan0" in text


def test_offline_and_unsettled_ipv4():
    assert pip.classify(None, None, None, any_answer=False)[:2] == ("offline", None)
    kind, forwarding, text = pip.classify(None, V6, "100.72.1.1", any_answer=True)
    assert (kind, forwarding) == ("unknown", None)
    assert V6 in text


def test_ipv6_only_lookup():
    host = _host(("eth0", V6))
    assert pip.classify(None, V6, None, host=host, ip_versions=(6,))[:2] == ("public", True)
    assert pip.classify(None, V6, None, host=None, ip_versions=(6,))[:2] == ("unknown", None)


def test_classifications_cover_the_documented_set():
    assert set(pip.CLASSIFICATIONS) == {"public", "nat", "cgnat", "double_nat", "unknown", "offline"}


def test_job_reports_results_and_errors():
    ok = pip.run_daemon(lambda: 42)
    assert ok.wait(time.monotonic() + 2) == (42, None)
    boom = pip.run_daemon(lambda: 1 / 0)
    value, error = boom.wait(time.monotonic() + 2)
    assert value is None and isinstance(error, ZeroDivisionError)
    never = threading.Event()
    slow = pip.run_daemon(never.wait)
    assert slow.thread.daemon
    assert slow.wait(time.monotonic() + 0.05) is None
    never.set()


def test_router_without_usable_external_address_is_cgnat():
    """miniupnpd behind a carrier: empty NewExternalIPAddress while the internet answers."""
    (kind, forwarding, text), wan, used = _classify("auto", upnp=pip.NO_EXTERNAL_ADDRESS)
    assert (kind, forwarding, used) == ("cgnat", False, "upnp")
    assert "reports no usable external address" in text and V4 in text


def test_no_router_at_all_stays_unknown():
    (kind, forwarding, _text), wan, used = _classify("auto", upnp=None)
    assert (kind, forwarding, wan, used) == ("unknown", None, None, None)
