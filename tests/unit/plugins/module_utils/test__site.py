from __future__ import annotations

import pytest

from ansible_collections.homelab.jellyfin_remote.plugins.module_utils import _site
from ansible_collections.homelab.jellyfin_remote.plugins.module_utils._advice import rank_methods

NOTHING = {"domain": "", "wireguard_peers": 0, "tailscale_key": False, "cloudflare_token": False, "cloudflare_terms": False}
EVERYTHING = {"domain": "media.example.org", "wireguard_peers": 2, "tailscale_key": True,
              "cloudflare_token": True, "cloudflare_terms": True, "openvpn_clients": 1, "https": True,
              "relay_hosts": 1}
INFO = {"Version": "10.11.10", "StartupWizardCompleted": True, "ServerName": "media"}


def ranking(classification, **prefs):
    return rank_methods({"classification": classification}, prefs)


def test_missing_inputs_name_the_variables():
    missing = _site.missing_inputs(NOTHING)
    assert "jellyfin_remote_https: true" in missing["port_forward"][0]
    assert "jellyfin_remote_accept_plain_http: true" in missing["port_forward"][0]
    assert _site.missing_inputs(dict(NOTHING, accept_plain_http=True))["port_forward"] == []
    assert "jellyfin_remote_domain" in missing["reverse_proxy"][0]
    assert "wireguard_peers" in missing["wireguard"][0]
    assert "tailscale_auth_key" in missing["tailscale"][0]
    assert len(missing["cloudflare_tunnel"]) == 2
    assert "openvpn_clients" in missing["openvpn"][0]
    assert all(v == [] for v in _site.missing_inputs(EVERYTHING).values())


def test_missing_inputs_refuse_bad_values():
    with pytest.raises(_site.SiteError, match="wireguard_peers"):
        _site.missing_inputs(dict(NOTHING, wireguard_peers="many"))
    with pytest.raises(_site.SiteError, match="dict"):
        _site.missing_inputs(["domain"])


def test_nat_with_a_domain_chooses_the_reverse_proxy():
    methods = ranking("nat", has_domain=True, remote_users=4)
    assert methods[0]["method"] == "reverse_proxy"
    choice = _site.choose(methods, dict(NOTHING, domain="media.example.org"))
    assert choice["method"] == "reverse_proxy"
    assert choice["better"] == []
    assert choice["why"][0].startswith("reverse_proxy is ranked 1 of %d" % len(ranking("nat")))


def test_the_first_method_with_inputs_wins_and_better_ones_say_what_they_lack():
    methods = ranking("nat", security_priority="high")
    top = [m["method"] for m in methods if m["suitable"]]
    assert top[0] in ("wireguard", "tailscale")
    choice = _site.choose(methods, dict(NOTHING, https=True))
    assert choice["method"] == "port_forward"  # the only one whose inputs are there
    lacking = {b["method"] for b in choice["better"]}
    assert {"wireguard", "tailscale", "reverse_proxy"} <= lacking
    assert any("wireguard_peers" in line for line in choice["why"])


def test_cgnat_chooses_a_method_without_open_ports():
    methods = ranking("cgnat", has_tailscale_account=True)
    choice = _site.choose(methods, dict(NOTHING, tailscale_key=True, domain="media.example.org"))
    assert choice["method"] == "tailscale"
    assert _site.plan(choice["method"], {"lan_subnets": ["192.168.1.0/24"]})["ports"] == []


def test_cgnat_without_any_input_fails_naming_what_to_set():
    with pytest.raises(_site.SiteError, match="tailscale_auth_key"):
        _site.choose(ranking("cgnat"), NOTHING)


def test_cloudflare_is_never_chosen_even_with_every_input():
    for classification in ("cgnat", "nat", "public", "double_nat", "unknown"):
        assert _site.choose(ranking(classification), EVERYTHING)["method"] != "cloudflare_tunnel"


def test_choose_rejects_a_malformed_ranking():
    with pytest.raises(_site.SiteError, match="empty"):
        _site.choose([], NOTHING)
    with pytest.raises(_site.SiteError, match="not a ranked method"):
        _site.choose([{"method": "telnet", "suitable": True}], NOTHING)


def test_plan_ports_per_method():
    assert _site.plan("port_forward")["ports"] == [{"port": 8096, "protocol": "tcp", "description": "Jellyfin HTTP"}]
    assert [p["port"] for p in _site.plan("reverse_proxy")["ports"]] == [80, 443]
    assert [p["port"] for p in _site.plan("reverse_proxy", {"acme_challenge": "dns-01"})["ports"]] == [443]
    wg = _site.plan("wireguard", {"wireguard_listen_port": 51999, "wireguard_networks": ["10.13.13.0/24"],
                                  "lan_subnets": ["192.168.1.0/24"]})
    assert wg["ports"] == [{"port": 51999, "protocol": "udp", "description": "WireGuard"}]
    assert _site.plan("cloudflare_tunnel")["ports"] == []


def test_plan_jellyfin_settings():
    assert _site.plan("reverse_proxy")["known_proxies"] == ["127.0.0.1"]
    assert _site.plan("cloudflare_tunnel")["known_proxies"] == ["127.0.0.1"]
    assert _site.plan("port_forward")["known_proxies"] == []
    wg = _site.plan("wireguard", {"wireguard_networks": ["10.13.13.0/24", "fd13:13:13::/64"],
                                  "lan_subnets": ["192.168.1.7/24"]})
    # The LAN comes first and stays: Jellyfin stops detecting it once the list is not empty.
    assert wg["local_network_subnets"] == ["192.168.1.0/24", "10.13.13.0/24", "fd13:13:13::/64"]
    ts = _site.plan("tailscale", {"lan_subnets": ["192.168.1.0/24"]})
    assert ts["local_network_subnets"] == ["192.168.1.0/24", "100.64.0.0/10", "fd7a:115c:a1e0::/48"]
    assert _site.plan("tailscale", {"vpn_clients_local": False})["local_network_subnets"] == []
    assert _site.plan("reverse_proxy", {"base_url": "/jellyfin/"})["base_url"] == "/jellyfin"


def test_plan_errors_name_the_option():
    with pytest.raises(_site.SiteError, match="jellyfin_remote_lan_subnets"):
        _site.plan("wireguard", {"wireguard_networks": ["10.13.13.0/24"]})
    with pytest.raises(_site.SiteError, match="jellyfin_remote_lan_subnets: 'home'"):
        _site.plan("tailscale", {"lan_subnets": ["home"]})
    with pytest.raises(_site.SiteError, match="jellyfin_remote_port_forward_ports"):
        _site.plan("port_forward", {"port_forward_ports": [{"port": 70000}]})
    with pytest.raises(_site.SiteError, match="protocol must be tcp or udp"):
        _site.plan("port_forward", {"port_forward_ports": [{"port": 8096, "protocol": "sctp"}]})
    with pytest.raises(_site.SiteError, match="jellyfin_remote_base_url"):
        _site.plan("reverse_proxy", {"base_url": "jellyfin"})
    with pytest.raises(_site.SiteError, match="jellyfin_remote_method must be auto or one of"):
        _site.plan("carrier_pigeon")


def test_plan_with_inputs_refuses_an_explicit_method_missing_them():
    with pytest.raises(_site.SiteError, match=r"reverse_proxy, which needs jellyfin_remote_domain.*Nothing was changed"):
        _site.plan("reverse_proxy", {"inputs": NOTHING})
    assert _site.plan("port_forward", {"inputs": dict(NOTHING, accept_plain_http=True)})["ports"]


def test_summary_urls_and_warnings():
    rp = _site.summary("reverse_proxy", {"domain": "media.example.org", "base_url": "/jf", "jellyfin_version": "10.11.10"})
    assert rp["plain_http"] is False
    assert rp["urls"] == ["https://media.example.org/jf/"]
    assert any("reachable from the internet" in w for w in rp["warnings"])
    assert not any("older than" in w for w in rp["warnings"])
    pf = _site.summary("port_forward", {"ddns_hostname": "home.example.net", "ports": [{"port": 8096}],
                                         "jellyfin_version": "10.10.3"})
    assert pf["urls"] == ["http://home.example.net:8096/"]
    assert any("10.10.3 is older than 10.11.10" in w for w in pf["warnings"])
    assert pf["plain_http"] is True and pf["warnings"][0].startswith("PLAIN HTTP: port_forward without")
    bare = _site.summary("port_forward", {"public_ipv4": "203.0.113.9"})
    assert bare["urls"] == ["http://203.0.113.9:8096/"] and any("DDNS" in n for n in bare["notes"])
    cf = _site.summary("cloudflare_tunnel", {"cloudflare_hostname": "jf.example.org"})
    assert cf["urls"] == ["https://jf.example.org/"] and any("Cloudflare's terms" in w for w in cf["warnings"])
    wg = _site.summary("wireguard", {"wireguard_server_addresses": ["10.13.13.1/24", "fd13::1/64"],
                                      "wireguard_export_dir": "/home/me/wg", "wireguard_peers": ["phone"]})
    assert wg["urls"][0].startswith("http://10.13.13.1:8096/") and "[fd13::1]" in wg["urls"][1]
    assert wg["files"] == ["/home/me/wg/phone.conf (QR code: phone.png, phone.txt)"]
    assert wg["warnings"] == []
    ts = _site.summary("tailscale", {"tailscale_dns_name": "jellyfin.tail1.ts.net", "tailscale_funnel": True})
    assert ts["urls"][0] == "https://jellyfin.tail1.ts.net/ (on your tailnet)"
    assert any("Funnel" in w for w in ts["warnings"])


def test_summary_carries_the_choice():
    choice = _site.choose(ranking("nat", security_priority="high"), dict(NOTHING, https=True))
    out = _site.summary(choice["method"], {"choice": choice})
    assert out["why"] == choice["why"]
    assert any(line.startswith("wireguard would need wireguard_peers") for line in out["better"])


def test_plan_port_forward_with_jellyfins_own_https():
    plan = _site.plan("port_forward", {"https": True, "https_domain": "home.example.org",
                                       "port_forward_ports": [{"port": 8096, "protocol": "tcp"}]})
    assert [(p["port"], p["protocol"]) for p in plan["ports"]] == [(80, "tcp"), (8920, "tcp")]
    plan = _site.plan("port_forward", {"https": True, "https_domain": "home.example.org",
                                       "https_port": 8443, "https_challenge": "dns-01"})
    assert [(p["port"], p["protocol"]) for p in plan["ports"]] == [(8443, "tcp")]


def test_plan_https_errors_name_what_to_set():
    with pytest.raises(_site.SiteError, match="jellyfin_remote_domain or ddns_hostname"):
        _site.plan("port_forward", {"https": True})
    with pytest.raises(_site.SiteError, match="jellyfin_remote_https is for the port_forward method"):
        _site.plan("reverse_proxy", {"https": True, "https_domain": "home.example.org"})
    with pytest.raises(_site.SiteError, match="jellyfin_https_port"):
        _site.plan("port_forward", {"https": True, "https_domain": "h.example.org", "https_port": 70000})


def test_summary_with_https_lists_only_the_https_url():
    ports = _site.plan("port_forward", {"https": True, "https_domain": "home.example.org", "https_port": 8443})["ports"]
    out = _site.summary("port_forward", {"ddns_hostname": "home.example.org", "ports": ports, "https": True})
    assert out["urls"] == ["https://home.example.org:8443/"]
    assert out["plain_http"] is False and not any("PLAIN HTTP" in w for w in out["warnings"])


def test_openvpn_is_chosen_by_name_only():
    plan = _site.plan("openvpn", {"inputs": EVERYTHING, "lan_subnets": ["192.168.1.0/24"],
                                  "openvpn_networks": ["10.8.0.0/24"]})
    assert plan["ports"] == [{"port": 1194, "protocol": "udp", "description": "OpenVPN"}]
    assert plan["local_network_subnets"] == ["192.168.1.0/24", "10.8.0.0/24"]
    with pytest.raises(_site.SiteError, match="openvpn_clients"):
        _site.plan("openvpn", {"inputs": NOTHING})
    with pytest.raises(_site.SiteError, match="openvpn_port"):
        _site.plan("openvpn", {"openvpn_port": 0, "lan_subnets": ["192.168.1.0/24"]})
    # the preflight never ranks it, so auto never takes it
    assert all(m["method"] != "openvpn" for m in ranking("nat"))
    out = _site.summary("openvpn", {"openvpn_server_addresses": ["10.8.0.1/24"], "openvpn_export_dir": "/x",
                                    "openvpn_clients": ["phone"]})
    assert out["urls"] == ["http://10.8.0.1:8096/ (through the tunnel)"] and out["files"] == ["/x/phone.ovpn"]


# Safe by default: auto never publishes plain HTTP, whatever the ranking and the other inputs.
@pytest.mark.parametrize("classification", ["public", "nat", "cgnat", "double_nat", "unknown"])
@pytest.mark.parametrize("priority", ["low", "normal", "high"])
@pytest.mark.parametrize("acknowledged", [False, True])
def test_auto_never_chooses_plain_http_port_forward(classification, priority, acknowledged):
    methods = ranking(classification, security_priority=priority)
    inputs = dict(NOTHING, accept_plain_http=acknowledged)
    try:
        choice = _site.choose(methods, inputs)
    except _site.SiteError as err:
        if any(m["method"] == "port_forward" and m["suitable"] for m in methods):
            assert "jellyfin_remote_https" in str(err)
        return
    assert choice["method"] != "port_forward"


def test_auto_with_nothing_set_fails_naming_https_instead_of_forwarding_plain_http():
    with pytest.raises(_site.SiteError, match=r"port_forward needs jellyfin_remote_https: true"):
        _site.choose(ranking("nat", security_priority="high"), NOTHING)
    assert _site.choose(ranking("nat"), dict(NOTHING, https=True))["method"] == "port_forward"


def test_explicit_plain_http_needs_the_acknowledgement_named():
    with pytest.raises(_site.SiteError, match="jellyfin_remote_accept_plain_http: true") as err:
        _site.plan("port_forward", {"inputs": NOTHING})
    assert "Nothing was changed" in str(err.value)
    assert _site.plan("port_forward", {"inputs": dict(NOTHING, accept_plain_http=True)})["ports"][0]["port"] == 8096
    assert _site.plan("port_forward", {"inputs": dict(NOTHING, https=True), "https": True,
                                       "https_domain": "h.example.org"})["ports"][-1]["port"] == 8920


def test_exposure_passes_a_finished_current_server():
    for method in _site.METHODS:
        out = _site.exposure(method, INFO, {"remote_access": True})
        assert out["errors"] == [] and out["warnings"] == [] and out["enable_remote_access"] is False
    assert _site.exposure("tailscale", INFO, {"funnel": True})["internet_facing"] is True
    assert _site.exposure("tailscale", INFO)["internet_facing"] is False


@pytest.mark.parametrize("method", _site.METHODS)
def test_exposure_refuses_an_unfinished_setup_wizard(method):
    out = _site.exposure(method, dict(INFO, StartupWizardCompleted=False), {"url": "http://192.168.1.5:8096"})
    assert len(out["errors"]) == 1
    assert out["errors"][0].startswith("Jellyfin's startup wizard is not finished (/System/Info/Public says "
                                       "StartupWizardCompleted: false): until it is, anyone who reaches the server "
                                       "can create its first administrator.")
    assert "http://192.168.1.5:8096/web/" in out["errors"][0]


def test_exposure_refuses_a_server_that_does_not_answer():
    out = _site.exposure("wireguard", None, {"url": "http://127.0.0.1:8096"})
    assert out["errors"] == ["Jellyfin did not answer GET http://127.0.0.1:8096/System/Info/Public, so neither its "
                             "setup wizard nor its version can be checked: start Jellyfin (systemctl status "
                             "jellyfin) and run again."]


@pytest.mark.parametrize("method,funnel", [("port_forward", False), ("reverse_proxy", False),
                                           ("cloudflare_tunnel", False), ("tailscale", True)])
@pytest.mark.parametrize("version", ["10.11.9", "10.10.7", "", "unknown", None])
def test_exposure_refuses_old_or_unknown_versions_for_internet_facing_methods(method, funnel, version):
    out = _site.exposure(method, dict(INFO, Version=version), {"funnel": funnel})
    assert len(out["errors"]) == 1
    message = out["errors"][0]
    assert "set jellyfin_remote_accept_vulnerable: true to expose it anyway" in message
    assert "GHSA-f47c-m7gr-q92j" in message and "10.11.10" in message
    if version == "10.11.9":
        assert message.startswith("Jellyfin 10.11.9 is older than 10.11.10; 10.11.10 fixes")
    elif version in ("10.10.7",):
        assert message.startswith("Jellyfin 10.10.7 is older than 10.11.10")
    else:
        assert message.startswith("Jellyfin's version could not be read")
    accepted = _site.exposure(method, dict(INFO, Version=version), {"funnel": funnel, "accept_vulnerable": True})
    assert accepted["errors"] == [] and "exposed anyway" in accepted["warnings"][0]


@pytest.mark.parametrize("method", ["wireguard", "openvpn", "tailscale"])
def test_exposure_only_warns_for_vpn_methods(method):
    out = _site.exposure(method, dict(INFO, Version="10.11.9"))
    assert out["errors"] == []
    assert out["warnings"] == ["Jellyfin 10.11.9 is older than 10.11.10; 10.11.10 fixes %s. Upgrade it; only VPN "
                               "clients reach it with the %s method." % (_site.SECURITY_FIXES, method)]


def test_exposure_remote_access_off():
    out = _site.exposure("reverse_proxy", INFO, {"remote_access": False})
    assert len(out["errors"]) == 1 and "EnableRemoteAccess is false" in out["errors"][0]
    assert "set jellyfin_remote_enable_remote_access: true" in out["errors"][0]
    fixed = _site.exposure("reverse_proxy", INFO, {"remote_access": False, "enable_remote_access": True})
    assert fixed["errors"] == [] and fixed["enable_remote_access"] is True
    # VPN clients listed as local never meet the 503; listed as remote they do.
    assert _site.exposure("wireguard", INFO, {"remote_access": False})["errors"] == []
    assert _site.exposure("wireguard", INFO, {"remote_access": False, "vpn_clients_local": False})["errors"]
    # Unknown (file not read): no claim either way.
    assert _site.exposure("port_forward", INFO, {"remote_access": None})["errors"] == []


def test_unknown_variables_name_the_nearest_known_one():
    known = ["jellyfin_remote_method", "jellyfin_remote_https", "jellyfin_remote_domain", "ddns_hostname"]
    names = ["jellyfin_remote_methd", "jellyfin_remote_http", "ddns_hostnme", "jellyfin_remote_method",
             "ansible_host", "__jellyfin_remote_plan", "jellyfin_remote_zzz_unrelated"]
    assert _site.unknown_variables(names, known, ["jellyfin_remote_", "ddns_"]) == [
        "ddns_hostnme is not a variable of homelab.jellyfin_remote (did you mean ddns_hostname?); it has no effect.",
        "jellyfin_remote_http is not a variable of homelab.jellyfin_remote (did you mean jellyfin_remote_https?); "
        "it has no effect.",
        "jellyfin_remote_methd is not a variable of homelab.jellyfin_remote (did you mean jellyfin_remote_method?); "
        "it has no effect.",
        "jellyfin_remote_zzz_unrelated is not a variable of homelab.jellyfin_remote; it has no effect.",
    ]


def test_summary_lists_what_was_closed():
    out = _site.summary("tailscale", {"closed": ["router mapping of port 443", "unit jellyfin-remote-upnp-renew.timer"]})
    assert out["closed"] == ["router mapping of port 443", "unit jellyfin-remote-upnp-renew.timer"]
    assert _site.summary("tailscale")["closed"] == []


def test_require_https_warns_that_lan_apps_are_redirected_too():
    ports = _site.plan("port_forward", {"https": True, "https_domain": "home.example.org"})["ports"]
    out = _site.summary("port_forward", {"ddns_hostname": "home.example.org", "ports": ports, "https": True,
                                         "https_require": True})
    warning = next(w for w in out["warnings"] if w.startswith("RequireHttps is on"))
    assert "LAN and loopback included" in warning and "https://home.example.org:8920/" in warning
    assert "jellyfin_https_require: false" in warning
    quiet = _site.summary("port_forward", {"ddns_hostname": "home.example.org", "ports": ports, "https": True})
    assert not any(w.startswith("RequireHttps") for w in quiet["warnings"])


def test_tailscale_local_subnets_are_the_owners_own_nodes_when_known():
    own = _site.plan("tailscale", {"lan_subnets": ["192.168.1.0/24"],
                                   "tailscale_networks": ["100.101.102.103/32", "fd7a:115c:a1e0::1234/128"]})
    assert own["local_network_subnets"] == ["192.168.1.0/24", "100.101.102.103/32", "fd7a:115c:a1e0::1234/128"]
    whole = _site.plan("tailscale", {"lan_subnets": ["192.168.1.0/24"], "tailscale_networks": None})
    assert whole["local_network_subnets"] == ["192.168.1.0/24", "100.64.0.0/10", "fd7a:115c:a1e0::/48"]
    with pytest.raises(_site.SiteError, match="tailscale_jellyfin_local_subnets"):
        _site.plan("tailscale", {"lan_subnets": ["192.168.1.0/24"], "tailscale_networks": ["nonsense"]})


def test_summary_says_what_fits_the_upload_and_why_vpn_viewers_are_local_or_not():
    from ansible_collections.homelab.jellyfin_remote.plugins.module_utils._streaming import streaming

    slow = streaming(10, 3)  # floored, with a warning; VPN viewers remote (7 Mbit/s < one remux)
    out = _site.summary("wireguard", {"streaming": slow})
    assert out["streaming"] == slow["lines"] + [slow["vpn_why"]]
    assert "VPN viewers count as remote" in out["streaming"][-1]
    assert slow["warnings"][0] in out["warnings"]
    # A method without VPN viewers does not talk about them; the lines and warnings stay.
    proxy = _site.summary("reverse_proxy", {"streaming": slow})
    assert proxy["streaming"] == slow["lines"] and slow["warnings"][0] in proxy["warnings"]
    unknown = _site.summary("tailscale", {"streaming": streaming(None)})
    assert unknown["streaming"][0].startswith("No upload is declared (jellyfin_remote_upload_mbps)")
    assert "VPN viewers count as local" in unknown["streaming"][1]
    assert _site.summary("tailscale")["streaming"] == []


# IPv6 as the way past CGNAT (the preflight's ipv6_global, the port_forward role's IPv6 path).

def ranking6(classification, ipv6_global, **prefs):
    return rank_methods({"classification": classification, "ipv6_global": ipv6_global}, prefs)


def test_cgnat_without_ipv6_still_takes_tailscale_or_dead_ends():
    # What the default_cgnat scenario relies on: no global IPv6, so tailscale, and without its
    # key nothing at all.
    methods = ranking6("cgnat", False, has_domain=True, remote_users=4)
    assert _site.choose(methods, dict(EVERYTHING, wireguard_peers=0))["method"] == "tailscale"
    with pytest.raises(_site.SiteError, match="none has its inputs"):
        _site.choose(methods, dict(NOTHING, https=True, domain="media.example.org"))


def test_cgnat_with_global_ipv6_no_longer_dead_ends():
    # The port_forward_cgnat scenario's owner: no domain, no Tailscale key, Jellyfin's own HTTPS.
    methods = ranking6("cgnat", True, remote_users=4)
    choice = _site.choose(methods, dict(NOTHING, https=True))
    assert choice["method"] == "port_forward"
    assert any("only clients with IPv6" in r for r in choice["reasons"])
    assert [b["method"] for b in choice["better"]] == ["tailscale", "reverse_proxy"]
    # With a domain the proxy goes first, over IPv6 as well.
    methods = ranking6("cgnat", True, has_domain=True, remote_users=4)
    choice = _site.choose(methods, dict(NOTHING, https=True, domain="media.example.org"))
    assert choice["method"] == "reverse_proxy"
    assert any("by IPv6 clients only" in r for r in choice["reasons"])


def test_summary_over_ipv6_only_says_viewers_need_ipv6():
    facts = {"ddns_hostname": "media.dyn.example", "public_ipv4": "", "ipv6_only": True,
             "public_ipv6": "2001:db8:5::10", "https": True,
             "ports": [{"port": 80, "protocol": "tcp", "description": "ACME HTTP-01 (certbot standalone)"},
                       {"port": 8920, "protocol": "tcp", "description": "Jellyfin HTTPS"}],
             "ipv6_manual": [{"port": 80, "protocol": "tcp"}]}
    out = _site.summary("port_forward", facts)
    assert out["urls"] == ["https://media.dyn.example:8920/"]
    assert out["warnings"][0].startswith("IPv6 ONLY: ")
    assert "Jellyfin is reachable over IPv6 only, at 2001:db8:5::10" in out["warnings"][0]
    assert "Viewers need IPv6 themselves" in out["warnings"][0]
    assert out["notes"] == ["Open by hand in the router's IPv6 firewall (it refused or could not be asked by UPnP): "
                            "tcp 80 to 2001:db8:5::10; only these ports to this address."]
    units = [o for o in out["opened"] if o.startswith("units: ")][0]
    assert "jellyfin-remote-upnp-pinholes.timer" in units and "upnp-renew" not in units and "ddclient" not in units
    assert "jellyfin-remote-ddns.timer (with DDNS)" in units
    # Without a DDNS name the URL is the address itself, never the carrier's shared IPv4.
    out = _site.summary("port_forward", dict(facts, ddns_hostname="", public_ipv4="100.64.0.7", ipv6_manual=[]))
    assert out["urls"] == ["https://[2001:db8:5::10]:8920/"]
    assert not any("router's IPv6 firewall" in n for n in out["notes"])


def test_summary_without_ipv6_only_says_nothing_of_it():
    out = _site.summary("port_forward", {"ddns_hostname": "media.dyn.example", "https": True,
                                         "public_ipv6": "2001:db8:5::10", "ipv6_only": False})
    assert not any("IPv6" in w for w in out["warnings"])
    # The VPN methods are not opened by port_forward's IPv6 path: no such warning either.
    out = _site.summary("tailscale", {"ipv6_only": True, "public_ipv6": "2001:db8:5::10"})
    assert not any("IPv6 ONLY" in w for w in out["warnings"])


def test_external_port_maps_another_router_port_to_the_proxys_443():
    plan = _site.plan("reverse_proxy", {"acme_challenge": "dns-01", "external_port": 8443})
    assert [(p["port"], p.get("internal_port"), p["protocol"]) for p in plan["ports"]] == [(8443, 443, "tcp")]
    # With HTTP-01, 80 stays as it is (the ISP blocks only 443).
    plan = _site.plan("reverse_proxy", {"external_port": "8443"})
    assert [(p["port"], p.get("internal_port")) for p in plan["ports"]] == [(80, None), (8443, 443)]
    # The same port as the host's: a plain forward.
    plan = _site.plan("reverse_proxy", {"acme_challenge": "dns-01", "external_port": 443})
    assert plan["ports"] == [{"port": 443, "protocol": "tcp", "description": "Jellyfin HTTPS (reverse proxy)"}]
    # Unset: as before.
    assert _site.plan("reverse_proxy", {"external_port": None})["ports"] == _site.plan("reverse_proxy")["ports"]


def test_external_port_with_jellyfins_own_https_maps_to_its_https_port():
    plan = _site.plan("port_forward", {"https": True, "https_domain": "home.example.org", "https_challenge": "dns-01",
                                       "https_port": 8920, "external_port": 443})
    assert [(p["port"], p.get("internal_port")) for p in plan["ports"]] == [(443, 8920)]


@pytest.mark.parametrize("value", [0, -1, 65536, "https", 8443.5, True, "84 43"])
def test_external_port_out_of_range_is_refused_by_name(value):
    with pytest.raises(_site.SiteError) as err:
        _site.plan("reverse_proxy", {"external_port": value})
    message = str(err.value)
    assert message.startswith("jellyfin_remote_external_port must be a port number between 1 and 65535")
    assert repr(value) in message and message.endswith("Nothing was changed.")


@pytest.mark.parametrize("method, https", [("wireguard", False), ("port_forward", False), ("tailscale", False)])
def test_external_port_is_refused_where_there_is_no_https_port_to_move(method, https):
    with pytest.raises(_site.SiteError, match="jellyfin_remote_external_port moves the HTTPS port on the router"):
        _site.plan(method, {"external_port": 8443, "wireguard_networks": ["10.13.13.0/24"],
                            "lan_subnets": ["192.168.1.0/24"]})


def test_external_port_taken_by_another_planned_port_is_refused():
    with pytest.raises(_site.SiteError, match=r"jellyfin_remote_external_port 80 is also planned for ACME HTTP-01"):
        _site.plan("reverse_proxy", {"external_port": 80})


def test_summary_urls_carry_the_external_port():
    ports = _site.plan("reverse_proxy", {"acme_challenge": "dns-01", "external_port": 8443})["ports"]
    out = _site.summary("reverse_proxy", {"domain": "media.example.org", "base_url": "/jf", "ports": ports})
    assert out["urls"] == ["https://media.example.org:8443/jf/"]
    assert "router and host firewall: 8443/tcp (to 443 on the host)" in out["opened"]
    plain = _site.summary("reverse_proxy", {"domain": "media.example.org", "ports": _site.plan("reverse_proxy")["ports"]})
    assert plain["urls"] == ["https://media.example.org/"]
    ports = _site.plan("port_forward", {"https": True, "https_domain": "home.example.org", "https_challenge": "dns-01",
                                        "external_port": 8443})["ports"]
    out = _site.summary("port_forward", {"ddns_hostname": "home.example.org", "ports": ports, "https": True})
    assert out["urls"] == ["https://home.example.org:8443/"]


BLOCKED = dict(EVERYTHING, blocked_ports=[80, 443])


def test_blocked_ports_ask_the_proxy_for_another_external_port_and_dns01():
    lacking = _site.missing_inputs(BLOCKED)["reverse_proxy"]
    assert any(item.startswith("jellyfin_remote_external_port (your ISP blocks 443") for item in lacking)
    assert any(item.startswith("reverse_proxy_acme_challenge: dns-01 (your ISP blocks 80") and "nginx" in item
               for item in lacking)
    ready = dict(BLOCKED, external_port=8443, acme_challenge="dns-01")
    assert _site.missing_inputs(ready)["reverse_proxy"] == []
    # An external port the ISP blocks too is no way out.
    assert "your ISP blocks 80" in _site.missing_inputs(dict(ready, external_port=80))["reverse_proxy"][0]
    # Only 443 blocked: HTTP-01 still works.
    assert len(_site.missing_inputs(dict(EVERYTHING, blocked_ports=["443"]))["reverse_proxy"]) == 1
    assert _site.missing_inputs(EVERYTHING)["reverse_proxy"] == []


def test_blocked_ports_ask_jellyfins_own_https_the_same():
    lacking = _site.missing_inputs(dict(EVERYTHING, blocked_ports=[80, 8920]))["port_forward"]
    assert [item.split(" (")[0] for item in lacking] == ["jellyfin_remote_external_port",
                                                         "jellyfin_https_acme_challenge: dns-01"]
    assert _site.missing_inputs(dict(EVERYTHING, blocked_ports=[80, 8920], external_port=443,
                                     https_challenge="dns-01"))["port_forward"] == []
    # Another HTTPS port than the blocked one needs nothing more.
    assert _site.missing_inputs(dict(EVERYTHING, blocked_ports=[8920], https_port=8921))["port_forward"] == []


def test_auto_with_blocked_ports_takes_the_proxy_only_when_it_can_get_through():
    methods = ranking("nat", has_domain=True, blocked_ports=[80, 443], remote_users=5)
    assert methods[0]["method"] == "reverse_proxy" and methods[0]["suitable"]
    choice = _site.choose(methods, BLOCKED)
    assert choice["method"] != "reverse_proxy"
    assert any(line["method"] == "reverse_proxy" and "jellyfin_remote_external_port" in line["missing"][0]
               for line in choice["better"])
    ready = dict(BLOCKED, external_port=8443, acme_challenge="dns-01")
    assert _site.choose(methods, ready)["method"] == "reverse_proxy"
    plan = _site.plan("reverse_proxy", {"inputs": ready, "acme_challenge": "dns-01", "external_port": 8443})
    assert [(p["port"], p.get("internal_port")) for p in plan["ports"]] == [(8443, 443)]
    # Named explicitly without them: refused before any change, naming what to set.
    with pytest.raises(_site.SiteError, match="jellyfin_remote_method is reverse_proxy, which needs "
                                              "jellyfin_remote_external_port"):
        _site.plan("reverse_proxy", {"inputs": BLOCKED})
