# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The race: every source asked at once in daemon threads, each family settled as soon as enough agree."""

from __future__ import annotations

import ipaddress
import queue
import socket
import threading
import time

from ansible_collections.homelab.jellyfin_remote.plugins.module_utils._public_ip.answers import validate_answer
from ansible_collections.homelab.jellyfin_remote.plugins.module_utils._public_ip.dnswire import dns_client_name, query_dns
from ansible_collections.homelab.jellyfin_remote.plugins.module_utils._public_ip.echo import query_http
from ansible_collections.homelab.jellyfin_remote.plugins.module_utils._public_ip.sources import DEFAULT_TIMEOUT, SourceError


def _error_text(exc):
    if isinstance(exc, SourceError):
        return str(exc)
    if isinstance(exc, socket.timeout) or "timed out" in str(exc):
        return "no answer within the time budget"
    reason = getattr(exc, "reason", None)  # urllib's URLError
    code = getattr(exc, "code", None)  # HTTPError
    if code is not None and isinstance(code, int):
        return "HTTP error %d" % code
    if reason is not None:
        return "%s" % (reason,)
    return "%s: %s" % (type(exc).__name__, exc) if str(exc) else type(exc).__name__


def run_daemon(func, *args):
    """Run func(*args) in a daemon thread; return a Job whose wait(deadline) gives its result."""
    job = Job(func, args)
    job.thread.start()
    return job


class Job:
    """A call in a daemon thread. wait() returns (value, exception) or None when not done."""

    def __init__(self, func, args):
        self._done = threading.Event()
        self._value = None
        self._error = None
        self.thread = threading.Thread(target=self._run, args=(func, args), daemon=True)

    def _run(self, func, args):
        try:
            self._value = func(*args)
        except Exception as exc:  # reported, never raised into a thread that nobody joins
            self._error = exc
        finally:
            self._done.set()

    def wait(self, deadline):
        left = deadline - time.monotonic()
        if not self._done.wait(max(left, 0)):
            return None
        return self._value, self._error


class RaceResult:
    """What race() found: addresses per family, per-source reports, disagreement."""

    def __init__(self, addresses, reports, disagreement, settled, dns_client):
        self.addresses = addresses  # {4: "x" or None, 6: ...}
        self.reports = reports
        self.disagreement = disagreement  # {4: [...], 6: [...]}, empty when they agree
        self.settled = settled  # {4: bool, 6: bool}
        self.dns_client = dns_client

    @property
    def any_accepted(self):
        return any(r["accepted"] for r in self.reports)


def race(
    sources,
    ip_versions=(4, 6),
    timeout=DEFAULT_TIMEOUT,
    min_agreement=1,
    allow_ranges=(),
    validate_certs=True,
    ca_path=None,
    dns_client="auto",
    deadline=None,
    fetch=None,
):
    """Ask every source at once; settle each family when min_agreement sources agree.

    Returns as soon as every requested family is settled or has no source left running,
    or when the budget (deadline, else now + timeout) is spent. Sources still running are
    left to their daemon threads and reported as not waited for.

    fetch(source, deadline) may replace the network call (tests of the race logic).
    """
    started = time.monotonic()
    if deadline is None:
        deadline = started + timeout
    client = dns_client_name(dns_client)
    if fetch is None:

        def fetch(source, until):
            if source.kind == "dns":
                return query_dns(source, until, client)
            return query_http(source, until, validate_certs, ca_path)

    families = tuple(sorted(set(ip_versions)))
    results = queue.Queue()

    def worker(index, source):
        begin = time.monotonic()
        try:
            answer, error = fetch(source, deadline), None
        except Exception as exc:  # every failure becomes a line in the report
            answer, error = None, exc
        results.put((index, answer, error, time.monotonic() - begin))

    reports = []
    for index, source in enumerate(sources):
        reports.append(
            {
                "name": source.name,
                "kind": source.kind,
                "family": source.family,
                "answer": None,
                "latency_ms": None,
                "error": None,
                "accepted": False,
            }
        )
        threading.Thread(target=worker, args=(index, source), daemon=True, name="public_ip:%s" % source.name).start()

    pending = set(range(len(sources)))
    votes = {f: {} for f in families}  # family -> {address: count}, in arrival order
    winner = {f: None for f in families}

    def open_families():
        still = []
        for f in families:
            if winner[f] is not None:
                continue
            if any(sources[i].family in (f, None) for i in pending):
                still.append(f)
        return still

    while pending and open_families():
        try:
            index, answer, error, latency = results.get(timeout=max(deadline - time.monotonic(), 0))
        except queue.Empty:
            break
        pending.discard(index)
        report = reports[index]
        report["latency_ms"] = int(round(latency * 1000))
        if error is not None:
            report["error"] = _error_text(error)
            continue
        report["answer"] = _shorten(answer)
        address, problem = validate_answer(answer, sources[index].family, allow_ranges)
        if address is not None and ipaddress.ip_address(address).version not in families:
            address, problem = (
                None,
                "IPv%d answer, but ip_versions does not ask for it" % ipaddress.ip_address(address).version,
            )
        if address is None:
            report["error"] = problem
            continue
        report["answer"] = address
        report["accepted"] = True
        family = ipaddress.ip_address(address).version
        if report["family"] is None:
            report["family"] = family
        tally = votes[family]
        tally[address] = tally.get(address, 0) + 1
        if winner[family] is None and tally[address] >= min_agreement:
            winner[family] = address

    for index in pending:
        mine = [f for f in families if sources[index].family in (f, None)]
        if mine and all(winner[f] is not None for f in mine):
            reports[index]["error"] = "not waited for: the result was already settled"
        else:
            reports[index]["error"] = "no answer within the time budget"

    disagreement = {f: (list(votes[f]) if len(votes[f]) > 1 else []) for f in (4, 6) if f in votes}
    for f in (4, 6):
        disagreement.setdefault(f, [])
    addresses = {f: winner.get(f) for f in (4, 6)}
    settled = {f: winner.get(f) is not None for f in (4, 6)}
    return RaceResult(addresses, reports, disagreement, settled, client)


def _shorten(text, limit=64):
    text = "%s" % (text,)
    return text if len(text) <= limit else text[:limit] + "..."
