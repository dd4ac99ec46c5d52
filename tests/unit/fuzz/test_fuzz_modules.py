# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fuzz every module's main() with random and hostile option values.

Every module in plugins/modules/ is driven through the unit tests' runner
(tests/unit/harness.py run_module: patched module args, exit_json and fail_json raising). Each case starts from a small valid set of arguments (BASE_ARGS, so
that the fuzzing gets past the required options) and replaces or adds up to four options,
read from the module's DOCUMENTATION, with values from a strategy that mixes values of the
documented type with wrong types, huge and unicode strings, NUL bytes, path tricks, bad
addresses and out-of-range numbers.

A case passes when main() ends in exit_json, or in fail_json whose msg names an option,
the file path or a missing library. Anything else (an uncaught exception, main()
returning) is a traceback the user would see, and fails the test with the input.

Safety: the test runs in a temp directory. Relative hostile paths (../../etc/passwd)
resolve inside it; absolute paths outside it are only used in check mode, and never
devices that read forever. The unit tests' network guard refuses all socket traffic here
(any address, loopback too), host names do not resolve, miniupnpc cannot be imported, and
waits between retries are no-ops.
"""

from __future__ import annotations

import glob
import importlib
import os
import sys
import time
import traceback

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from harness import run_module

from .conftest import STATS

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
MODULES = sorted(
    os.path.splitext(os.path.basename(p))[0]
    for p in glob.glob(os.path.join(REPO, "plugins", "modules", "*.py"))
    if not os.path.basename(p).startswith("_")
)
PACKAGE = "ansible_collections.homelab.jellyfin_remote.plugins.modules."
UTILS = "ansible_collections.homelab.jellyfin_remote.plugins.module_utils."
LIBRARIES = ("cryptography", "dnspython", "miniupnpc", "segno")
# ansible-core argument-spec messages that do not name the option; not the module's doing.
CORE_MESSAGES = ("dictionary requested, could not parse JSON or key=value",)

WG_CONF = "[Interface]\nPrivateKey = %s\nAddress = 10.8.0.2/32\n\n[Peer]\nPublicKey = %s\nEndpoint = 192.0.2.1:51820\nAllowedIPs = 0.0.0.0/0\n" % (
    "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=",
    "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=",
)

# Valid arguments to start from; "{tmp}" becomes the case's temp directory.
BASE_ARGS = {
    "host_record": {"section": "site", "data": {"method": "wireguard"}, "path": "{tmp}/state.json"},
    "host_record_info": {"path": "{tmp}/state.json"},
    "host_probe": {"paths": ["{tmp}/x"], "files": ["{tmp}/x"], "json_files": ["{tmp}/x"], "users": ["root"]},
    "jellyfin_network": {"path": "{tmp}/network.xml", "record_path": "{tmp}/state.json"},
    "jellyfin_system": {"path": "{tmp}/system.xml", "record_path": "{tmp}/state.json"},
    "public_ip": {"timeout": 0.05, "wan_source": "none"},
    "ddns_update": {"provider": "duckdns", "hostname": "home.example.org", "token": "fuzz-token-0123456789", "address": ["203.0.113.7"], "timeout": 0.05, "max_retries": 0},
    "upnp_port_mapping": {"external_port": 8096, "discovery_delay_ms": 100},
    "wireguard_keypair": {"path": "{tmp}/wg.key"},
    "wireguard_qr": {"content": WG_CONF, "png_path": "{tmp}/client.png", "text_path": "{tmp}/client.txt"},
}
# Options whose size drives how long a case runs, not whether it is handled: kept small.
BOUNDED = {
    "ddns_update": {"max_retries": st.integers(-5, 3), "timeout": st.sampled_from([0.01, 0.05, 0, -1.0]), "max_retry_wait": st.sampled_from([0.0, 0.001, -1.0, 0.01]),
                    "max_retry_seconds": st.sampled_from([0.0, 0.01, -1.0, 901.0, 900.0])},
    "public_ip": {"timeout": st.sampled_from([0.01, 0.05, 0, -1.0, None])},
    "upnp_port_mapping": {"discovery_delay_ms": st.integers(-10, 200)},
    "wireguard_qr": {"scale": st.integers(-3, 12), "border": st.integers(-3, 10)},
}

HUGE = 10**30
SAFE_ABSOLUTE = ["/etc/passwd", "/proc/self/status", "/", "/nonexistent/dir/file", "/dev/null", "/etc"]


def _hostile_text():
    return st.sampled_from(
        [
            "",
            " ",
            "\x00",
            "a\x00b",
            "../../etc/passwd",
            "..",
            "~",
            "$(id)",
            "`id`",
            "${HOME}",
            "%s%n%x",
            "{{ lookup('pipe', 'id') }}",
            "' OR 1=1 --",
            "<![CDATA[x]]>",
            "<a>&amp;</a>",
            "\u202e\u0645\u0631\u062d\u0628\u0627",
            "\U0001f600" * 50,
            "\ufeffBOM",
            "A" * 100000,
            "-1",
            "0x10",
            "1e309",
            "NaN",
            "999.999.999.999",
            "256.0.0.1",
            "1.2.3",
            "10.0.0.0/33",
            "::ffff:999.1.1.1",
            "fe80::1%eth0",
            "2001:db8::/129",
            "0.0.0.0/0",
            "192.0.2.1:99999",
            "http://",
            "http://[::1",
            "https://user:pass@127.0.0.1:0/",
            "file:///etc/passwd",
            "\r\nInjected: header",
            "/jellyfin/../..",
            "yes",
            "None",
        ]
    ) | st.text(max_size=40)


def _numbers():
    return st.sampled_from([0, -1, 1, 65535, 65536, -65536, HUGE, -HUGE, 2**31, 2**63, 0.5, -0.0, 1e308]) | st.integers(-(10**6), 10**6)


def _scalar():
    return _hostile_text() | _numbers() | st.booleans() | st.none() | st.floats(allow_nan=False)


def _value(option):
    """A strategy for one option from its DOCUMENTATION entry."""
    kind = option.get("type", "str")
    by_type = {
        "str": _hostile_text(),
        "raw": _scalar(),
        "path": _hostile_text(),
        "int": _numbers(),
        "float": _numbers() | st.floats(allow_nan=True, allow_infinity=True),
        "bool": st.booleans() | st.sampled_from(["yes", "no", "maybe", 2, "on", ""]),
        "dict": st.dictionaries(st.text(max_size=8), _scalar(), max_size=4),
        "list": st.lists(_scalar(), max_size=5),
    }
    strategy = by_type.get(kind, _scalar())
    if "choices" in option:
        strategy = st.sampled_from(list(option["choices"])) | strategy
    if kind == "list":
        elements = option.get("elements", "str")
        if elements == "dict" and option.get("suboptions"):
            element = st.fixed_dictionaries(
                {},
                optional={name: _value(sub) for name, sub in option["suboptions"].items()},
            )
        else:
            element = _value({"type": elements, "choices": option["choices"]} if "choices" in option else {"type": elements})
        strategy = st.lists(element, max_size=6) | strategy
    # A wrong type now and then, whatever the documented type.
    return st.one_of(strategy, strategy, strategy, _scalar(), st.lists(_scalar(), max_size=3), st.dictionaries(st.text(max_size=5), _scalar(), max_size=3))


def _documented_options(module):
    doc = yaml.safe_load(module.DOCUMENTATION)
    return doc.get("options") or {}


@pytest.fixture
def no_network(loopback_only, monkeypatch):
    """The unit tests' network guard refusing loopback too; no miniupnpc; no waits.

    Attempts are expected here: they are counted (the summary's "network attempts blocked")
    and cleared, so that the guard's own teardown check does not fail the test.
    """
    loopback_only.loopback = False
    # Waits are no-ops. time.sleep is taken before it is patched: a function that captured it
    # as a default argument (sleep=time.sleep) would sleep for real, so such defaults in the
    # collection's module_utils are replaced too. The modules are imported first, so that
    # none captures the patched sleep for later tests.
    for module_name in MODULES:
        importlib.import_module(PACKAGE + module_name)
    real_sleep = time.sleep
    monkeypatch.setattr(time, "sleep", lambda seconds: None)
    for module_name, loaded in list(sys.modules.items()):
        if not module_name.startswith(UTILS) or loaded is None:
            continue
        for func in vars(loaded).values():
            defaults = getattr(func, "__defaults__", None) or ()
            if any(d is real_sleep for d in defaults):
                monkeypatch.setattr(func, "__defaults__", tuple((lambda seconds: None) if d is real_sleep else d for d in defaults))
    yield loopback_only
    loopback_only.violations.clear()


def _fill(value, tmp):
    if isinstance(value, str):
        return value.replace("{tmp}", tmp)
    if isinstance(value, list):
        return [_fill(v, tmp) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, tmp) for k, v in value.items()}
    return value


def _paths_outside(args, tmp, path_options):
    for name in path_options:
        value = args.get(name)
        if isinstance(value, str) and os.path.isabs(value) and not os.path.realpath(value).startswith(tmp):
            return True
    return False


def _names_something(msg, option_names, args, path_options):
    text = str(msg)
    if any(name in text for name in option_names):
        return True
    if any(lib in text for lib in LIBRARIES) or any(core in text for core in CORE_MESSAGES):
        return True
    return any(isinstance(args.get(p), str) and args[p] and args[p] in text for p in path_options)


@pytest.mark.parametrize("name", MODULES)
def test_fuzz_module(name, tmp_path, monkeypatch, no_network):
    module = importlib.import_module(PACKAGE + name)
    options = _documented_options(module)
    assert options, "%s has no documented options to fuzz" % name
    path_options = [o for o, spec in options.items() if spec.get("type") == "path" or o in ("path", "png_path", "text_path")]
    bounded = BOUNDED.get(name, {})
    mutations = st.dictionaries(
        st.sampled_from(sorted(options)),
        st.just(None),
        max_size=4,
    ).flatmap(lambda chosen: st.fixed_dictionaries({o: bounded.get(o, _value(options[o])) for o in chosen}))
    stats = STATS.setdefault(name, {"cases": 0, "exit": 0, "fail": 0, "tracebacks": 0, "vague": 0, "blocked": 0})
    problems = []
    counter = iter(range(10**9))

    @settings(settings.get_profile("jellyfin_remote_fuzz"))
    @given(mutations=mutations, drop=st.sets(st.sampled_from(sorted(BASE_ARGS.get(name, {})) or ["-"]), max_size=1), check_mode=st.booleans(), diff=st.booleans())
    def case(mutations, drop, check_mode, diff):
        work = tmp_path / ("case%d" % next(counter)) / "a" / "b" / "c"
        work.mkdir(parents=True)
        tmp = str(tmp_path)
        monkeypatch.chdir(work)
        args = {k: v for k, v in _fill(BASE_ARGS.get(name, {}), str(work)).items() if k not in drop}
        args.update(mutations)
        # Absolute paths outside the temp dir, given or the documented default of one that was
        # left out (host_record's /var/lib/jellyfin-remote/state.json): never write there.
        given = {o: options[o].get("default") for o in path_options if options[o].get("default")}
        given.update(args)
        if _paths_outside(given, tmp, path_options):
            check_mode = True
        if name == "wireguard_keypair" and args.get("return_secret") is True:
            args["_ansible_no_log"] = True
        stats["cases"] += 1
        try:
            kind, result, _warnings = run_module(module.main, args, check=check_mode, diff=diff)
        except OverflowError as exc:
            # ansible-core's own check_type_int raises on an infinite float for an int option
            # (module_utils/common/validation.py), before the module's code runs: core's, not ours.
            if not _raised_in_core_validation(exc):
                stats["tracebacks"] += 1
                problems.append("%s: %s: %s\n    input: %s" % (name, type(exc).__name__, _short(str(exc)), _short(args)))
            return
        except Exception as exc:  # the point of the test: anything else is a bug
            stats["tracebacks"] += 1
            problems.append("%s: %s: %s\n    input: %s" % (name, type(exc).__name__, _short(str(exc)), _short(args)))
            return
        stats[kind] += 1
        if kind == "fail":
            msg = result.get("msg")
            if not msg or not _names_something(msg, options, args, path_options):
                stats["vague"] += 1
                problems.append("%s: fail_json msg names no option: %r\n    input: %s" % (name, msg, _short(args)))

    case()
    stats["blocked"] = len(no_network.violations)
    assert not problems, "%d problem(s) in %d cases:\n%s" % (len(problems), stats["cases"], "\n".join(_dedupe(problems)[:15]))


def _raised_in_core_validation(exc):
    frames = traceback.extract_tb(exc.__traceback__)
    return bool(frames) and frames[-1].filename.endswith(os.path.join("ansible", "module_utils", "common", "validation.py"))


def _short(value, limit=400):
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "...(%d chars)" % len(text)


def _dedupe(problems):
    seen, out = set(), []
    for problem in problems:
        key = problem.split("\n")[0][:120]
        if key not in seen:
            seen.add(key)
            out.append(problem)
    return out
