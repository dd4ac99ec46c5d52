"""The ddns role's ddclient.conf, read by Debian's ddclient, for hostile passwords.

ddclient (3.10, 3.11 and 4.0 alike; ddclient.in "parsing passwords is special") takes a
password= value from the first to the last quote of its line as it is: no backslash
escapes. Its line reader drops CR and LF, and the comment removal (`s/#.*//`) runs on every
other option before its quotes and escapes are read.

With Debian's ddclient at hand (on PATH, or unpacked by tests/install-deps.sh under
.cache/debs/root; run with the system perl), ddclient reads the rendered file and sends a
dyndns2 update to the loopback DDNS stand-in, which accepts only the exact password (the
file's use= line is replaced by use=ip, so that ddclient asks no web service for the
address). Without it those tests skip, and the pure tests below still check the file
against a re-implementation of ddclient's password line (read from ddclient/ddclient
v3.10.0, v3.11.2, v4.0.0).
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess

import jinja2
import pytest
import yaml
from ansible.plugins.filter.core import FilterModule as CoreFilters
from ansible.plugins.filter.urlsplit import FilterModule as UrlFilters
from ansible.plugins.test.core import TestModule as CoreTests


REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
ROLE = os.path.join(REPO, "roles", "ddns")
STANDIN = os.path.join(REPO, "tests", "lab", "standins", "ddns", "ddns_standin.py")
UNPACKED = os.path.join(REPO, ".cache", "debs", "root", "usr", "bin", "ddclient")

HOSTILE = [
    "it's", "back\\slash", "ends-with\\", "\\'", "'", "''", "#hash # tail", " two  spaces ", '"dq"',
    ",comma", "pass word=x", "password=", "a#b password=c", "ümlaut-ß", "$(id)`id`", "%41%", "tab\there",
]
# Values ddclient cannot read back (password, login); the role refuses them.
REFUSED = [
    ("line\nbreak", "labuser"), ("cr\rhere", "labuser"), ("a password=b", "labuser"), ("x\tpasswords =y", "labuser"),
    ("ok", "user#1"), ("ok", "mypassword=x"), ("ok", "a passwordy =b"), ("ok", "a\nb"),
]


def env():
    environment = jinja2.Environment(loader=jinja2.FileSystemLoader(os.path.join(ROLE, "templates")),
                                     undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    for name, func in {**CoreFilters().filters(), **UrlFilters().filters()}.items():
        environment.filters[name] = environment.filters["ansible.builtin." + name] = func
    environment.tests.update(CoreTests().tests())
    return environment


def render(password, base_url, username="labuser", provider="dyndns2"):
    with open(os.path.join(ROLE, "vars", "main.yml"), encoding="utf-8") as handle:
        role_vars = yaml.safe_load(handle)
    return env().get_template("ddclient.conf.j2").render(
        ansible_managed="Ansible managed", ddns_provider=provider, ddns_hostname="home.dyn.test",
        ddns_username=username, ddns_password=password, ddns_base_url=base_url,
        ddns_ddclient_web="http://echo.invalid/", ddns_ddclient_web_skip="",
        __ddns_ddclient_protocols=role_vars["__ddns_ddclient_protocols"],
        __ddns_default_urls=role_vars["__ddns_default_urls"],
        __ddns_ddclient_tsig_key=role_vars["__ddns_ddclient_tsig_key"])


# ddclient's password line: v3.10.0 ddclient line 1504; v3.11.2 ddclient.in 1611 and v4.0.0
# ddclient.in 1950 (the key without the trailing \S*?).
PASSWORD_LINE = {
    "3.10": re.compile(r"^([^#]*\s)?([^#]*?password\S*?)\s*=\s*('.*'|[^']\S*)(.*)"),
    "3.11/4.0": re.compile(r"^([^#]*\s)?([^#]*?password)\s*=\s*('.*'|[^']\S*)(.*)"),
}


def ddclient_passwords(conf):
    """Each password ddclient would read from conf, per version: {version: [(key, value)]}."""
    found = {}
    for version, regex in PASSWORD_LINE.items():
        found[version] = []
        for line in conf.split("\n"):
            match = regex.match(line.replace("\r", ""))
            if match:
                value = match.group(3)
                quoted = re.match(r"^'(.*)'$", value)
                found[version].append((match.group(2).strip(), quoted.group(1) if quoted else value))
    return found


def ddclient_password(conf):
    """The password ddclient reads when every version reads the one password= line alike."""
    found = ddclient_passwords(conf)
    values = {tuple(pairs) for pairs in found.values()}
    if len(values) != 1:
        return None
    pairs = values.pop()
    return pairs[0][1] if len(pairs) == 1 and pairs[0][0] == "password" else None


@pytest.mark.parametrize("password", HOSTILE)
def test_password_line_reads_back_verbatim(password):
    assert ddclient_password(render(password, "https://members.example.test")) == password


def test_previous_escaping_altered_passwords():
    """The template before this change escaped ' and \\, which ddclient then sent as they were."""
    old = "password='%s'" % "it's".replace("\\", "\\\\").replace("'", "\\'")
    assert ddclient_password(old) == "it\\'s"


def _assert_checks():
    with open(os.path.join(ROLE, "tasks", "main.yml"), encoding="utf-8") as handle:
        tasks = yaml.safe_load(handle)
    block = next(t for t in tasks if t.get("name") == "Keep the record current with ddclient")
    check = next(t for t in block["block"] if "ansible.builtin.assert" in t)
    return check["ansible.builtin.assert"]["that"]


def role_accepts(password, login="labuser"):
    environment = env()
    with open(os.path.join(ROLE, "vars", "main.yml"), encoding="utf-8") as handle:
        role_vars = yaml.safe_load(handle)
    patterns = {k: v for k, v in role_vars.items() if k.startswith("__ddns_ddclient_bad_")}
    return all(environment.from_string("{{ %s }}" % cond).render(
        __ddns_ddclient_password=password, __ddns_ddclient_login=login, **patterns) == "True" for cond in _assert_checks())


@pytest.mark.parametrize("password", HOSTILE)
def test_role_accepts_what_ddclient_carries(password):
    assert role_accepts(password)


@pytest.mark.parametrize("password, login", REFUSED)
def test_role_refuses_what_ddclient_cannot_carry(password, login):
    assert not role_accepts(password, login)


@pytest.mark.parametrize("password, login", [r for r in REFUSED if "#" not in r[1] and "\n" not in r[1]])
def test_refused_values_do_break_in_ddclient(password, login):
    """Each refusal is needed: ddclient's reading of that file is not the value given."""
    assert ddclient_password(render(password, "https://members.example.test", username=login)) != password


def loopback_only_address(conf):
    """The file with its use= line replaced by use=ip: ddclient then asks no web service."""
    lines = [l for l in conf.split("\n") if not l.startswith("use=")]
    return "\n".join(["use=ip, ip=198.51.100.7"] + lines)


def _ddclient():
    """Debian's ddclient as a command, or None when it is not here or cannot start (an
    unpacked copy needs perl with the modules of Debian's full perl package)."""
    command = None
    if shutil.which("ddclient"):
        command = [shutil.which("ddclient")]
    elif os.path.exists(UNPACKED) and shutil.which("perl"):
        command = [shutil.which("perl"), UNPACKED]
    if command is None:
        return None
    probe = subprocess.run(command + ["-help"], capture_output=True, text=True, timeout=60, check=False)
    return command if probe.returncode == 0 and "usage: ddclient" in probe.stdout else None


@pytest.fixture
def standin_for(request):
    running = []

    def start(password):
        spec = importlib.util.spec_from_file_location("ddns_standin", STANDIN)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        handle = module.start(dns=False, credentials={"username": "labuser", "password": password})
        handle.add_host("home.dyn.test", "dyndns2", {"A": ["192.0.2.1"]})
        running.append(handle)
        return handle

    yield start
    for handle in running:
        handle.stop()


@pytest.mark.parametrize("password", HOSTILE)
def test_debian_ddclient_sends_the_password_as_written(password, standin_for, tmp_path):
    command = _ddclient()
    if not command:
        pytest.skip("Debian's ddclient is not here or cannot start (tests/install-deps.sh unpacks it into .cache/debs)")
    standin = standin_for(password)
    conf = tmp_path / "ddclient.conf"
    conf.write_text(loopback_only_address(render(password, standin.base)), encoding="utf-8")
    conf.chmod(0o600)
    proc = subprocess.run(
        command + ["-daemon=0", "-foreground", "-file", str(conf), "-cache", str(tmp_path / "cache"),
                   "-pid", str(tmp_path / "pid"), "-force", "-nosyslog", "-noquiet", "-verbose"],
        capture_output=True, text=True, timeout=60, check=False)
    output = proc.stdout + proc.stderr
    assert standin.records("home.dyn.test")["A"] == ["198.51.100.7"], output[-2000:]
    assert "SUCCESS" in output and "badauth" not in output


def test_debian_ddclient_rejects_the_old_escaping(standin_for, tmp_path):
    """Shows the gap: the same file with the old escaping gets badauth for "it's"."""
    command = _ddclient()
    if not command:
        pytest.skip("Debian's ddclient is not here or cannot start (tests/install-deps.sh unpacks it into .cache/debs)")
    standin = standin_for("it's")
    conf = tmp_path / "ddclient.conf"
    conf.write_text(loopback_only_address(render("it's", standin.base)).replace("password='it's'", "password='it\\'s'"),
                    encoding="utf-8")
    conf.chmod(0o600)
    proc = subprocess.run(
        command + ["-daemon=0", "-foreground", "-file", str(conf), "-cache", str(tmp_path / "cache"),
                   "-pid", str(tmp_path / "pid"), "-force", "-nosyslog", "-noquiet"],
        capture_output=True, text=True, timeout=60, check=False)
    assert "badauth" in proc.stdout + proc.stderr
    assert standin.records("home.dyn.test")["A"] == ["192.0.2.1"]


def _role_var(name, **variables):
    """A templated internal variable of roles/ddns/vars/main.yml, rendered with the given values."""
    with open(os.path.join(ROLE, "vars", "main.yml"), encoding="utf-8") as handle:
        role_vars = yaml.safe_load(handle)
    environment = env()
    values = dict(role_vars, **variables)
    for dependency in ("__ddns_ddclient_used",):
        if dependency != name:
            values[dependency] = environment.from_string(role_vars[dependency]).render(**values).strip()
    return environment.from_string(role_vars[name]).render(**values).strip()


@pytest.mark.parametrize("provider, ddclient, key_name, keep", [
    ("rfc2136", True, "jf-update", True),    # ddclient's nsupdate reads the key file
    ("duckdns", True, None, False),          # a change of provider: the key file goes
    ("rfc2136", False, "jf-update", False),  # ddclient switched off
    ("rfc2136", True, None, False),          # no TSIG key: ddclient does not run for rfc2136
    ("porkbun", True, None, False),          # no ddclient for porkbun on Debian 12
])
def test_tsig_key_file_is_removed_when_ddclient_no_longer_uses_it(provider, ddclient, key_name, keep):
    variables = {"ddns_provider": provider, "ddns_ddclient": ddclient}
    if key_name:
        variables["ddns_tsig_key_name"] = key_name
    assert (_role_var("__ddns_ddclient_rfc2136", **variables) == "True") is keep
    with open(os.path.join(ROLE, "tasks", "main.yml"), encoding="utf-8") as handle:
        task = next(t for t in yaml.safe_load(handle)
                    if t.get("name") == "Remove ddclient's TSIG key when ddclient no longer updates by RFC 2136")
    assert task["ansible.builtin.file"] == {"path": "{{ __ddns_ddclient_tsig_key }}", "state": "absent"}
    # Only where the probe found the file (files/probe.py): an absent file has nothing to remove.
    assert task["when"] == "not __ddns_ddclient_rfc2136 | bool and __ddns_host.paths[__ddns_ddclient_tsig_key] != 'absent'"
