"""What a user of the jellyfin_network role would check, from outside and on the server."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import time
from decimal import Decimal
import xml.etree.ElementTree as ET

import testinfra

from conftest import (PLAYBACK, PLAYBACK_AUTH as AUTH, REPO, curl, denied_login_address, fingerprint, fingerprint_diff,
                      DOCTOR_TEXTFILE, doctor, flat, playback_decisions, playbook, recap_changed)

FORGED = "198.51.100.77"
SCENARIO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NETWORK_XML = "/etc/jellyfin/network.xml"
ANSI = re.compile(r"\x1b\[[0-9;]*m")
HOST_RECORD = "/var/lib/jellyfin-remote/state.json"
SYSTEM_XML = "/etc/jellyfin/system.xml"
SHAPING_MBIT = 20  # molecule.yml: the router's shaping of the iperf3 port (lab_upload_shaping_mbit)
DECLARED_MBIT = 30  # converge.yml: jellyfin_remote_upload_mbps


def _upload_record(server):
    return json.loads(server.check_output("cat %s" % HOST_RECORD))["sections"]["upload"]


def _limit(server):
    """The limit converge must have set: floor(0.7 x the lower of declared and measured / 2 streams)."""
    measured = int(Decimal(str(_upload_record(server)["mbps"])) * 1_000_000)
    return str(max(min(measured, DECLARED_MBIT * 1_000_000) * 70 // 100 // 2, 4_000_000))


def _network_xml(server):
    return ET.fromstring(server.file("/etc/jellyfin/network.xml").content_string)


def test_health_from_the_internet(internet, jellyfin_url):
    status, body = curl(internet, jellyfin_url + "/health")
    assert (status, body) == (200, "Healthy")


def test_public_info_from_the_internet(internet, jellyfin_url):
    status, body = curl(internet, jellyfin_url + "/System/Info/Public")
    assert status == 200
    assert '"Version"' in body and '"Id"' in body


def test_known_proxies_written(server, lab):
    root = _network_xml(server)
    proxies = [e.text for e in root.find("KnownProxies")]
    assert proxies == [lab["hosts"]["server"]["addresses"]["lan"]]
    subnets = [e.text for e in root.find("LocalNetworkSubnets")]
    assert subnets == [lab["subnets"]["lan"]]


def test_network_xml_keeps_owner_and_mode(server):
    # Jellyfin wrote the file on its first start (as user jellyfin, umask 022); the role
    # changed its content and must have kept both.
    f = server.file("/etc/jellyfin/network.xml")
    assert (f.user, f.group, f.mode) == ("jellyfin", "jellyfin", 0o644)


def test_forged_forwarded_for_from_the_internet_is_ignored(internet, server, jellyfin_url, lab):
    seen = denied_login_address(internet, server, jellyfin_url, forwarded_for=FORGED)
    assert seen == lab["hosts"]["internet"]["addresses"]["wan"]


def test_forwarded_for_from_a_known_proxy_is_used(server, lab):
    # The server's own address is a known proxy: a request from it may name the client.
    own = lab["hosts"]["server"]["addresses"]["lan"]
    seen = denied_login_address(server, server, "http://%s:8096" % own, forwarded_for=FORGED)
    assert seen == FORGED


def test_request_without_forwarded_for_shows_the_client(internet, server, jellyfin_url, lab):
    seen = denied_login_address(internet, server, jellyfin_url)
    assert seen == lab["hosts"]["internet"]["addresses"]["wan"]


def test_playback_from_the_lan_is_local_and_from_outside_remote(internet, server, lab, jellyfin_url):
    """LocalNetworkSubnets holds the LAN: the router's LAN address streams as local, the
    internet host (a private address too, but not listed) as remote."""
    router = testinfra.get_host("podman://%s" % lab["hosts"]["router"]["container"])
    server_lan = lab["hosts"]["server"]["addresses"]["lan"]
    for host, url in ((router, "http://%s:8096" % server_lan), (internet, jellyfin_url)):
        status, body = curl(host, url + PLAYBACK, "-X", "POST", "-H", AUTH)
        assert status == 200, body
    # The limit converge wrote (the lab started Jellyfin with 8000000): read in the one restart.
    limit = _limit(server)
    expected = {(limit, lab["hosts"]["router"]["addresses"]["lan"], "True"),
                (limit, lab["hosts"]["internet"]["addresses"]["wan"], "False")}
    deadline = time.time() + 10
    while time.time() < deadline and not expected <= set(playback_decisions(server)):
        time.sleep(0.2)
    assert expected <= set(playback_decisions(server)), playback_decisions(server)


def test_a_value_jellyfin_cannot_read_fails_the_role_clearly(server):
    """A hand-edited boolean Jellyfin rejects (XmlConvert is case-sensitive) would make
    Jellyfin ignore the whole file: the role stops, names it, and writes nothing."""
    backup = server.run("cp -p %s /root/network.xml.verify" % NETWORK_XML)
    assert backup.rc == 0, backup.stderr
    try:
        edit = server.run("sed -i 's|<IgnoreVirtualInterfaces>true<|<IgnoreVirtualInterfaces>True<|' %s" % NETWORK_XML)
        assert edit.rc == 0 and "<IgnoreVirtualInterfaces>True<" in server.file(NETWORK_XML).content_string
        broken = server.file(NETWORK_XML).content_string
        pid = server.check_output("systemctl show -p MainPID --value jellyfin")
        proc = playbook(os.path.join(SCENARIO, "converge.yml"), log="rejected-value.log")
        output = ANSI.sub("", proc.stdout + proc.stderr)
        assert proc.returncode != 0, output[-2000:]
        assert "<IgnoreVirtualInterfaces> holds 'True'; expected true or false (case-sensitive)" in output, output[-2000:]
        assert "it would ignore the whole file and run on its defaults" in output
        assert server.file(NETWORK_XML).content_string == broken
        assert server.check_output("systemctl show -p MainPID --value jellyfin") == pid
    finally:
        server.run("mv /root/network.xml.verify %s" % NETWORK_XML)


# ---------------------------------------------------------------- remote bitrate limit (the site role's tasks/streaming.yml)


def test_the_upload_was_measured_through_the_shaped_line(server, internet, lab):
    """iperf3 to the internet host through the router's 20 Mbit/s shaping: the median of 3 runs
    within 10 % of it, kept in the host record; the one-time iperf3 server is gone again."""
    record = _upload_record(server)
    assert record["server"] == lab["hosts"]["internet"]["addresses"]["wan"] and record["port"] == 5201
    assert len(record["runs_mbps"]) == 3 and record["mbps"] == sorted(record["runs_mbps"])[1]
    assert abs(record["mbps"] - SHAPING_MBIT) <= 0.10 * SHAPING_MBIT, record
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", record["measured_at"]), record
    assert internet.run("systemctl is-active jellyfin-remote-iperf3.service").stdout.strip() in ("inactive", "failed", "")
    assert not internet.socket("tcp://0.0.0.0:5201").is_listening and not internet.socket("tcp://:::5201").is_listening


def test_the_figure_comes_from_the_shaping(server, internet, lab):
    """Control: the same measurement to another port, which the router does not shape, gets far
    more than the shaped figure (so the shaped figure is the line's, not the lab's ceiling)."""
    started = internet.run("systemd-run --unit jfr-verify-iperf3 --collect --property RuntimeMaxSec=60 "
                           "iperf3 --server --port 5202")
    assert started.rc == 0, started.stderr
    try:
        deadline = time.time() + 10
        while time.time() < deadline and not internet.socket("tcp://5202").is_listening:
            time.sleep(0.2)
        out = server.run("iperf3 --client %s --port 5202 --time 3 --omit 1 --json" % lab["hosts"]["internet"]["addresses"]["wan"])
        assert out.rc == 0, out.stdout[-1000:] + out.stderr
        unshaped = json.loads(out.stdout)["end"]["sum_received"]["bits_per_second"] / 1e6
        assert unshaped > 3 * SHAPING_MBIT, unshaped
    finally:
        internet.run("systemctl stop jfr-verify-iperf3.service")


def test_remote_bitrate_limit_lands_in_system_xml_and_the_owners_value_is_recorded(server):
    f = server.file(SYSTEM_XML)
    limit = _limit(server)
    assert int(limit) < 7_000_000  # the measured ~19 Mbit/s, not the declared 30 (10.5 Mbit/s a stream)
    assert ET.fromstring(f.content_string).findtext("RemoteClientBitrateLimit") == limit
    assert (f.user, f.group, f.mode) == ("jellyfin", "jellyfin", 0o644)
    record = json.loads(server.check_output("cat %s" % HOST_RECORD))["sections"]["jellyfin_system"]
    assert record["files"][SYSTEM_XML]["settings"] == {"RemoteClientBitrateLimit": {"original": 8000000,
                                                                                     "set": int(limit)}}


def test_one_restart_for_both_files(server):
    """network.xml and system.xml changed in the same converge: Jellyfin started at the lab's
    start and once more (one handler run), not once per file."""
    out = server.check_output("cat /var/log/jellyfin/log_*.log")
    assert len(re.findall(r"\] Main: Jellyfin version: ", out)) == 2, out[-2000:]


def test_from_outside_playback_is_sent_to_a_transcode_within_the_limit_and_the_lan_plays_directly(internet, server,
                                                                                                      lab, jellyfin_url):
    router = testinfra.get_host("podman://%s" % lab["hosts"]["router"]["container"])
    server_lan = lab["hosts"]["server"]["addresses"]["lan"]
    status, body = curl(internet, jellyfin_url + PLAYBACK, "-X", "POST", "-H", AUTH)
    assert status == 200, body
    source = json.loads(body)["MediaSources"][0]
    assert source["SupportsDirectPlay"] is False
    video = int(re.search(r"[?&]VideoBitrate=(\d+)", source["TranscodingUrl"]).group(1))
    audio = int(re.search(r"[?&]AudioBitrate=(\d+)", source["TranscodingUrl"]).group(1))
    assert video + audio <= int(_limit(server))
    status, body = curl(router, "http://%s:8096%s" % (server_lan, PLAYBACK), "-X", "POST", "-H", AUTH)
    assert status == 200 and json.loads(body)["MediaSources"][0]["SupportsDirectPlay"] is True, body


# ---------------------------------------------------------------- the doctor (read-only health check)
def test_doctor_says_all_ok_and_changes_nothing_in_either_mode(server):
    from prometheus_client.parser import text_string_to_metric_families
    for mode in ((), ("--check",)):
        proc, output = doctor(server, "doctor-ok%s.log" % "".join(mode), *mode)
        assert proc.returncode == 0, output[-3000:]
        text = flat(proc)
        assert "Remote access on server (nothing set up): OK" in text, text[-3000:]
        for line in ("OK jellyfin health /health says 'Healthy'", "OK jellyfin version Jellyfin 10.11.",
                     "OK jellyfin settings what the collection set in network.xml is still there"):
            assert line in text, text[-3000:]
        assert "Remote access on server (nothing set up): OK (3 OK, 0 WARN, 0 FAIL; looked in" in text, text[-3000:]
    families = {f.name: f for f in text_string_to_metric_families(server.file(DOCTOR_TEXTFILE).content_string)}
    checks = {s.labels["check"]: s.value for s in families["jellyfin_remote_doctor_check"].samples}
    assert checks == {"jellyfin health": 0, "jellyfin version": 0, "jellyfin settings": 0}


def test_doctor_reports_each_fault_on_its_own_line(server, lab):
    """KnownProxies emptied and Jellyfin older than the security floor: two FAIL lines, the play
    fails (doctor_fail_on: fail) or not (never), and still nothing changes."""
    backup = server.run("cp -p %s /root/network.xml.doctor && cp -p /etc/default/jellyfin /root/jellyfin.default" % NETWORK_XML)
    assert backup.rc == 0, backup.stderr
    try:
        fault = server.run("perl -0pi -e 's|<KnownProxies>.*?</KnownProxies>|<KnownProxies />|s' %s && "
                           "sed -i 's/^JELLYFIN_STANDIN_VERSION=.*/JELLYFIN_STANDIN_VERSION=10.11.9/' /etc/default/jellyfin "
                           "&& (grep -q ^JELLYFIN_STANDIN_VERSION= /etc/default/jellyfin || "
                           "echo JELLYFIN_STANDIN_VERSION=10.11.9 >> /etc/default/jellyfin) && systemctl restart jellyfin"
                           % NETWORK_XML)
        assert fault.rc == 0, fault.stderr
        assert "<KnownProxies />" in server.file(NETWORK_XML).content_string
        proc, output = doctor(server, "doctor-faults.log")
        text = flat(proc)
        assert proc.returncode != 0
        assert ("FAIL jellyfin settings KnownProxies lacks %s" % lab["hosts"]["server"]["addresses"]["lan"]) in text, text[-3000:]
        assert "FAIL jellyfin version Jellyfin 10.11.9 is older than 10.11.10" in text, text[-3000:]
        assert "-> Update Jellyfin to 10.11.10 or later." in text and "-> Run the site playbook again" in text
        assert "2 FAIL and 0 WARN (doctor_fail_on: fail): jellyfin version, jellyfin settings. Nothing was changed." in text
        proc, output = doctor(server, "doctor-faults-never.log", "-e", "doctor_fail_on=never")
        assert proc.returncode == 0, output[-3000:]
        assert "jellyfin_remote_doctor_check{check=\"jellyfin version\"} 2" in server.file(DOCTOR_TEXTFILE).content_string
    finally:
        server.run("mv /root/network.xml.doctor %s && mv /root/jellyfin.default /etc/default/jellyfin && "
                   "systemctl restart jellyfin" % NETWORK_XML)
    deadline = time.time() + 60
    while time.time() < deadline and server.run("curl -fsS http://127.0.0.1:8096/health").stdout != "Healthy":
        time.sleep(0.5)


DOCTOR_TIMER = os.path.join(REPO, "playbooks", "doctor_timer.yml")


def test_the_host_timer_gives_the_same_findings_and_is_removed_whole(server):
    """Issue 26: the timer's service runs the doctor's checks without Ansible (the journal keeps
    the table, the textfile the gauges, the same as the Ansible run's); a second install changes
    nothing; doctor_timer_state absent leaves the host as it was."""
    from prometheus_client.parser import text_string_to_metric_families

    def gauges():
        families = {f.name: f for f in text_string_to_metric_families(server.file(DOCTOR_TEXTFILE).content_string)}
        return {s.labels["check"]: s.value for s in families["jellyfin_remote_doctor_check"].samples}

    before = fingerprint(server)
    record_before = json.loads(server.file(HOST_RECORD).content_string)
    textfile = ("-e", "doctor_textfile_path=%s" % DOCTOR_TEXTFILE)
    for log in ("doctor-timer.log", "doctor-timer-again.log"):
        proc = playbook(DOCTOR_TIMER, *textfile, log=log)
        assert proc.returncode == 0, flat(proc)[-3000:]
    assert recap_changed(proc.stdout) == 0, flat(proc)[-3000:]
    timer = server.service("jellyfin-remote-doctor.timer")
    assert timer.is_enabled and timer.is_running
    assert server.run("rm -f %s && systemctl start jellyfin-remote-doctor.service" % DOCTOR_TEXTFILE).rc == 0
    journal = server.check_output("journalctl -u jellyfin-remote-doctor.service -o cat --no-pager")
    assert "Remote access (nothing set up): OK (3 OK, 0 WARN, 0 FAIL)" in journal, journal[-2000:]
    assert re.search(r"OK +jellyfin settings +what the collection set in network.xml is still there", journal), journal
    from_timer = gauges()
    doctor(server, "doctor-beside-the-timer.log")
    assert from_timer == gauges() == {"jellyfin health": 0, "jellyfin version": 0, "jellyfin settings": 0}
    exposure = server.check_output("systemd-analyze security jellyfin-remote-doctor.service --no-pager | tail -1")
    print("doctor service: %s" % exposure.strip())

    for log in ("doctor-timer-absent.log", "doctor-timer-absent-again.log"):
        proc = playbook(DOCTOR_TIMER, "-e", "doctor_timer_state=absent", log=log)
        assert proc.returncode == 0, flat(proc)[-3000:]
    assert recap_changed(proc.stdout) == 0, flat(proc)[-3000:]
    assert not server.file(DOCTOR_TEXTFILE).exists  # no stale gauges left for node_exporter
    after = fingerprint(server)
    # The host record was written twice (the timer's section added, then removed): same content,
    # a newer mtime.
    assert json.loads(server.file(HOST_RECORD).content_string) == record_before
    for state in (before, after):
        state["files"] = [line for line in state["files"]
                          if not line.startswith((DOCTOR_TEXTFILE + " ", HOST_RECORD + " "))]
    assert fingerprint_diff(before, after) == {}


# ---------------------------------------------------------------- jellyfin_network_state: absent (last: it changes the lab)
def _standin_defaults():
    """network.xml as Jellyfin (the stand-in) wrote it on its first start, before converge."""
    path = os.path.join(REPO, "tests", "lab", "standins", "jellyfin", "jellyfin_standin.py")
    spec = importlib.util.spec_from_file_location("jellyfin_standin", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.DEFAULT_NETWORK_XML


def _absent(log, *args):
    proc = playbook(os.path.join(SCENARIO, "converge.yml"), "-e", "jellyfin_network_state=absent", *args, log=log)
    output = ANSI.sub("", proc.stdout + proc.stderr)
    assert proc.returncode == 0, output[-3000:]
    recap = re.search(r"^server\s*:.*$", output, re.M)
    assert recap, output[-2000:]
    return output, recap.group(0)


def _jellyfin_pid(server):
    return server.check_output("systemctl show -p MainPID --value jellyfin")


def test_absent_in_check_mode_changes_nothing_and_lists_what_it_would_put_back(server, lab):
    before, pid = fingerprint(server), _jellyfin_pid(server)
    output, _ = _absent("absent-check.log", "--check")
    assert "jellyfin_network: closed on server (check mode: would close):" in output, output[-3000:]
    assert "Jellyfin setting KnownProxies: removed %s" % lab["hosts"]["server"]["addresses"]["lan"] in output
    assert "Jellyfin setting LocalNetworkSubnets: removed %s" % lab["subnets"]["lan"] in output
    assert fingerprint_diff(before, fingerprint(server)) == {}
    assert _jellyfin_pid(server) == pid


def test_absent_puts_network_xml_back_to_its_pre_converge_content(server, internet, jellyfin_url):
    assert server.file(HOST_RECORD).exists
    pid = _jellyfin_pid(server)
    _absent("absent.log")
    assert server.file(NETWORK_XML).content_string == _standin_defaults()
    # The remote bitrate limit is the owner's again (the lab's 8 Mbit/s).
    assert ET.fromstring(server.file(SYSTEM_XML).content_string).findtext("RemoteClientBitrateLimit") == "8000000"
    f = server.file(NETWORK_XML)
    assert (f.user, f.group, f.mode) == ("jellyfin", "jellyfin", 0o644)
    assert not server.file(HOST_RECORD).exists  # its one section, this role's, was dropped
    assert _jellyfin_pid(server) != pid  # restarted once, to read the file back
    assert curl(internet, jellyfin_url + "/health") == (200, "Healthy")


def test_absent_again_changes_nothing(server):
    pid = _jellyfin_pid(server)
    output, recap = _absent("absent-again.log")
    assert re.search(r"\bchanged=0\b", recap), recap
    assert "nothing was open" in output
    assert _jellyfin_pid(server) == pid
