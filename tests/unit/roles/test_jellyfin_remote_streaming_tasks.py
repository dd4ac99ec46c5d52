"""The site role's remote bitrate limit, evaluated from its task and vars files as Ansible would.

vars/main.yml's __jellyfin_remote_streaming_worked_out and tasks/streaming.yml's jellyfin_system arguments
are rendered with Jinja, ansible-core's filters and the collection's site_streaming filter, so a
change to those files is what is tested here. (Molecule's jellyfin_network scenario runs
tasks/streaming.yml against the lab's Jellyfin.)
"""

from __future__ import annotations

import os

import jinja2
import pytest
import yaml
from ansible.plugins.filter.core import FilterModule as CoreFilters

from ansible_collections.homelab.jellyfin_remote.plugins.filter.site_streaming import site_streaming

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
ROLE = os.path.join(REPO, "roles", "jellyfin_remote")
OMIT = "__omit_place_holder__"


def _yaml(*parts):
    with open(os.path.join(ROLE, *parts), encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def _env():
    env = jinja2.Environment(undefined=jinja2.ChainableUndefined)
    # Jinja's own default (ansible-core's replaces it only inside its templar).
    env.filters.update({k: v for k, v in CoreFilters().filters().items() if k not in ("default", "d")})
    env.filters["homelab.jellyfin_remote.site_streaming"] = site_streaming
    return env


def _eval(expr, **variables):
    """The value of one "{{ ... }}" as Ansible templates it (a native value, not its text)."""
    seen = []
    expr = expr.strip()
    if not (expr.startswith("{{") and expr.endswith("}}") and expr.count("{{") == 1):
        return _env().from_string(expr).render(**variables)  # text around it: a string
    inner = expr.removeprefix("{{").removesuffix("}}")
    _env().from_string("{{ capture(%s) }}" % inner).render(capture=seen.append, **variables)
    return seen[0]


def _vars_streaming(**variables):
    variables.setdefault("jellyfin_remote_preferences", {})
    role_vars = _yaml("vars", "main.yml")
    variables["__jellyfin_remote_upload_mbps"] = _eval(role_vars["__jellyfin_remote_upload_mbps"], **variables)
    return _eval(role_vars["__jellyfin_remote_streaming_worked_out"], **variables)


def test_the_declared_upload_wins_over_the_preferences():
    got = _vars_streaming(jellyfin_remote_upload_mbps=20, jellyfin_remote_remote_streams=2,
                          jellyfin_remote_preferences={"upload_mbps": 100, "remote_users": 5})
    assert got["limit"] == 7_000_000


def test_the_preferences_are_the_fallback_and_errors_name_them():
    got = _vars_streaming(jellyfin_remote_preferences={"upload_mbps": 100, "remote_users": 5})
    assert got["limit"] == 14_000_000
    with pytest.raises(Exception, match="jellyfin_remote_preferences.remote_users must be"):
        _vars_streaming(jellyfin_remote_preferences={"upload_mbps": 100, "remote_users": 0})
    # An explicit 0 is refused by name, not taken for "unset".
    with pytest.raises(Exception, match="jellyfin_remote_remote_streams must be"):
        _vars_streaming(jellyfin_remote_upload_mbps=20, jellyfin_remote_remote_streams=0)
    with pytest.raises(Exception, match="jellyfin_remote_upload_mbps must be"):
        _vars_streaming(jellyfin_remote_upload_mbps=0, jellyfin_remote_preferences={"upload_mbps": 100})


def test_nothing_declared_sets_no_limit_and_vpn_viewers_stay_local():
    got = _vars_streaming()
    assert (got["limit"], got["vpn_clients_local"]) == (None, True)
    assert _vars_streaming(jellyfin_remote_upload_mbps=20)["vpn_clients_local"] is False
    assert _vars_streaming(jellyfin_remote_upload_mbps=20, jellyfin_remote_vpn_clients_local=True)["vpn_clients_local"]


def test_the_relays_ceiling_counts_when_it_is_lower_than_the_upload():
    ceiling = {"mbps": 10, "server": "10.87.0.1", "runs_mbps": [10], "measured_at": "2026-12-07T22:10:00Z"}
    upload = {"mbps": 19, "server": "vps.example.org", "runs_mbps": [19], "measured_at": "2026-12-07T22:00:00Z"}
    got = _vars_streaming(jellyfin_remote_upload_mbps=20, __jellyfin_remote_measured={"upload": upload, "relay_ceiling": ceiling})
    assert got["limit"] == 7_000_000 and "the relay tunnel's ceiling" in got["lines"][0]
    assert _vars_streaming(jellyfin_remote_upload_mbps=20, __jellyfin_remote_measured={"upload": upload})["limit"] == 13_300_000
    assert _vars_streaming(__jellyfin_remote_measured={"relay_ceiling": None})["limit"] is None


def _system_args(state, limit):
    task = next(t for t in _yaml("tasks", "streaming.yml") if "homelab.jellyfin_remote.jellyfin_system" in t)
    assert task["notify"] == "jellyfin_network restart"
    args = task["homelab.jellyfin_remote.jellyfin_system"]
    variables = {"jellyfin_remote_state": state, "omit": OMIT,
                 "__jellyfin_remote_streaming": {"limit": limit}}
    return {key: _eval(value, **variables) if isinstance(value, str) and "{{" in value else value
            for key, value in args.items()}


def test_the_limit_is_set_when_the_upload_is_known():
    args = _system_args("present", 7_000_000)
    assert (args["state"], args["remote_client_bitrate_limit"], args["restore"]) == ("present", 7_000_000, OMIT)
    assert args["path"] == "/etc/jellyfin/system.xml"


def test_without_an_upload_the_owners_value_is_put_back():
    args = _system_args("present", None)
    assert (args["remote_client_bitrate_limit"], args["restore"]) == (OMIT, ["remote_client_bitrate_limit"])


def test_absent_puts_everything_back_and_gives_no_setting():
    args = _system_args("absent", None)
    assert (args["state"], args["remote_client_bitrate_limit"], args["restore"]) == ("absent", OMIT, OMIT)


def _names(*parts):
    return [t.get("name") for t in _yaml(*parts)]


def test_the_limit_shares_jellyfin_networks_restart():
    """Included after the jellyfin_network role in each path: its handler (the topic notified)
    exists by then, and runs once for both files."""
    handlers = _yaml("..", "jellyfin_network", "handlers", "main.yml")
    assert all(h["listen"] == "jellyfin_network restart" for h in handlers)
    apply = _names("tasks", "apply.yml")
    assert apply.index("Tell Jellyfin what the method needs") < apply.index(
        "Set Jellyfin's remote bitrate limit from the upload (one restart with the settings above)")
    main = _names("tasks", "main.yml")
    assert main.index("Put Jellyfin's settings back as they were before the collection changed them") < main.index(
        "Put Jellyfin's remote bitrate limit back as it was")


def test_a_playbook_including_upload_or_streaming_alone_still_gets_the_upload():
    """molecule/jellyfin_network includes tasks_from: upload and streaming without main.yml: the
    role's vars give upload.yml the upload's parameters and streaming.yml the worked-out limit."""
    role_vars = _yaml("vars", "main.yml")
    assert role_vars["__jellyfin_remote_streaming"].strip() == "{{ __jellyfin_remote_streaming_worked_out }}"
    iperf3 = role_vars["__jellyfin_remote_iperf3"]
    assert iperf3["section"] == "upload" and "jellyfin_remote_upload_iperf3_server" in iperf3["server"]
    assert "__jellyfin_remote_upload_target" in iperf3["target"] and "bind" not in iperf3 and "firewall" not in iperf3


def _system_called(state, limit, **given):
    """Whether streaming.yml's jellyfin_system task runs (its when:), as Ansible evaluates it."""
    task = next(t for t in _yaml("tasks", "streaming.yml") if "homelab.jellyfin_remote.jellyfin_system" in t)
    variables = {"jellyfin_remote_state": state, "__jellyfin_remote_streaming": {"limit": limit}}
    variables.update(given)
    env = _env()
    env.tests["changed"] = lambda result: bool(result.get("changed"))
    return env.from_string("{{ capture(%s) }}" % task["when"]).render(capture=lambda v: v, **variables) == "True"


NOTHING_RECORDED = {"record": {"site": {"method": "wireguard"}, "wireguard": {}}}
LIMIT_RECORDED = {"record": {"jellyfin_system": {"files": {"/etc/jellyfin/system.xml": {
    "settings": {"RemoteClientBitrateLimit": {"original": 0, "set": 7000000}}}}}}}


def test_the_limit_task_is_skipped_only_when_it_has_nothing_to_do():
    # An unchanged re-run without a limit and nothing this collection set in system.xml: no call.
    assert not _system_called("present", None, __jellyfin_remote_recorded=NOTHING_RECORDED)
    assert not _system_called("absent", None, __jellyfin_remote_recorded=NOTHING_RECORDED)
    # A limit wanted: only the module reads system.xml, so it always runs.
    assert _system_called("present", 7_000_000, __jellyfin_remote_recorded=NOTHING_RECORDED)
    # Something to put back (no limit now, or state absent).
    assert _system_called("present", None, __jellyfin_remote_recorded=LIMIT_RECORDED)
    assert _system_called("absent", None, __jellyfin_remote_recorded=LIMIT_RECORDED)
    # Included on its own (no record read), or after an earlier call in this run changed it (the
    # relay's ceiling moved the limit): the record read as the run began is out of date.
    assert _system_called("present", None)
    assert _system_called("present", None, __jellyfin_remote_recorded=NOTHING_RECORDED,
                          __jellyfin_remote_system={"changed": True})
    assert not _system_called("present", None, __jellyfin_remote_recorded=NOTHING_RECORDED,
                              __jellyfin_remote_system={"changed": False, "skipped": True})
