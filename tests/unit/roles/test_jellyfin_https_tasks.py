"""The jellyfin_https role's own decisions, evaluated from its task file as Ansible would.

The conditions and messages are read from roles/jellyfin_https/tasks/main.yml and rendered
with Jinja and ansible-core's own tests (`is changed`), so a change to the tasks is what is
tested here. (The Molecule scenario jellyfin_https runs the whole role.)
"""

from __future__ import annotations

import os

import jinja2
import pytest
import yaml
from ansible.plugins.filter.core import FilterModule as CoreFilters
from ansible.plugins.test.core import TestModule as CoreTests

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
TASKS = os.path.join(REPO, "roles", "jellyfin_https", "tasks", "main.yml")


def _env():
    env = jinja2.Environment(undefined=jinja2.StrictUndefined)
    env.filters.update(CoreFilters().filters())
    env.tests.update(CoreTests().tests())
    return env


def _task(name):
    with open(TASKS, encoding="utf-8") as handle:
        return next(t for t in yaml.safe_load(handle) if t.get("name") == name)


def _true(expr, **variables):
    return _env().from_string("{{ (%s) | bool }}" % expr).render(**variables) == "True"


def _port_check(port):
    task = _task("Check the HTTPS port")["ansible.builtin.assert"]
    ok = all(_true(cond, jellyfin_https_port=port) for cond in task["that"])
    message = _env().from_string(task["fail_msg"]).render(jellyfin_https_port=port)
    return ok, " ".join(message.split())


@pytest.mark.parametrize("port", [443, 80, 1, 1023, 0, 70000])
def test_ports_jellyfin_cannot_listen_on_are_refused(port):
    ok, message = _port_check(port)
    assert not ok
    assert message.startswith("jellyfin_https_port is %d: " % port)
    assert "cannot listen on a port below 1024" in message
    assert "map the router's public port 443 to it (443 -> 8920" in message
    assert "{ port: 443, internal_port: 8920 }" in message
    assert "jellyfin_remote_external_port: 443" in message


@pytest.mark.parametrize("port", [1024, 8920, 65535])
def test_unprivileged_ports_pass(port):
    assert _port_check(port)[0]


def test_the_port_is_checked_before_anything_changes():
    with open(TASKS, encoding="utf-8") as handle:
        names = [t.get("name") for t in yaml.safe_load(handle)]
    assert names.index("Check the HTTPS port") < names.index("Get the certificate with certbot")


def _restarts(export_changed, network_changed):
    task = _task("Restart Jellyfin to load the exported certificate")
    assert task["ansible.builtin.systemd_service"]["state"] == "restarted"
    variables = {"__jellyfin_https_export": {"changed": export_changed}}
    if network_changed is not None:
        variables["__jellyfin_network_result"] = {"changed": network_changed}
    return all(_true(cond, **variables) for cond in task["when"])


@pytest.mark.parametrize("export_changed, network_changed, restart", [
    (True, False, True),    # re-exported after a failed deploy hook: only this restart loads it
    (True, None, True),     # jellyfin_https_manage_jellyfin false: no jellyfin_network run
    (True, True, False),    # jellyfin_network's handler restarts Jellyfin anyway
    (False, False, False),  # nothing new: no restart
    (False, True, False),
])
def test_jellyfin_restarts_when_the_role_exported_the_certificate(export_changed, network_changed, restart):
    assert _restarts(export_changed, network_changed) is restart


def test_the_export_is_registered_for_the_restart():
    export = _task("Export the certificate, its chain and key as PKCS#12 for Jellyfin (0640, group {{ jellyfin_https_group }})")
    assert export["register"] == "__jellyfin_https_export"
