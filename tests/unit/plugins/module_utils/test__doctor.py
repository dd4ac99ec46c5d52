# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The doctor's findings from what it read, its table, and its textfile read back by the
Prometheus client library's own text-format parser."""

from __future__ import annotations

import re

import pytest
from prometheus_client.parser import text_string_to_metric_families

from ansible_collections.homelab.jellyfin_remote.plugins.module_utils import _doctor, _site

NOW = "2026-12-07T12:00:00Z"


def healthy():
    return {
        "now": NOW,
        "record": {"site": {"method": "reverse_proxy"}, "certbot": {"lineages": {"jf.example.org": {}}},
                   "reverse_proxy": {"server": "nginx"},
                   "jellyfin_network": {"files": {"/etc/jellyfin/network.xml": {"settings": {
                       "KnownProxies": {"original": [], "added": ["127.0.0.1"], "removed": []},
                       "BaseUrl": {"original": "", "set": ""}}}}}},
        "jellyfin": {"answered": True, "url": "http://127.0.0.1:8096", "health": "Healthy",
                     "info": {"Version": "10.11.11", "StartupWizardCompleted": True}, "path": "/etc/jellyfin/network.xml",
                     "settings": {"known_proxies": ["127.0.0.1"], "base_url": "", "enable_remote_access": True}},
        "units": {u: {"load": "loaded", "active": "active"} for u in _doctor.look({})["units"]},
        "port_forward_config": True,
        "upnp": {"mappings": [{"external_port": 443, "protocol": "TCP", "internal_client": "192.168.1.10",
                               "internal_port": 443, "found": {"internal_client": "192.168.1.10", "internal_port": 443,
                                                               "lease_remaining": 3000}}]},
        "ddclient_ours": True,
        "certificates": [{"name": "jf.example.org", "path": "/etc/letsencrypt/live/jf.example.org/cert.pem",
                          "not_after": "2027-02-01T00:00:00Z"}],
        "tailscale": None,
        "ddns": {"changed": False, "failed": False, "hostname": "jf.example.org", "previous": {"A": "198.51.100.7"},
                 "current": {"A": "198.51.100.7"}},
    }


def statuses(report):
    return {f["check"]: f["status"] for f in report["findings"]}


def test_a_healthy_host_is_all_ok_and_passes():
    report = _doctor.report(healthy())
    assert report["status"] == "OK" and report["failed"] is False and report["counts"]["FAIL"] == 0
    assert set(statuses(report).values()) == {"OK"}
    assert {"jellyfin health", "jellyfin version", "jellyfin settings", "unit nginx.service",
            "router mapping tcp 443", "ddns record jf.example.org", "certificate jf.example.org"} <= set(statuses(report))


@pytest.mark.parametrize("fault, check, words", [
    (lambda f: f["jellyfin"]["settings"].update(known_proxies=[]), "jellyfin settings", "KnownProxies lacks 127.0.0.1"),
    (lambda f: f["jellyfin"]["info"].update(Version="10.11.9"), "jellyfin version", "10.11.9 is older than 10.11.10"),
    (lambda f: f["jellyfin"]["info"].update(StartupWizardCompleted=False), "jellyfin setup wizard", "not finished"),
    (lambda f: f["jellyfin"]["settings"].update(enable_remote_access=False), "jellyfin remote access", "503"),
    (lambda f: f["jellyfin"].update(health="Unhealthy"), "jellyfin health", "'Unhealthy'"),
    (lambda f: f["units"]["ddclient.service"].update(active="inactive"), "unit ddclient.service", "inactive"),
    (lambda f: f["certificates"][0].update(not_after="2026-12-10T00:00:00Z"), "certificate jf.example.org",
     "expires in 2.5 days"),
    (lambda f: f["certificates"][0].update(not_after=None, error="the file is missing"), "certificate jf.example.org",
     "the file is missing"),
    (lambda f: f["upnp"]["mappings"][0].update(found=None), "router mapping tcp 443", "no mapping of TCP 443"),
    (lambda f: f["upnp"]["mappings"][0]["found"].update(internal_client="192.168.1.66"), "router mapping tcp 443",
     "to 192.168.1.66:443, not to 192.168.1.10:443"),
    (lambda f: f.update(upnp={"error": "no UPnP device answered"}), "router mappings", "no UPnP device answered"),
    (lambda f: f["ddns"].update(previous={"A": "203.0.113.9"}), "ddns record jf.example.org",
     "A is 203.0.113.9, the public address is 198.51.100.7"),
    (lambda f: f.update(ddns={"failed": True, "hostname": "jf.example.org", "msg": "badauth"}),
     "ddns record jf.example.org", "could not be asked: badauth"),
])
def test_each_fault_is_its_own_fail_line(fault, check, words):
    facts = healthy()
    fault(facts)
    report = _doctor.report(facts)
    failing = [f for f in report["findings"] if f["status"] != "OK"]
    assert [(f["check"], f["status"]) for f in failing] == [(check, "FAIL")]
    assert words in failing[0]["detail"] and failing[0]["fix"]
    assert report["failed"] is True and report["status"] == "FAIL"
    assert any(line.startswith("FAIL  %s" % check) for line in report["table"])


def test_a_certificate_near_renewal_warns_and_fail_on_decides():
    facts = healthy()
    facts["certificates"][0]["not_after"] = "2026-12-20T00:00:00Z"  # 12.5 days: renewals failing
    assert statuses(_doctor.report(facts))["certificate jf.example.org"] == "WARN"
    assert [_doctor.report(facts, on)["failed"] for on in ("fail", "warn", "never")] == [False, True, False]
    with pytest.raises(_doctor.DoctorError, match="doctor_fail_on must be one of fail, warn, never"):
        _doctor.report(facts, "sometimes")


def test_ddns_not_checked_without_the_settings_warns():
    facts = healthy()
    facts["record"]["ddns"] = {"hostname": "jf.example.org"}
    facts["ddns"] = {"not_checked": "the inventory has no ddns_provider"}
    assert statuses(_doctor.report(facts))["ddns record jf.example.org"] == "WARN"


def test_a_lease_about_to_lapse_warns():
    facts = healthy()
    facts["upnp"]["mappings"][0]["found"]["lease_remaining"] = 120
    assert statuses(_doctor.report(facts))["router mapping tcp 443"] == "WARN"


def test_units_expected_from_the_method_or_the_roles_on_the_host():
    """The site's method names its units; roles used on their own are known by their record
    section (port_forward by its renewal file); the proxy the record names, not the other."""
    facts = healthy()
    checks = statuses(_doctor.report(facts))
    assert "unit nginx.service" in checks and "unit caddy.service" not in checks
    assert "unit wg-quick@wg0.service" not in checks and "unit tailscaled.service" not in checks
    alone = {"record": {"ddns": {"provider": "dyndns2"}}, "ddclient_ours": True, "port_forward_config": True,
             "units": facts["units"]}
    assert set(statuses(_doctor.report(alone))) == {"unit ddclient.service", "unit jellyfin-remote-upnp-renew.timer",
                                                    "unit jellyfin-remote-firewall.service"}


def test_units_not_on_the_host_and_a_foreign_ddclient_are_not_checked():
    facts = healthy()
    facts["record"].pop("reverse_proxy")
    facts["units"]["caddy.service"] = {"load": "not-found", "active": "inactive"}
    facts["ddclient_ours"] = False
    facts["units"]["ddclient.service"]["active"] = "failed"
    checks = statuses(_doctor.report(facts))
    assert "unit caddy.service" not in checks and "unit ddclient.service" not in checks


def test_tailscale_logged_out_fails_only_for_the_tailscale_method():
    facts = healthy()
    facts["record"]["site"]["method"] = "tailscale"
    facts["units"] = {"tailscaled.service": {"load": "loaded", "active": "active"}}
    facts["tailscale"] = {"BackendState": "NeedsLogin"}
    found = {f["check"]: f for f in _doctor.report(facts)["findings"]}
    assert found["tailscale"]["status"] == "FAIL" and "NeedsLogin" in found["tailscale"]["detail"]
    facts["tailscale"] = {"BackendState": "Running"}
    assert statuses(_doctor.report(facts))["tailscale"] == "OK"


def test_jellyfin_not_answering_is_one_fail_and_nothing_set_up_is_said():
    facts = {"jellyfin": {"answered": False, "url": "http://127.0.0.1:8096"}}
    report = _doctor.report(facts)
    assert [(f["check"], f["status"]) for f in report["findings"]] == [("jellyfin", "FAIL")]
    assert _doctor.report({})["table"] == ["nothing to check: the host record names nothing the collection set up"]


def test_the_textfile_parses_with_the_prometheus_parser():
    facts = healthy()
    facts["units"]["nginx.service"]["active"] = "failed"
    facts["certificates"].append({"name": 'we"ird\\name', "path": "/x/y.crt", "not_after": "2026-12-17T00:00:00Z"})
    families = {f.name: f for f in text_string_to_metric_families(_doctor.report(facts)["textfile"])}
    checks = {s.labels["check"]: s.value for s in families["jellyfin_remote_doctor_check"].samples}
    assert checks["unit nginx.service"] == 2 and checks["jellyfin health"] == 0
    days = {s.labels["name"]: s.value for s in families["jellyfin_remote_certificate_days_left"].samples}
    assert days == {"jf.example.org": pytest.approx(55.5), 'we"ird\\name': pytest.approx(9.5)}
    assert families["jellyfin_remote_doctor_check"].type == "gauge"


def test_the_units_are_the_ones_the_method_table_names():
    """_site.METHOD_TABLE says in words which units a method runs; the doctor looks at those names."""
    assert set(_doctor.look({})["units"]) == {u for units in _doctor.UNITS_BY_METHOD.values() for u in units}
    for method in _site.METHODS:
        words = " ".join(_site.METHOD_TABLE[method]["units"])
        for unit in _doctor.UNITS_BY_METHOD[method]:
            stem = re.sub(r"\.(service|timer)$", "", unit)
            assert stem in words, (method, unit, words)


def test_certificates_come_from_the_recorded_lineages():
    assert _doctor.look({"certbot": {"lineages": {"b.example": {}, "a.example": {}}}})["certificates"] == [
        {"name": "a.example", "path": "/etc/letsencrypt/live/a.example/cert.pem"},
        {"name": "b.example", "path": "/etc/letsencrypt/live/b.example/cert.pem"}]
    assert _doctor.look({})["certificates"] == []


def test_what_the_record_names_is_looked_at():
    record = {"site": {"method": "tailscale"}, "wireguard": {"interface": "wg0", "clients_dir": "/etc/wireguard/clients"},
              "openvpn": {"instance": "jellyfin"},
              "reverse_proxy": {"files": ["/etc/caddy/Caddyfile", "/etc/fail2ban/jail.d/jellyfin.local"]}}
    look = _doctor.look(record)
    assert look["tailscale"] is True
    assert look["wireguard"] == {"interface": "wg0", "clients_dir": "/etc/wireguard/clients"}
    assert look["openvpn"] == {"instance": "jellyfin", "status_file": "/run/openvpn-server/status-jellyfin.log"}
    assert look["fail2ban_jail"] == "jellyfin"
    bare = _doctor.look({"site": {"method": "wireguard"}, "reverse_proxy": {"files": ["/etc/caddy/Caddyfile"]}})
    assert (bare["tailscale"], bare["wireguard"], bare["openvpn"], bare["fail2ban_jail"]) == (False, None, None, None)


def vpn_facts():
    facts = healthy()
    now = _doctor._parse_time(NOW).timestamp()
    facts["wireguard"] = {"interface": "wg0", "peers": [{"name": "laptop", "latest_handshake": 0},
                                                        {"name": "phone", "latest_handshake": int(now) - 40},
                                                        {"name": "tv", "latest_handshake": int(now) - 3 * 3600}]}
    facts["openvpn"] = {"instance": "jellyfin", "clients": [{"name": "phone", "since": "2026-12-07 11:00:00"}]}
    facts["fail2ban"] = {"jail": "jellyfin", "banned_now": 1, "banned_total": 3, "banned": ["203.0.113.7"]}
    return facts


def test_vpn_peers_clients_and_bans_are_reported():
    found = {f["check"]: f for f in _doctor.report(vpn_facts())["findings"]}
    wg = found["wireguard wg0"]
    assert wg["status"] == "OK"
    assert wg["detail"] == ("1 of 3 peers in touch in the last 3 min: laptop never connected; phone in touch, 40 s ago; "
                            "tv last seen 3 h ago")
    assert found["openvpn jellyfin"]["detail"] == "1 client connected: phone (since 2026-12-07 11:00:00)"
    assert found["fail2ban jail jellyfin"]["detail"] == "1 address banned now, 3 since fail2ban started: 203.0.113.7"
    assert {found[c]["status"] for c in ("openvpn jellyfin", "fail2ban jail jellyfin")} == {"OK"}


@pytest.mark.parametrize("fault, check, status, words", [
    (lambda f: f.update(wireguard={"interface": "wg0", "error": "Unable to access interface: No such device"}),
     "wireguard wg0", "FAIL", "No such device"),
    (lambda f: f["wireguard"].update(peers=[]), "wireguard wg0", "WARN", "no peer"),
    (lambda f: f.update(openvpn={"instance": "jellyfin", "error": "cannot read it"}), "openvpn jellyfin", "WARN",
     "no client list"),
    (lambda f: f.update(fail2ban={"jail": "jellyfin", "error": "Sorry but the jail 'jellyfin' does not exist"}),
     "fail2ban jail jellyfin", "FAIL", "does not exist"),
])
def test_vpn_and_jail_faults(fault, check, status, words):
    facts = vpn_facts()
    fault(facts)
    bad = [f for f in _doctor.report(facts)["findings"] if f["status"] != "OK"]
    assert [(f["check"], f["status"]) for f in bad] == [(check, status)]
    assert words in bad[0]["detail"] and bad[0]["fix"]


def test_tailscale_says_what_serve_and_funnel_publish():
    facts = healthy()
    facts["record"]["site"]["method"] = "tailscale"
    facts["tailscale"] = {"BackendState": "Running", "serve": ["https://jf.tail1.ts.net:443/ -> http://127.0.0.1:8096"],
                          "funnel": ["jf.tail1.ts.net:443"]}
    detail = {f["check"]: f for f in _doctor.report(facts)["findings"]}["tailscale"]["detail"]
    assert "Serve publishes https://jf.tail1.ts.net:443/ -> http://127.0.0.1:8096" in detail
    assert "Funnel puts jf.tail1.ts.net:443 on the internet" in detail
    facts["tailscale"] = {"BackendState": "Running", "serve": [], "funnel": []}
    detail = {f["check"]: f for f in _doctor.report(facts)["findings"]}["tailscale"]["detail"]
    assert "Serve publishes nothing" in detail and "Funnel" not in detail


@pytest.mark.parametrize("site, url", [
    ({"method": "reverse_proxy", "domain": "jf.example.org"}, "https://jf.example.org/"),
    ({"method": "cloudflare_tunnel", "domain": "jf.example.org"}, "https://jf.example.org/"),
    ({"method": "port_forward", "https": False, "ddns_hostname": "home.example.net", "domain": "",
      "ports": [{"port": 8096, "protocol": "tcp"}]}, "http://home.example.net:8096/"),
    ({"method": "port_forward", "https": True, "ddns_hostname": "", "domain": "jf.example.org",
      "ports": [{"port": 80, "protocol": "tcp"}, {"port": 8920, "protocol": "tcp"}]}, "https://jf.example.org:8920/"),
    ({"method": "wireguard", "domain": "jf.example.org"}, None),
    ({"method": "tailscale"}, None),
    ({"method": "reverse_proxy", "domain": ""}, None),
])
def test_the_public_url_comes_from_the_recorded_method(site, url):
    assert _doctor.public_url({"site": site}) == url


def observed(**seen):
    facts = healthy()
    facts["jellyfin"]["info"]["Id"] = "f00d"
    facts["observer"] = dict({"host": "vps", "url": "https://jf.example.org/", "status": 200, "server_id": "f00d",
                              "not_after": "2027-02-01T00:00:00Z", "seconds": 0.21, "error": None}, **seen)
    return {f["check"]: f for f in _doctor.report(facts)["findings"]}["from outside (vps)"]


def test_the_observer_sees_this_jellyfin_with_a_good_certificate():
    found = observed()
    assert found["status"] == "OK"
    assert found["detail"] == ("https://jf.example.org/ answered 200 in 0.21 s, from this Jellyfin; its certificate "
                               "verifies there and expires in 55.5 days")


@pytest.mark.parametrize("seen, status, words", [
    ({"status": None, "error": "[Errno 111] Connection refused"}, "FAIL", "Connection refused"),
    ({"status": None, "error": "the certificate does not verify: self-signed certificate"}, "FAIL", "does not verify"),
    ({"status": 502}, "FAIL", "answered HTTP 502"),
    ({"server_id": "beef"}, "FAIL", "another server (Id beef, this Jellyfin is f00d)"),
    ({"not_after": "2026-12-10T00:00:00Z"}, "FAIL", "expires in 2.5 days"),
    ({"not_after": "2026-12-20T00:00:00Z"}, "WARN", "expires in 12.5 days"),
])
def test_what_the_observer_can_find_wrong(seen, status, words):
    found = observed(**seen)
    assert found["status"] == status and words in found["detail"] and found["fix"], found
