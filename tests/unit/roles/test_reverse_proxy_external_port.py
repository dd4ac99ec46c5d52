"""The reverse_proxy role with another external port (ISP blocks 443) and its DNS-01 checks.

The nginx site and the Caddyfile are rendered from the role's templates with its defaults,
and the checks of roles/reverse_proxy/tasks/main.yml are evaluated with Jinja and ansible-core's
own filters and tests. The reverse_proxy_nginx and jellyfin_https scenarios run them for real.
"""

from __future__ import annotations

import os
import re

import jinja2
import pytest
import yaml
from ansible.plugins.filter.core import FilterModule as CoreFilters
from ansible.plugins.filter.urlsplit import FilterModule as UrlFilters
from ansible.plugins.test.core import TestModule as CoreTests

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
ROLE = os.path.join(REPO, "roles", "reverse_proxy")
DOMAIN = "media.example.org"


def _env():
    env = jinja2.Environment(undefined=jinja2.ChainableUndefined,
                             loader=jinja2.FileSystemLoader(os.path.join(ROLE, "templates")))
    env.filters.update(CoreFilters().filters())
    env.filters.update(UrlFilters().filters())
    env.tests.update(CoreTests().tests())
    return env


def _yaml(*parts):
    with open(os.path.join(ROLE, *parts), encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def _render(template, **given):
    values = dict(_yaml("defaults", "main.yml"), reverse_proxy_domain=DOMAIN, ansible_managed="Ansible managed",
                  __reverse_proxy_nginx_tls=True, __reverse_proxy_certbot_live="/etc/letsencrypt/live",
                  __reverse_proxy_acme_webroot="/var/lib/jellyfin-remote/acme",
                  __reverse_proxy_caddy_log_dir="/var/log/caddy")
    values.update(given)
    return _env().get_template(template).render(**values)


@pytest.mark.parametrize("port, suffix", [(443, ""), (8443, ":8443"), ("8443", ":8443")])
def test_nginx_redirect_and_host_carry_the_external_port(port, suffix):
    site = _render("nginx-site.conf.j2", reverse_proxy_external_port=port)
    assert "return 301 https://%s%s$request_uri;" % (DOMAIN, suffix) in site
    assert "proxy_set_header Host $host%s;" % suffix in site
    assert "proxy_set_header X-Forwarded-Host $host%s;" % suffix in site
    # nginx still listens on 443: the router maps the external port to it.
    assert re.search(r"listen 443 ssl", site)
    assert "listen %s" % port not in site or port == 443


def test_caddy_redirects_plain_http_to_the_external_port():
    caddyfile = _render("Caddyfile.j2", reverse_proxy_external_port=8443)
    block = caddyfile[caddyfile.index("http://%s {" % DOMAIN):]
    assert "redir https://%s:8443{uri} permanent" % DOMAIN in block
    # On 443 Caddy's own redirect is right: no extra site.
    assert "http://%s" % DOMAIN not in _render("Caddyfile.j2", reverse_proxy_external_port=443)


def _check(name, **given):
    task = next(t for t in _yaml("tasks", "main.yml") if t.get("name") == name)
    check = task["ansible.builtin.assert"]
    values = dict(_yaml("defaults", "main.yml"), reverse_proxy_domain=DOMAIN)
    values.update(given)
    env = _env()
    ok = all(env.from_string("{{ (%s) | bool }}" % cond).render(**values) == "True" for cond in check["that"])
    applies = all(env.from_string("{{ (%s) | bool }}" % cond).render(**values) == "True"
                  for cond in ([task["when"]] if "when" in task else []))
    return applies, ok, " ".join(env.from_string(check["fail_msg"]).render(**values).split())


def test_caddy_with_dns01_stops_naming_both_options_and_the_ways_out():
    applies, ok, message = _check("Check the DNS-01 settings", reverse_proxy_server="caddy",
                                  reverse_proxy_acme_challenge="dns-01")
    assert applies and not ok
    for text in ("reverse_proxy_acme_challenge is dns-01", "reverse_proxy_server is caddy",
                 "Debian's caddy has no DNS modules", "Use nginx", "the vendor Caddy with the DNS module",
                 "Nothing was changed."):
        assert text in message
    assert _check("Check the DNS-01 settings", reverse_proxy_server="nginx", reverse_proxy_acme_challenge="dns-01")[1]
    assert not _check("Check the DNS-01 settings", reverse_proxy_server="caddy")[0]  # http-01: not asked


@pytest.mark.parametrize("given, ok", [
    (dict(reverse_proxy_acme_dns_provider="cloudflare", reverse_proxy_acme_cloudflare_api_token="tok"), True),
    (dict(reverse_proxy_acme_dns_provider="cloudflare"), False),
    (dict(reverse_proxy_acme_dns_provider="rfc2136"), False),
    (dict(reverse_proxy_acme_dns_provider="rfc2136", reverse_proxy_acme_rfc2136_server="192.0.2.53",
          reverse_proxy_acme_rfc2136_key_name="acme", reverse_proxy_acme_rfc2136_key_secret="c2VjcmV0"), True),
])
def test_dns01_provider_settings(given, ok):
    applies, result, message = _check("Check the DNS-01 provider's settings", reverse_proxy_server="nginx",
                                      reverse_proxy_acme_challenge="dns-01", **given)
    assert applies and result is ok
    assert "reverse_proxy_acme_cloudflare_api_token" in message and "reverse_proxy_acme_rfc2136_server" in message


@pytest.mark.parametrize("port, ok", [(443, True), (8443, True), (1, True), (65535, True), (0, False),
                                      (65536, False), (-1, False), ("x", False)])
def test_external_port_is_checked_by_name(port, ok):
    applies, result, message = _check("Check the external port", reverse_proxy_external_port=port)
    assert applies and result is ok
    assert message.startswith("reverse_proxy_external_port must be a port number between 1 and 65535")
    assert "got %s." % port in message
