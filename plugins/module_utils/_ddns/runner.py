# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What ddns_update runs: desired_addresses() (what to publish), run() (read first, write only
what differs, predict in check mode), run_delete() (read first, delete only what is there) and
removal_line() (the summary's line for a removal).
"""

from __future__ import annotations

import ipaddress

from ansible_collections.homelab.jellyfin_remote.plugins.module_utils._ddns.base import (
    FAMILY,
    RECORD_TYPES,
    Counter,
    DdnsError,
    with_retries,
)
from ansible_collections.homelab.jellyfin_remote.plugins.module_utils._ddns.provider import make_provider, provider_class


def desired_addresses(record_types=None, addresses=None, public_ip=None):
    """{record_type: address} from explicit addresses or a public_ip result.

    record_types None: every family that has an address. Raises DdnsError(config).
    """
    by_family = {}
    if addresses:
        for text in addresses:
            try:
                ip = ipaddress.ip_address(str(text).strip())
            except ValueError:
                raise DdnsError("config", "address: %r is not an IP address; give an IPv4 or IPv6 address" % (text,)) from None
            rtype = "A" if ip.version == 4 else "AAAA"
            if rtype in by_family and by_family[rtype] != ip.compressed:
                raise DdnsError(
                    "config",
                    "address: two IPv%d addresses given (%s, %s); give at most one address per family" % (ip.version, by_family[rtype], ip.compressed),
                )
            by_family[rtype] = ip.compressed
        source = "address"
    else:
        source = "public_ip"
        if not isinstance(public_ip, dict):
            raise DdnsError("config", "public_ip must be the dict registered from homelab.jellyfin_remote.public_ip")
        for key, rtype, version in (("ipv4", "A", 4), ("ipv6", "AAAA", 6)):
            value = public_ip.get(key)
            if value in (None, ""):
                continue
            try:
                ip = ipaddress.ip_address(str(value).strip())
            except ValueError:
                raise DdnsError("config", "public_ip.%s: %r is not an IP address" % (key, value)) from None
            if ip.version != version:
                raise DdnsError("config", "public_ip.%s: %s is not an IPv%d address" % (key, ip, version))
            by_family[rtype] = ip.compressed
    if record_types is None:
        if not by_family:
            raise DdnsError(
                "config",
                "public_ip has neither ipv4 nor ipv6 (the lookup found no public address); nothing to publish. "
                "Check the public_ip result or give address",
            )
        return {t: by_family[t] for t in RECORD_TYPES if t in by_family}
    wanted = {}
    for rtype in record_types:
        if rtype not in by_family:
            key = "ipv4" if rtype == "A" else "ipv6"
            if source == "address":
                raise DdnsError("config", "record type %s needs an IPv%d address in address; add one or remove %s" % (rtype, FAMILY[rtype], rtype))
            raise DdnsError(
                "config",
                "record type %s needs public_ip.%s, which is empty (no public IPv%d found); remove %s from record_types or give address"
                % (rtype, key, FAMILY[rtype], rtype),
            )
        wanted[rtype] = by_family[rtype]
    return wanted


def run(settings, desired, check_mode=False, sleep=None, provider=None):
    """Read each record, write the ones that differ. Returns the result dict.

    On failure raises DdnsError; its `partial` attribute holds the result so far.
    """
    provider = provider or make_provider(settings)
    provider.check_types(desired)
    result = dict(
        changed=False,
        provider=settings.provider,
        hostname=settings.hostname,
        previous={},
        current={},
        answer=None,
        requests=provider.counter.as_dict(),
    )

    def write(previous, retried):
        changes = {t: a for t, a in desired.items() if previous.get(t) != a}
        if changes:
            result["changed"] = True
            if not check_mode:
                outcome = retried(lambda: provider.update_many(changes, desired))
                result["answer"] = outcome.answer
                if outcome.warning:
                    result["warning"] = outcome.warning
            result["current"].update(changes)

    return _read_then_write(settings, provider, result, list(desired), sleep, write)


def _read_then_write(settings, provider, result, record_types, sleep, write):
    """Read record_types into result's previous/current, then write(previous, retried), where
    retried(call) runs call under with_retries. The requests made go into result, also when a
    DdnsError ends the run (then result is the error's `partial`)."""
    retries = dict(max_retries=settings.max_retries, max_wait=settings.max_retry_wait, sleep=sleep, max_total=settings.max_retry_seconds)
    try:
        previous = with_retries(lambda: provider.read_many(record_types), **retries)
        result["previous"] = dict(previous)
        result["current"] = dict(previous)
        write(previous, lambda call: with_retries(call, **retries))
    except DdnsError as exc:
        result["requests"] = provider.counter.as_dict()
        exc.partial = result
        raise
    result["requests"] = provider.counter.as_dict()
    return result


def removal_line(result, check_mode=False):
    """The one line a summary prints for a run_delete() result."""
    name = "DNS record %s" % result["hostname"]
    provider = result["provider"]
    if result.get("kept"):
        return "%s left as it is: %s" % (name, result["kept"])
    types = result.get("deleted") or []
    if not types:
        return "%s: nothing to remove at %s (no %s record there)" % (name, provider, " or ".join(result.get("record_types") or RECORD_TYPES))
    word = result.get("removed_word") or "deleted"
    note = " (%s)" % result["removal_note"] if result.get("removal_note") else ""
    return "%s (%s) %s%s at %s%s" % (name, ", ".join(types), "would be " if check_mode else "", word, provider, note)


def run_delete(settings, record_types=None, check_mode=False, sleep=None, provider=None):
    """Remove the name's records of record_types (default: every type the provider holds).

    A provider without a delete gets no request at all: the result's `kept` says why the
    record stays. Otherwise each type is read first and only types that have an address are
    removed (none: changed false). On failure raises DdnsError with `partial`.
    """
    cls = provider.__class__ if provider is not None else provider_class(settings.provider)
    types = [t for t in RECORD_TYPES if t in (record_types or cls.supported_types)]
    result = dict(
        changed=False,
        provider=settings.provider,
        hostname=settings.hostname,
        record_types=types,
        previous={},
        current={},
        deleted=[],
        kept=None,
        removed_word=cls.removed_word,
        removal_note=cls.removal_note,
        answer=None,
        requests=Counter().as_dict(),
    )
    if not cls.can_delete:
        result["kept"] = "%s %s" % (settings.provider, cls.cannot_delete)
        result["warning"] = "ddns_update %s %s: the record was not removed: %s" % (settings.provider, settings.hostname, result["kept"])
        return result
    provider = provider or make_provider(settings)
    provider.check_types(types)
    provider.check_removal(types)

    def write(previous, retried):
        present = [t for t in types if previous.get(t)]
        if present:
            result["changed"] = True
            result["deleted"] = present
            if not check_mode:
                result["answer"] = retried(lambda: provider.delete_many(present)).answer
            result["current"].update({t: None for t in present})

    return _read_then_write(settings, provider, result, types, sleep, write)
