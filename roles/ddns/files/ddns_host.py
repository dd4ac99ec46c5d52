#!/usr/bin/python3
# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ddns role's timer (ddns_timer): keeps the records ddclient does not serve current
without Ansible, with the collection's own code (module_utils _ddns, _public_ip) installed
beside this file by the internal role _host_runner.

    ddns_host.py CONFIG.json

CONFIG (0644, no secret) holds the provider's settings, the record types, where the addresses
come from and the path of the credentials file (0600 root, JSON: username, password, token,
api_key, secret_api_key, tsig_key_secret). Each run finds the addresses (AAAA: this host's
first global IPv6 address, as public_ip reports ipv6_host_addresses; A: the public_ip sources'
race), reads the records at the provider and writes only those that differ (the _ddns runner
compares). One journal line per record: unchanged, or old -> new with the provider's answer.
Exit 0 when the records hold the addresses, 1 on a provider or configuration error (the unit
shows failed). No secret in the output: every line passes through the provider's redactor.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from ansible_collections.homelab.jellyfin_remote.plugins.module_utils import _ddns  # noqa: E402
from ansible_collections.homelab.jellyfin_remote.plugins.module_utils import _public_ip  # noqa: E402

# The credentials file's keys (Settings fields).
CREDENTIALS = ("username", "password", "token", "api_key", "secret_api_key", "tsig_key_secret")


class RunnerError(Exception):
    """A problem with this host's settings or addresses (not the provider's)."""


def read_json(path, what):
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except OSError as exc:
        raise RunnerError("cannot read the %s %s: %s; run the ddns role again" % (what, path, exc.strerror)) from None
    except ValueError:
        raise RunnerError("the %s %s is not JSON; run the ddns role again to rewrite it" % (what, path)) from None
    if not isinstance(data, dict):
        raise RunnerError("the %s %s is not a JSON object; run the ddns role again to rewrite it" % (what, path))
    return data


def ip_addr_pairs():
    """(interface, address) pairs of `ip -j addr show`, read as public_ip reads them."""
    proc = subprocess.run(["ip", "-j", "addr", "show"], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RunnerError("`ip -j addr show` failed (rc=%d): %s" % (proc.returncode, (proc.stderr or "").strip()[:200]))
    try:
        return _public_ip.parse_ip_json_addr(proc.stdout)
    except ValueError as exc:
        raise RunnerError(str(exc)) from None


def host_ipv6(options, pairs):
    """The first global IPv6 address on this host's interfaces (public_ip's ipv6_host_addresses)."""
    host = _public_ip.host_addresses(pairs, _public_ip.parse_ranges(options.get("allow_ranges")),
                                     options.get("ignore_interfaces") or ())
    found = host.global_list(6)
    if not found:
        raise RunnerError("this host has no global IPv6 address now (ip addr); the AAAA record is left as it is")
    return found[0]


def public_ipv4(options, race=None):
    """The public IPv4 address by the public_ip sources' race (ddns_public_ip_options)."""
    sources = _public_ip.build_sources(options.get("dns_sources"), options.get("http_sources"),
                                       options.get("extra_http_urls"), (4,))
    result = (race or _public_ip.race)(
        sources,
        ip_versions=(4,),
        timeout=float(options.get("timeout") or _public_ip.DEFAULT_TIMEOUT),
        min_agreement=int(options.get("min_agreement") or 1),
        allow_ranges=_public_ip.parse_ranges(options.get("allow_ranges")),
        validate_certs=options.get("validate_certs", True),
        ca_path=options.get("ca_path"),
    )
    address = result.addresses.get(4)
    if not address:
        raise RunnerError("no public IPv4 address found (the sources did not answer or agree); the A record is left as it is")
    return address


def desired(config, pairs=None, race=None):
    """{record_type: address} for the record types the timer keeps."""
    wanted = {}
    for record_type in config["record_types"]:
        if record_type == "AAAA":
            wanted["AAAA"] = host_ipv6(config.get("ipv6") or {}, ip_addr_pairs() if pairs is None else pairs)
        else:
            wanted["A"] = public_ipv4(config.get("ipv4") or {}, race)
    return wanted


def lines(result, hostname):
    """One line per record: unchanged, or old -> new with the provider's answer."""
    out = []
    for record_type, address in sorted(result["current"].items()):
        before = result["previous"].get(record_type)
        if before == address:
            out.append("%s %s: unchanged (%s)" % (hostname, record_type, address))
        else:
            out.append("%s %s: %s -> %s at %s, answer: %s"
                       % (hostname, record_type, before or "none", address, result["provider"], result.get("answer") or "-"))
    return out


def main(argv, out=None, err=None, pairs=None, race=None, provider=None, sleep=time.sleep):
    out = out or sys.stdout
    err = err or sys.stderr
    if len(argv) != 2:
        print("usage: ddns_host.py CONFIG.json", file=err)
        return 2
    redact = _ddns.Redactor()
    name = "?"
    try:
        config = read_json(argv[1], "settings file")
        name = (config.get("settings") or {}).get("hostname") or "?"
        credentials = read_json(config["credentials"], "credentials file")
        secrets = {k: v for k, v in credentials.items() if k in CREDENTIALS and v not in (None, "")}
        redact = _ddns.Redactor(secrets.values())
        settings = _ddns.Settings(**dict(config["settings"], **secrets))
        wanted = desired(config, pairs, race)
        result = _ddns.run(settings, wanted, sleep=sleep, provider=provider)
    except (RunnerError, _ddns.DdnsError, KeyError, TypeError, ValueError) as exc:
        text = "the settings file lacks %s; run the ddns role again" % exc if isinstance(exc, KeyError) else str(exc)
        kind = " (%s)" % exc.kind if isinstance(exc, _ddns.DdnsError) else ""
        print(redact("ddns: %s: not updated%s: %s" % (name, kind, text)), file=err)
        return 1
    for line in lines(result, name):
        print(redact("ddns: " + line), file=out)
    if result.get("warning"):
        print(redact("ddns: %s: %s" % (name, result["warning"])), file=err)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
