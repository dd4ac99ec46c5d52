# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The DDNS stand-in as a program: command line, control endpoints, DNS answers, state file."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import urllib.error
import urllib.request

import dns.message
import dns.query
import dns.rcode
import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
STANDIN = os.path.join(REPO, "tests", "lab", "standins", "ddns", "ddns_standin.py")


@pytest.fixture
def proc(tmp_path):
    state = tmp_path / "state.json"
    p = subprocess.Popen([sys.executable, STANDIN, "--dns-port", "0", "--state", str(state), "--desec-interval", "60"],
                         stdout=subprocess.PIPE, text=True)
    ports = json.loads(p.stdout.readline())
    p.base = "http://127.0.0.1:%d" % ports["http_port"]
    p.dns_port = ports["dns_port"]
    p.state_file = state
    yield p
    p.terminate()
    p.wait(5)


def _call(url, data=None, method=None, headers=None):
    body = json.dumps(data).encode() if data is not None else None
    request = urllib.request.Request(url, data=body, method=method or ("POST" if body else "GET"), headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=5) as r:
            return r.status, dict(r.headers), r.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read().decode()


def _basic(user, password, agent="Lab Tester/1.0 admin@lab.test"):
    return {"Authorization": "Basic " + base64.b64encode(("%s:%s" % (user, password)).encode()).decode(),
            "User-Agent": agent}


@pytest.mark.parametrize("agent, answer", [
    ("Lab Tester/1.0 admin@lab.test", "good"),
    ("homelab.jellyfin_remote ddns_update/0.1.0 admin@lab.test", "good"),
    ("homelab.jellyfin_remote/0.1.0 ddns_update", "badagent"),  # no contact
    ("Python-urllib/3.11", "badagent"),
])
def test_noip_wants_a_client_user_agent(proc, agent, answer):
    """No-IP disables clients without "Company Program/Version contact-email" (badagent)."""
    _call(proc.base + "/_standin/hosts", {"hostname": "a.noip.test", "provider": "noip", "records": {"A": ["192.0.2.1"]}})
    url = proc.base + "/noip/nic/update?hostname=a.noip.test&myip=198.51.100.7"
    assert _call(url, headers=_basic("labuser", "labpass", agent))[2].split()[0] == answer
    # the other dyndns2 providers do not ask
    _call(proc.base + "/_standin/hosts", {"hostname": "a.dynu.test", "provider": "dynu", "records": {"A": ["192.0.2.1"]}})
    assert _call(proc.base + "/dynu/nic/update?hostname=a.dynu.test&myip=198.51.100.7",
                 headers=_basic("labuser", "labpass", agent))[2].split()[0] in ("good", "nochg")


def test_dyndns2_answers_and_counts(proc):
    _call(proc.base + "/_standin/hosts", {"hostname": "h.noip.test", "provider": "noip", "records": {"A": ["192.0.2.1"]}})
    url = proc.base + "/noip/nic/update?hostname=h.noip.test&myip=198.51.100.7"
    assert _call(url, headers=_basic("labuser", "labpass"))[2] == "good 198.51.100.7"
    assert _call(url, headers=_basic("labuser", "labpass"))[2] == "nochg 198.51.100.7"
    assert _call(url, headers=_basic("labuser", "nope"))[2] == "badauth"
    assert _call(proc.base + "/noip/nic/update?hostname=x.noip.test&myip=1.2.3.4", headers=_basic("labuser", "labpass"))[2] == "nohost"
    stats = json.loads(_call(proc.base + "/_standin/stats")[2])
    assert stats["noip"]["updates"] == 4 and stats["noip"]["changes"] == 1


def test_dns_answers_records_and_counts_reads(proc):
    _call(proc.base + "/_standin/hosts", {"hostname": "h.duckdns.org", "provider": "duckdns", "records": {"A": ["192.0.2.1"], "AAAA": ["2001:db8::1"]}})
    answer = dns.query.udp(dns.message.make_query("h.duckdns.org", "AAAA"), "127.0.0.1", port=proc.dns_port, timeout=2)
    assert [r.address for rrset in answer.answer for r in rrset] == ["2001:db8::1"]
    missing = dns.query.udp(dns.message.make_query("nope.duckdns.org", "A"), "127.0.0.1", port=proc.dns_port, timeout=2)
    assert missing.rcode() == dns.rcode.NXDOMAIN
    stats = json.loads(_call(proc.base + "/_standin/stats")[2])
    assert stats["duckdns"]["reads"] == 1 and stats["dns"]["reads"] == 1


def test_duckdns_verbose(proc):
    _call(proc.base + "/_standin/hosts", {"hostname": "h.duckdns.org", "provider": "duckdns"})
    ok = _call(proc.base + "/update?domains=h&token=labtoken&ip=198.51.100.7&verbose=true")[2]
    assert ok.splitlines() == ["OK", "198.51.100.7", "", "UPDATED"]
    assert _call(proc.base + "/update?domains=h&token=labtoken&ip=198.51.100.7&verbose=true")[2].endswith("NOCHANGE")
    assert _call(proc.base + "/update?domains=h&token=bad&ip=198.51.100.7")[2] == "KO"


def test_desec_rate_limit_and_preserve(proc):
    _call(proc.base + "/_standin/hosts", {"hostname": "h.dedyn.io", "provider": "desec", "records": {"A": ["192.0.2.1"], "AAAA": ["2001:db8::1"]}})
    url = proc.base + "/desec/nic/update?hostname=h.dedyn.io&myipv4=198.51.100.7&myipv6=preserve"
    assert _call(url, headers=_basic("h.dedyn.io", "labtoken"))[:3:2] == (200, "good")
    status, headers, _ = _call(url, headers=_basic("h.dedyn.io", "labtoken"))
    assert status == 429 and int(headers["Retry-After"]) >= 59
    records = json.loads(_call(proc.base + "/_standin/records")[2])["hosts"]["h.dedyn.io"]["records"]
    assert records == {"A": ["198.51.100.7"], "AAAA": ["2001:db8::1"]}
    assert _call(url, headers=_basic("h.dedyn.io", "wrong"))[0] == 401


def test_scripted_behaviour_times(proc):
    _call(proc.base + "/_standin/hosts", {"hostname": "h.noip.test", "provider": "noip"})
    _call(proc.base + "/_standin/behaviour", {"hostname": "h.noip.test", "behaviour": "911", "times": 1})
    url = proc.base + "/noip/nic/update?hostname=h.noip.test&myip=198.51.100.7"
    assert _call(url, headers=_basic("labuser", "labpass"))[2] == "911"
    assert _call(url, headers=_basic("labuser", "labpass"))[2].startswith("good")
    assert _call(proc.base + "/_standin/behaviour", {"hostname": "h", "behaviour": "explode"})[0] == 400


def test_state_survives_restart(proc, tmp_path):
    _call(proc.base + "/_standin/hosts", {"hostname": "h.nc.test", "provider": "namecheap", "records": {"A": ["192.0.2.1"]}})
    proc.terminate()
    proc.wait(5)
    saved = json.loads(proc.state_file.read_text())
    assert saved["hosts"]["h.nc.test"]["records"]["A"] == ["192.0.2.1"]


def test_cloudflare_and_porkbun_auth(proc):
    status, _, body = _call(proc.base + "/client/v4/zones?name=x.test", headers={"Authorization": "Bearer wrong"})
    assert status == 403 and json.loads(body)["errors"][0]["code"] == 10000
    status, _, body = _call(proc.base + "/api/json/v3/dns/retrieveByNameType/x.test/A/h", {"apikey": "a", "secretapikey": "b"})
    assert status == 400 and json.loads(body)["status"] == "ERROR"


def test_cloudflare_delete_by_record_id_then_404_envelope(proc):
    bearer = {"Authorization": "Bearer labtoken"}
    zone = json.loads(_call(proc.base + "/_standin/zones", {"name": "cf.test", "provider": "cloudflare"})[2])["id"]
    _call(proc.base + "/_standin/hosts", {"hostname": "h.cf.test", "provider": "cloudflare", "records": {"A": ["192.0.2.1"]}})
    listed = json.loads(_call(proc.base + "/client/v4/zones/%s/dns_records?name=h.cf.test&type=A" % zone, headers=bearer)[2])
    rid = listed["result"][0]["id"]
    status, _, body = _call(proc.base + "/client/v4/zones/%s/dns_records/%s" % (zone, rid), method="DELETE", headers=bearer)
    assert status == 200 and json.loads(body) == {"success": True, "errors": [], "messages": [], "result": {"id": rid}}
    assert json.loads(_call(proc.base + "/client/v4/zones/%s/dns_records?name=h.cf.test" % zone, headers=bearer)[2])["result"] == []
    # the same id again, and an id that never existed: Cloudflare's 404 envelope
    for record_id in (rid, "0" * 32):
        status, _, body = _call(proc.base + "/client/v4/zones/%s/dns_records/%s" % (zone, record_id), method="DELETE", headers=bearer)
        assert status == 404
        assert json.loads(body) == {"success": False, "errors": [{"code": 81044, "message": "Record does not exist."}],
                                    "messages": [], "result": None}
    status, _, _ = _call(proc.base + "/client/v4/zones/%s/dns_records/%s" % (zone, rid), method="DELETE",
                         headers={"Authorization": "Bearer wrong"})
    assert status == 403


def test_porkbun_delete_by_name_and_type(proc):
    keys = {"apikey": "pk1_lab", "secretapikey": "sk1_lab"}
    _call(proc.base + "/_standin/zones", {"name": "pb.test", "provider": "porkbun"})
    _call(proc.base + "/_standin/hosts", {"hostname": "h.pb.test", "provider": "porkbun",
                                          "records": {"A": ["192.0.2.1"], "AAAA": ["2001:db8::1"]}})
    status, _, body = _call(proc.base + "/api/json/v3/dns/deleteByNameType/pb.test/A/h", keys)
    assert status == 200 and json.loads(body) == {"status": "SUCCESS"}
    records = json.loads(_call(proc.base + "/_standin/records")[2])["hosts"]["h.pb.test"]["records"]
    assert records == {"A": [], "AAAA": ["2001:db8::1"]}
    left = json.loads(_call(proc.base + "/api/json/v3/dns/retrieveByNameType/pb.test/A/h", keys)[2])
    assert left["records"] == []
    status, _, body = _call(proc.base + "/api/json/v3/dns/deleteByNameType/pb.test/A/h", {"apikey": "pk1_lab", "secretapikey": "x"})
    assert status == 400 and json.loads(body)["message"] == "Invalid API key. (002)"
    status, _, body = _call(proc.base + "/api/json/v3/dns/deleteByNameType/other.test/A/h", keys)
    assert status == 400 and json.loads(body)["message"] == "Invalid domain."


def test_duckdns_clear_empties_both_records_and_keeps_the_name(proc):
    _call(proc.base + "/_standin/hosts", {"hostname": "h.duckdns.org", "provider": "duckdns",
                                          "records": {"A": ["192.0.2.1"], "AAAA": ["2001:db8::1"]}})
    ok = _call(proc.base + "/update?domains=h&token=labtoken&clear=true&verbose=true")[2]
    assert ok.splitlines() == ["OK", "", "", "UPDATED"]
    assert _call(proc.base + "/update?domains=h&token=labtoken&clear=true&verbose=true")[2].splitlines()[-1] == "NOCHANGE"
    hosts = json.loads(_call(proc.base + "/_standin/records")[2])["hosts"]
    assert hosts["h.duckdns.org"]["records"] == {"A": [], "AAAA": []}
    assert _call(proc.base + "/update?domains=h&token=bad&clear=true")[2] == "KO"
