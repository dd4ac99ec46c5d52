"""The certbot role's DNS-01 providers (RFC 2136 and Cloudflare), read from the role's own files.

The credentials templates, certbot's arguments (roles/certbot/vars/main.yml) and the checks of
roles/certbot/tasks/main.yml are rendered with Jinja and ansible-core's own filters and tests,
so a change to the role is what is tested here. The Cloudflare path is not run end to end
anywhere (the lab has no Cloudflare stand-in); RFC 2136 is, in the jellyfin_https scenario.
"""

from __future__ import annotations

import os

import jinja2
import pytest
import yaml
from ansible.plugins.filter.core import FilterModule as CoreFilters
from ansible.plugins.test.core import TestModule as CoreTests

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
ROLE = os.path.join(REPO, "roles", "certbot")
TOKEN = "cf-Token_0123456789abcdefABCDEF0123456789"
MANAGED = "Ansible managed"


def _env():
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, loader=jinja2.FileSystemLoader(os.path.join(ROLE, "templates")),
                             keep_trailing_newline=True)
    env.filters.update(CoreFilters().filters())
    env.tests.update(CoreTests().tests())
    return env


def _yaml(*parts):
    with open(os.path.join(ROLE, *parts), encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def _variables(**given):
    """The role's defaults with given over them, and its vars rendered (in file order)."""
    values = dict(_yaml("defaults", "main.yml"), certbot_domain="media.example.org")
    values.update(given)
    env = _env()
    values["certbot_cert_name"] = env.from_string(values["certbot_cert_name"]).render(**values)
    for name, raw in _yaml("vars", "main.yml").items():
        if name in ("__certbot_check_only", "__certbot_account_dir"):
            continue  # facts of the run, and a path from the directory URL: not what is tested here
        values[name] = (yaml.safe_load(env.from_string(raw).render(**values)) if isinstance(raw, str)
                        else raw)
    return values


def _task(name):
    return next(t for t in _yaml("tasks", "main.yml") if t.get("name") == name)


def test_cloudflare_ini_holds_the_token_and_nothing_else():
    text = _env().get_template("cloudflare.ini.j2").render(ansible_managed=MANAGED,
                                                            certbot_cloudflare_api_token="  %s\n" % TOKEN)
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert lines == ["dns_cloudflare_api_token = %s" % TOKEN]
    assert text.endswith("\n")


def test_rfc2136_ini_is_unchanged_by_the_second_provider():
    text = _env().get_template("rfc2136.ini.j2").render(
        ansible_managed=MANAGED, certbot_rfc2136_server="192.0.2.53", certbot_rfc2136_port=53,
        certbot_rfc2136_key_name="acme", certbot_rfc2136_key_secret="c2VjcmV0", certbot_rfc2136_key_algorithm="HMAC-SHA256")
    assert "dns_rfc2136_secret = c2VjcmV0" in text and "dns_cloudflare" not in text


@pytest.mark.parametrize("provider, package, path, seconds", [
    ("cloudflare", "python3-certbot-dns-cloudflare", "/etc/letsencrypt/jellyfin-remote-cloudflare-media.example.org.ini",
     "10"),
    ("rfc2136", "python3-certbot-dns-rfc2136", "/etc/letsencrypt/jellyfin-remote-rfc2136-media.example.org.ini", "30"),
])
def test_certbot_reads_the_secret_from_the_file_never_from_its_arguments(provider, package, path, seconds):
    values = _variables(certbot_challenge="dns-01", certbot_dns_provider=provider, certbot_cloudflare_api_token=TOKEN,
                        certbot_rfc2136_key_secret="c2VjcmV0")
    assert values["__certbot_dns_credentials"] == path
    argv = values["__certbot_dns_argv"]
    assert argv == ["--dns-%s" % provider, "--dns-%s-credentials" % provider, path,
                    "--dns-%s-propagation-seconds" % provider, seconds]
    assert TOKEN not in " ".join(argv) and "c2VjcmV0" not in " ".join(argv)
    assert values["__certbot_dns01_packages"][provider] == [package]


def test_the_request_uses_the_providers_arguments():
    argv = _task("Ask the ACME server for the certificate when there is none yet")["vars"]["__certbot_argv"]
    assert "'dns-01': __certbot_dns_argv" in argv
    assert "secret" not in argv and "token" not in argv


def test_credentials_file_is_created_private_before_the_secret_is_written():
    tasks = _yaml("tasks", "main.yml")
    names = [t.get("name") for t in tasks]
    touch = _task("Create the DNS-01 credentials file root-only")["ansible.builtin.file"]
    assert (touch["state"], touch["mode"], touch["owner"]) == ("touch", "0600", "root")
    assert touch["modification_time"] == "preserve"  # a re-run changes nothing
    write = _task("Write the DNS-01 credentials")
    assert names.index("Create the DNS-01 credentials file root-only") < names.index("Write the DNS-01 credentials")
    assert write["no_log"] is True and write["diff"] is False
    assert write["ansible.builtin.template"]["mode"] == "0600"
    assert write["ansible.builtin.template"]["src"] == "{{ certbot_dns_provider }}.ini.j2"
    for provider in ("rfc2136", "cloudflare"):
        assert os.path.exists(os.path.join(ROLE, "templates", "%s.ini.j2" % provider))


def _settings_check(**given):
    task = _task("Check the certificate settings")["ansible.builtin.assert"]
    values = dict(_yaml("defaults", "main.yml"), certbot_domain="media.example.org")
    values.update(given)
    env = _env()
    ok = all(env.from_string("{{ (%s) | bool }}" % cond).render(**values) == "True" for cond in task["that"])
    return ok, " ".join(task["fail_msg"].split())


@pytest.mark.parametrize("given, ok", [
    (dict(certbot_challenge="dns-01", certbot_dns_provider="cloudflare", certbot_cloudflare_api_token=TOKEN), True),
    (dict(certbot_challenge="dns-01", certbot_dns_provider="cloudflare", certbot_cloudflare_api_token=""), False),
    (dict(certbot_challenge="dns-01", certbot_dns_provider="cloudflare", certbot_cloudflare_api_token="   "), False),
    (dict(certbot_challenge="dns-01", certbot_dns_provider="cloudflare", certbot_cloudflare_api_token="a\nb"), False),
    # The RFC 2136 settings are not asked for with Cloudflare, nor the token with RFC 2136.
    (dict(certbot_challenge="dns-01", certbot_dns_provider="rfc2136", certbot_rfc2136_server="192.0.2.53",
          certbot_rfc2136_key_name="acme", certbot_rfc2136_key_secret="c2VjcmV0"), True),
    (dict(certbot_challenge="dns-01", certbot_dns_provider="rfc2136"), False),
    (dict(certbot_challenge="standalone"), True),
])
def test_dns01_settings_are_checked_per_provider(given, ok):
    result, message = _settings_check(**given)
    assert result is ok
    assert "certbot_cloudflare_api_token" in message and "certbot_rfc2136_server" in message
    assert message.endswith("Nothing was changed.")


def test_the_token_is_a_secret_in_every_role_that_passes_it():
    for role, option in (("certbot", "certbot_cloudflare_api_token"),
                         ("reverse_proxy", "reverse_proxy_acme_cloudflare_api_token"),
                         ("jellyfin_https", "jellyfin_https_acme_cloudflare_api_token")):
        with open(os.path.join(REPO, "roles", role, "meta", "argument_specs.yml"), encoding="utf-8") as handle:
            spec = yaml.safe_load(handle)["argument_specs"]["main"]["options"][option]
        assert spec["no_log"] is True, option
