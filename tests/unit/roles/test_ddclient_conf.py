"""The ddns role's ddclient.conf, read by Debian's ddclient, for hostile passwords.

ddclient (3.10, 3.11 and 4.0 alike; ddclient.in "parsing passwords is special") takes a
password= value from the first to the last quote of its line as it is: no backslash
escapes. Its line reader drops CR and LF, and the comment removal (`s/#.*//`) runs on every
other option before its quotes and escapes are read.

With Debian's ddclient at hand (on PATH, or unpacked by tests/install-deps.sh under
.cache/debs/root; run with the system perl), ddclient reads the rendered file and sends a
dyndns2 update to the loopback DDNS stand-in, which accepts only the exact password (the
file's webv4= echo service is a loopback one, so that ddclient asks no public service for the
address). The ddclient is the host's (Debian 12: 3.10.0), or the one tests/gates/units_trixie.sh
unpacks from Debian 13 (3.11.2) and names in JFR_DEBS_ROOT. Without it those tests skip, and the pure tests below still check the file
against a re-implementation of ddclient's password line (read from ddclient/ddclient
v3.10.0, v3.11.2, v4.0.0).
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import socket
import subprocess

import jinja2
import pytest
import yaml
from ansible.plugins.filter.core import FilterModule as CoreFilters
from ansible.plugins.filter.urlsplit import FilterModule as UrlFilters
from ansible.plugins.test.core import TestModule as CoreTests
from harness import loopback_http


REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
ROLE = os.path.join(REPO, "roles", "ddns")
STANDIN = os.path.join(REPO, "tests", "lab", "standins", "ddns", "ddns_standin.py")
UNPACKED = os.path.join(os.environ.get("JFR_DEBS_ROOT") or os.path.join(REPO, ".cache", "debs", "root"),
                        "usr", "bin", "ddclient")

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


def render(password, base_url, username="labuser", provider="dyndns2", **extra):
    with open(os.path.join(ROLE, "vars", "main.yml"), encoding="utf-8") as handle:
        role_vars = yaml.safe_load(handle)
    return env().get_template("ddclient.conf.j2").render(
        ansible_managed="Ansible managed", ddns_provider=provider, ddns_hostname="home.dyn.test",
        ddns_username=username, ddns_password=password, ddns_base_url=base_url,
        ddns_ddclient_web="http://echo.invalid/", ddns_ddclient_web_skip="",
        __ddns_ddclient_protocols=role_vars["__ddns_ddclient_protocols"],
        __ddns_default_urls=role_vars["__ddns_default_urls"],
        __ddns_ddclient_tsig_key=role_vars["__ddns_ddclient_tsig_key"], **extra)


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
    check = next(t for t in tasks if t.get("name") == "Check that ddclient can carry the credentials as they are")
    assert check["when"] == "__ddns_ddclient_used | bool"
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


@pytest.fixture(scope="module")
def echo():
    """A loopback address echo service (what ddns_ddclient_web names): answers 198.51.100.7."""
    with loopback_http({"/": (200, b"Current IP: 198.51.100.7\n")}) as port:
        yield "http://127.0.0.1:%d/" % port


def loopback_only_address(conf, echo_url):
    """The file with ddclient's echo service (usev4=webv4, webv4=) pointed at the loopback echo."""
    assert re.search(r"^usev4=webv4, webv4=http://echo.invalid/$", conf, re.M), conf
    return conf.replace("webv4=http://echo.invalid/", "webv4=%s, webv4-skip='Current IP:'" % echo_url)


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


def _run_once(command, text, tmp_path):
    """ddclient run once in the foreground on the file text (0600), -verbose; its output."""
    conf = tmp_path / "ddclient.conf"
    conf.write_text(text, encoding="utf-8")
    conf.chmod(0o600)
    proc = subprocess.run(
        command + ["-daemon=0", "-foreground", "-file", str(conf), "-cache", str(tmp_path / "cache"),
                   "-pid", str(tmp_path / "pid"), "-force", "-nosyslog", "-noquiet", "-verbose"],
        capture_output=True, text=True, timeout=60, check=False)
    return proc.stdout + proc.stderr


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
def test_debian_ddclient_sends_the_password_as_written(password, standin_for, echo, tmp_path):
    command = _ddclient()
    if not command:
        pytest.skip("Debian's ddclient is not here or cannot start (tests/install-deps.sh unpacks it into .cache/debs)")
    standin = standin_for(password)
    output = _run_once(command, loopback_only_address(render(password, standin.base), echo), tmp_path)
    assert standin.records("home.dyn.test")["A"] == ["198.51.100.7"], output[-2000:]
    assert "SUCCESS" in output and "badauth" not in output


def test_debian_ddclient_rejects_the_old_escaping(standin_for, echo, tmp_path):
    """Shows the gap: the same file with the old escaping gets badauth for "it's"."""
    command = _ddclient()
    if not command:
        pytest.skip("Debian's ddclient is not here or cannot start (tests/install-deps.sh unpacks it into .cache/debs)")
    standin = standin_for("it's")
    old = loopback_only_address(render("it's", standin.base), echo).replace("password='it's'", "password='it\\'s'")
    output = _run_once(command, old, tmp_path)
    assert "badauth" in output
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


def _deprecated(command):
    """What this ddclient's -help calls deprecated: option names, and name=value pairs."""
    text = subprocess.run(command + ["-help"], capture_output=True, text=True, timeout=60, check=False).stdout
    found = set()
    for line in text.splitlines():
        match = re.match(r"^\s*-([\w-]+)(=[\w-]+)?\b.*:.*\bdeprecated\b", line)
        if match:
            found.add(match.group(1) + (match.group(2) or ""))
    return found


@pytest.mark.parametrize("provider", ["dyndns2", "duckdns", "cloudflare", "namecheap"])
def test_config_uses_nothing_ddclient_calls_deprecated(provider):
    """The file's options (and option=value pairs) against the deprecated ones this ddclient
    lists in its own -help (Debian 12's 3.10.0 and Debian 13's 3.11.2 both deprecate use=)."""
    command = _ddclient()
    if not command:
        pytest.skip("Debian's ddclient is not here or cannot start (tests/install-deps.sh unpacks it into .cache/debs)")
    deprecated = _deprecated(command)
    assert "use" in deprecated and "use=web" in deprecated  # the reading of -help works
    used = set()
    for line in render("pw", "https://members.example.test", provider=provider, ddns_token="tk",
                       ddns_zone="dyn.test").splitlines():
        if line.startswith("#") or "=" not in line:
            continue
        for assignment in line.split(", "):
            key, _, value = assignment.partition("=")
            used.update({key.strip(), "%s=%s" % (key.strip(), value.strip())})
    assert not used & deprecated, sorted(used & deprecated)


def _ddclient_version(command):
    text = subprocess.run(command + ["-help"], capture_output=True, text=True, timeout=60, check=False).stdout
    match = re.search(r"ddclient version (\d+)\.(\d+)", text)
    return (int(match.group(1)), int(match.group(2))) if match else None


def test_debian_ddclient_porkbun_goes_to_the_retired_api_host(tmp_path):
    """ddclient 3.11 (Debian 13: 3.11.2) speaks Porkbun, but at porkbun.com, the API host name
    Porkbun stopped serving on 2024-12-01 (it answers 403 there; ddclient 4.0 moved to
    api.porkbun.com). ddclient is run with proxy= at a closed loopback port, so curl stops at
    the proxy and never looks the name up; its -verbose lines show the URL it asked curl for.
    The role therefore does not hand Porkbun to ddclient (next test)."""
    command = _ddclient()
    if not command:
        pytest.skip("Debian's ddclient is not here or cannot start (tests/install-deps.sh unpacks it into .cache/debs)")
    if _ddclient_version(command) < (3, 11):
        pytest.skip("this ddclient (%s.%s; Debian 12) has no porkbun protocol; tests/gates/units_trixie.sh runs "
                    "Debian 13's" % _ddclient_version(command))
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    output = _run_once(command, "usev4=ipv4, ipv4=198.51.100.7\nproxy=127.0.0.1:%d\ntimeout=5\nprotocol=porkbun\n"
                       "apikey=pk1_lab\nsecretapikey=sk1_lab\nhome.dyn.test\n" % port, tmp_path)
    urls = re.findall(r'url="(https?://[^/"]+)/api/json/v3/dns/', output)
    assert urls and set(urls) == {"https://porkbun.com"}, output[-2000:]
    assert not _uses_ddclient_for("porkbun")


def _uses_ddclient_for(provider):
    return _role_var("__ddns_ddclient_used", ddns_provider=provider, ddns_ddclient=True,
                     ddns_record_types=["A"]) == "True"


def test_role_never_hands_porkbun_to_ddclient():
    """No Debian ddclient reaches Porkbun's API host (12: 3.10.0 has no porkbun; 13 and sid:
    3.11.2, at the retired porkbun.com); dyndns2 is handed to it as before."""
    assert not _uses_ddclient_for("porkbun")
    assert _uses_ddclient_for("dyndns2")
