"""What a user of the openvpn role would check: the phone's exported profile connects from
outside, Jellyfin sees the phone's VPN address, keys stay private, a removed client is
revoked and refused while the others stay connected, and no key reaches the log.

The internet host plays the clients: its image has openvpn, and the lab gives it
/dev/net/tun and NET_ADMIN. Tests run in file order.
"""

from __future__ import annotations

import json
import os
import re
import time

import pytest

from conftest import (assert_vpn_closed, copy_to, curl, denied_login_address, doctor, exposure, fingerprint,
                      fingerprint_diff, flat, host_record_section, recap_changed, udp_port)
from conftest import converge as run_converge
from conftest import lan_and_vpn_local_internet_remote, lan_listed_before_vpn, vpn_reaches_only_jellyfin

SCENARIO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PKI = "/etc/openvpn/server/jellyfin-pki"
CLIENTS = PKI + "/clients"
SERVER_VPN = "10.8.0.1"
JELLYFIN_VPN_URL = "http://%s:8096" % SERVER_VPN
PEM_BODY = re.compile(r"(?m)^[A-Za-z0-9+/=]{40,}$")


def _ephemeral():
    return os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]


def _export_dir():
    return os.path.join(_ephemeral(), "openvpn-clients")


def converge(log_name, extra_vars=None, *args):
    """Run the converge playbook at -vvv; return its output."""
    proc = run_converge(SCENARIO, extra_vars, "-vvv", *args, log=log_name)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    return proc.stdout + proc.stderr


def connect(lab, internet, name, device, profile=None, extra=""):
    """Copy a profile to the internet host and start openvpn there; return (connected, log)."""
    copy_to(lab, "internet", profile or os.path.join(_export_dir(), "%s.ovpn" % name), "/root/%s.ovpn" % name)
    internet.check_output("chmod 0600 /root/%s.ovpn && rm -f /tmp/ovpn-%s.log" % (name, name))
    internet.check_output("openvpn --config /root/%s.ovpn --dev %s --daemon ovpn-%s --writepid /run/ovpn-%s.pid "
                          "--log /tmp/ovpn-%s.log %s" % (name, device, name, name, name, extra))
    deadline = time.time() + 30
    log = ""
    while time.time() < deadline:
        log = internet.run("cat /tmp/ovpn-%s.log" % name).stdout
        if "Initialization Sequence Completed" in log:
            return True, log
        time.sleep(1)
    return False, log


def ran(output, task):
    """Whether a task of the openvpn role ("_vpn : NAME" for roles/_vpn's) gave the server an ok or
    changed result in a run's output, rather than only skipping."""
    header = "TASK [homelab.jellyfin_remote.%s]" % (task if task.startswith("_vpn : ") else "openvpn : " + task)
    assert header in output, header
    return any(re.search(r"(?m)^(ok|changed): \[server", part.split("\nTASK [", 1)[0])
               for part in output.split(header)[1:])


def disconnect(internet, name):
    internet.run("kill $(cat /run/ovpn-%s.pid) 2>/dev/null; rm -f /run/ovpn-%s.pid" % (name, name))



@pytest.fixture(scope="module")
def phone(lab, internet):
    # The phone renegotiates its TLS session every 10 s: the server, no longer root by then,
    # must manage that (test_tls_renegotiation_works_after_the_privilege_drop).
    ok, log = connect(lab, internet, "phone", "tunphone", extra="--reneg-sec 10")
    assert ok, log
    address = re.search(r"inet (10\.8\.0\.\d+)/", internet.check_output("ip -4 addr show dev tunphone")).group(1)
    yield address
    disconnect(internet, "phone")


# -- files and service ---------------------------------------------------------------------

@pytest.mark.parametrize("path, mode", [
    (PKI, 0o700), (PKI + "/private", 0o700), (PKI + "/private/ca.key", 0o600),
    (PKI + "/private/jellyfin-server.key", 0o600), (CLIENTS, 0o700), (CLIENTS + "/phone.key", 0o600),
    (PKI + "/private/tls-crypt.key", 0o600), ("/etc/openvpn/server/jellyfin.conf", 0o600),
])
def test_secret_files_are_private_on_the_server(server, path, mode):
    f = server.file(path)
    assert f.exists and f.user == "root" and f.mode == mode, (path, oct(f.mode))


def test_exported_profiles_are_private_on_the_controller():
    assert os.stat(_export_dir()).st_mode & 0o777 == 0o700
    for name in ("phone", "laptop"):
        assert os.stat(os.path.join(_export_dir(), name + ".ovpn")).st_mode & 0o777 == 0o600


def test_server_runs_with_the_hardened_settings(server):
    assert server.service("openvpn-server@jellyfin").is_running
    assert server.service("openvpn-server@jellyfin").is_enabled
    conf = server.file("/etc/openvpn/server/jellyfin.conf").content_string
    for line in ("proto udp", "port 1194", "tls-version-min 1.2", "data-ciphers AES-256-GCM:CHACHA20-POLY1305",
                 "tls-crypt %s/private/tls-crypt.key" % PKI, "crl-verify /etc/openvpn/server/jellyfin-crl.pem"):
        assert line in conf.splitlines(), line
    assert server.run("nft list table inet jellyfin_remote_openvpn").rc == 0


def test_a_configuration_openvpn_rejects_is_not_installed(server):
    conf = "/etc/openvpn/server/jellyfin.conf"
    before = server.file(conf).sha256sum
    pid = server.check_output("systemctl show -p MainPID --value openvpn-server@jellyfin")
    proc = run_converge(SCENARIO, {"openvpn_server_extra_directives": ["max-clientz 10"]})
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0, output[-2000:]
    assert "OpenVPN rejected the generated server configuration" in output, output[-3000:]
    assert "Unrecognized option" in output and "max-clientz" in output, output[-3000:]  # OpenVPN's words
    assert server.file(conf).sha256sum == before
    assert server.check_output("systemctl show -p MainPID --value openvpn-server@jellyfin") == pid
    assert server.service("openvpn-server@jellyfin").is_running


def test_openvpn_runs_as_nobody_after_start(server):
    pid = server.check_output("systemctl show -p MainPID --value openvpn-server@jellyfin")
    assert server.check_output("ps -o user=,group= -p %s" % pid).split() == ["nobody", "nogroup"]


def test_a_client_named_like_a_pki_file_is_refused_before_any_change(server):
    ca = server.file(PKI + "/private/ca.key").sha256sum
    proc = run_converge(SCENARIO, {"lab_openvpn_clients": ["phone", "ca"]})
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0, output[-2000:]
    assert "openvpn_clients: 'ca' is the name of a file of the server's PKI" in output, output[-3000:]
    assert not server.file(CLIENTS + "/ca.key").exists
    assert server.file(PKI + "/private/ca.key").sha256sum == ca


# -- the phone -----------------------------------------------------------------------------

def test_jellyfin_answers_through_the_tunnel(internet, phone):
    status, body = curl(internet, JELLYFIN_VPN_URL + "/System/Info/Public")
    assert status == 200 and json.loads(body)["ProductName"] == "Jellyfin Server"


def test_jellyfin_sees_the_phones_vpn_address(internet, server, phone):
    assert denied_login_address(internet, server, JELLYFIN_VPN_URL) == phone


def test_the_data_channel_uses_an_aead_cipher(internet, phone):
    log = internet.check_output("cat /tmp/ovpn-phone.log")
    assert re.search(r"Data Channel: cipher '(AES-256-GCM|CHACHA20-POLY1305)'", log), log[-1500:]
    assert re.search(r"Control Channel: TLSv1\.[23]", log), log[-1500:]


def test_a_lan_host_is_reached_through_the_tunnel(internet, lab, phone):
    router_lan = lab["hosts"]["router"]["addresses"]["lan"]
    assert "dev tunphone" in internet.check_output("ip route get %s" % router_lan)
    assert internet.run("ping -c 1 -W 3 %s" % router_lan).rc == 0


def test_vpn_clients_reach_jellyfin_but_no_other_port_of_the_server(internet, server, phone):
    vpn_reaches_only_jellyfin(internet, server, JELLYFIN_VPN_URL, SERVER_VPN)


def test_jellyfin_counts_the_lan_and_the_vpn_as_local(server, lab):
    lan_listed_before_vpn(server, lab["subnets"]["lan"], "10.8.0.0/24")


def test_jellyfin_classifies_the_lan_and_the_phone_as_local_and_the_internet_as_remote(server, internet, lab, phone):
    lan_and_vpn_local_internet_remote(server, internet, lab, JELLYFIN_VPN_URL, phone)


def test_the_doctor_lists_the_connected_phone(server, phone):
    """Issue 26: the doctor reads the clients from the status file Debian's unit has the server
    write (every 60 s, OpenVPN's default: wait until it lists the phone), and changes nothing."""
    status = "/run/openvpn-server/status-jellyfin.log"
    for _ in range(80):
        if server.run("grep -q '^CLIENT_LIST,phone,' %s" % status).rc == 0:
            break
        time.sleep(1)
    proc, output = doctor(server, "doctor-openvpn.log")
    text = flat(proc)
    assert proc.returncode == 0, output[-3000:]
    assert re.search(r"OK openvpn jellyfin 1 client connected: phone \(since \d{4}-\d\d-\d\d ", text), text[-3000:]
    assert "OK unit openvpn-server@jellyfin.service" in text and ", 0 FAIL; looked in" in text, text[-3000:]


def test_tls_renegotiation_works_after_the_privilege_drop(internet, phone):
    # The phone asked for a new TLS session every 10 s (--reneg-sec 10): a second completed
    # handshake in its log, and the tunnel still carries traffic.
    deadline = time.time() + 40
    while internet.check_output("grep -c 'Control Channel: TLS' /tmp/ovpn-phone.log || true").strip() in ("", "0", "1"):
        assert time.time() < deadline, internet.check_output("tail -n 30 /tmp/ovpn-phone.log")
        time.sleep(1)
    assert curl(internet, JELLYFIN_VPN_URL + "/System/Ping")[0] == 200


# -- revocation ----------------------------------------------------------------------------

def test_a_removed_client_is_revoked_and_refused(lab, server, internet, phone):
    saved = os.path.join(_ephemeral(), "laptop-saved.ovpn")
    with open(os.path.join(_export_dir(), "laptop.ovpn"), encoding="utf-8") as src, open(saved, "w", encoding="utf-8") as dst:
        dst.write(src.read())
    os.chmod(saved, 0o600)
    ok, log = connect(lab, internet, "laptop", "tunlaptop")
    assert ok, log  # the laptop works before it is removed
    disconnect(internet, "laptop")
    pid = server.check_output("systemctl show -p MainPID --value openvpn-server@jellyfin")
    keys = {path: server.check_output("cat %s" % path) for path in
            (PKI + "/private/ca.key", PKI + "/private/jellyfin-server.key", CLIENTS + "/phone.key",
             CLIENTS + "/laptop.key", PKI + "/private/tls-crypt.key")}

    # Meanwhile the phone's files go back to the layout of earlier releases (key in private/,
    # certificate in issued/, next to the server's): the same run moves them to clients/.
    phone_files = {name: server.file("%s/%s" % (CLIENTS, name)).sha256sum for name in ("phone.key", "phone.crt")}
    server.check_output("mv %s/phone.key %s/private/phone.key && mv %s/phone.crt %s/issued/phone.crt"
                        % (CLIENTS, PKI, CLIENTS, PKI))

    output = converge("converge-revoke.log", {"lab_openvpn_clients": ["phone"]})

    assert "moved phone.key" in output and "moved phone.crt" in output, output[-3000:]
    assert {name: server.file("%s/%s" % (CLIENTS, name)).sha256sum for name in phone_files} == phone_files
    assert not server.file(PKI + "/private/phone.key").exists and not server.file(PKI + "/issued/phone.crt").exists

    assert not os.path.exists(os.path.join(_export_dir(), "laptop.ovpn"))
    assert not server.file(CLIENTS + "/laptop.key").exists
    assert not server.file(CLIENTS + "/laptop.crt").exists
    revoked = server.check_output("ls %s/revoked" % PKI).split()
    assert len(revoked) == 1 and revoked[0].startswith("laptop-")
    serial = revoked[0][len("laptop-"):-len(".crt")]
    crl = server.check_output("openssl crl -in /etc/openvpn/server/jellyfin-crl.pem -noout -text")
    assert re.search(r"Serial Number: 0*%s\b" % serial, crl, re.I), crl
    # No restart: OpenVPN re-reads the CRL, and the phone stays connected.
    assert server.check_output("systemctl show -p MainPID --value openvpn-server@jellyfin") == pid
    assert curl(internet, JELLYFIN_VPN_URL + "/System/Ping")[0] == 200

    ok, log = connect(lab, internet, "laptop", "tunlaptop", profile=saved)
    disconnect(internet, "laptop")
    assert not ok, log
    journal = server.check_output("journalctl -u openvpn-server@jellyfin --no-pager -n 200")
    assert "certificate revoked" in journal.lower() or "crl" in journal.lower(), journal[-2000:]

    # The -vvv output of this run holds none of the keys (PEM bodies, tls-crypt hex lines).
    for path, text in keys.items():
        lines = PEM_BODY.findall(text) + re.findall(r"(?m)^[0-9a-f]{32}$", text)
        assert lines, path
        assert not [line for line in lines if line in output], path


def test_the_host_timer_resigns_a_crl_close_to_expiry(server):
    # The CRL is made to expire in 10 days (same entries, same key), then the timer's service
    # runs under its hardening: it re-signs it for openvpn_crl_days with the same entries, and
    # the role's next run (below) finds nothing to change.
    crl = "/etc/openvpn/server/jellyfin-crl.pem"
    unit = "jellyfin-remote-openvpn-crl-jellyfin"
    assert server.service(unit + ".timer").is_enabled and server.service(unit + ".timer").is_running

    def entries():
        return re.findall(r"Serial Number: (\S+)", server.check_output("openssl crl -in %s -noout -text" % crl))

    def days_left():
        return int(server.check_output(
            "echo $(( ($(date -d \"$(openssl crl -in %s -noout -nextupdate | cut -d= -f2)\" +%%s) - $(date +%%s)) / 86400 ))"
            % crl))

    revoked = entries()
    server.check_output("python3 /usr/local/sbin/jellyfin-remote-openvpn-crl --crl %s "
                        "--ca-key %s/private/ca.key --days 10 --min-days 400" % (crl, PKI))
    assert days_left() <= 10
    server.check_output("systemctl start %s.service" % unit)
    journal = server.check_output("journalctl -u %s.service --no-pager -o cat" % unit)
    assert "re-signed: %s" % crl in journal, journal
    assert days_left() >= 360
    assert entries() == revoked and revoked
    assert server.file(crl).mode == 0o644


def test_after_the_revocation_and_the_move_a_rerun_changes_nothing():
    output = converge("converge-revoke-again.log", {"lab_openvpn_clients": ["phone"]})
    assert recap_changed(output) == 0
    # The probes found nothing to do: the PKI tasks, the export's key reads and profile writes,
    # the configuration (with OpenVPN's check of it) and the firewall table (with nft -c) were skipped.
    for task in ("Look at the host", "Look at the PKI"):
        assert ran(output, task), task
    for task in ("Make the PKI", "Read the CA certificate and the tls-crypt key", "Read the clients' keys",
                 "Write the client profiles on the controller", "Create the export directory on the controller",
                 "Write the server configuration (checked by OpenVPN itself before it is installed)",
                 "Write the unit drop-in (firewall table with the service)", "Record what was set up (read by openvpn_state absent)",
                 "_vpn : Write the firewall table", "_vpn : Let the kernel forward VPN traffic"):
        assert not ran(output, task), task


def test_an_edited_or_removed_profile_is_written_again():
    profile = os.path.join(_export_dir(), "phone.ovpn")
    with open(profile, encoding="utf-8") as handle:
        written = handle.read()
    with open(profile, "w", encoding="utf-8") as handle:
        handle.write(written.replace("verb 3", "verb 5"))
    output = converge("converge-profile-edited.log", {"lab_openvpn_clients": ["phone"]})
    assert ran(output, "Read the clients' keys") and ran(output, "Write the client profiles on the controller")
    assert not ran(output, "Make the PKI")
    with open(profile, encoding="utf-8") as handle:
        assert handle.read() == written
    assert os.stat(profile).st_mode & 0o777 == 0o600

    os.unlink(profile)
    converge("converge-profile-removed.log", {"lab_openvpn_clients": ["phone"]})
    with open(profile, encoding="utf-8") as handle:
        assert handle.read() == written
    assert os.stat(profile).st_mode & 0o777 == 0o600


def test_certificates_close_to_expiry_are_reissued_and_the_server_restarted(server, internet, phone):
    # openvpn_renew_before_days beyond the certificates' lifetime: both are "close to expiry".
    def serial(path):
        return server.check_output("openssl x509 -in %s -noout -serial" % path)

    paths = (PKI + "/issued/jellyfin-server.crt", CLIENTS + "/phone.crt")
    before = {path: serial(path) for path in paths}
    pid = server.check_output("systemctl show -p MainPID --value openvpn-server@jellyfin")
    converge("converge-renew.log", {"lab_openvpn_clients": ["phone"], "openvpn_renew_before_days": 2000})
    assert all(serial(path) != before[path] for path in paths), before
    assert server.check_output("systemctl show -p MainPID --value openvpn-server@jellyfin") != pid
    assert server.service("openvpn-server@jellyfin").is_running
    # The phone, still on its profile from before, comes back by itself (the server's restart
    # notice, else ping-restart 60 s): the old certificate is still valid under the same CA.
    deadline = time.time() + 90
    while internet.run("curl -sf -m 3 -o /dev/null %s/System/Ping" % JELLYFIN_VPN_URL).rc != 0:
        assert time.time() < deadline, internet.run("tail -20 /tmp/ovpn-phone.log").stdout
        time.sleep(1)


def test_the_crl_refresh_unit_is_hardened(server):
    # Root for the CA key, without any capability, behind a system-call filter: 3.6 measured.
    assert exposure(server, "jellyfin-remote-openvpn-crl-jellyfin.service") <= 4.0


# -- closing (openvpn_state absent): last, as it takes the server down ------------------------------

CLOSED_FILES = ("/etc/openvpn/server/jellyfin.conf", "/etc/openvpn/server/jellyfin.nft",
                "/etc/systemd/system/openvpn-server@jellyfin.service.d",
                "/etc/systemd/system/jellyfin-remote-openvpn-crl-jellyfin.timer",
                "/etc/systemd/system/jellyfin-remote-openvpn-crl-jellyfin.service",
                "/usr/local/sbin/jellyfin-remote-openvpn-crl", "/var/lib/openvpn-jellyfin",
                "/etc/sysctl.d/90-jellyfin-remote-openvpn.conf")
KEPT = (PKI + "/private/ca.key", PKI + "/ca.crt", PKI + "/private/jellyfin-server.key", PKI + "/issued/jellyfin-server.crt",
        PKI + "/private/tls-crypt.key", CLIENTS + "/phone.key", CLIENTS + "/phone.crt", "/etc/openvpn/server/jellyfin-crl.pem")


def test_absent_in_check_mode_changes_nothing_and_lists_what_it_would_close(server):
    before = fingerprint(server)
    output = converge("absent-check.log", {"openvpn_state": "absent", "lab_openvpn_clients": ["phone"]}, "--check")
    assert fingerprint_diff(before, fingerprint(server)) == {}
    assert "openvpn: closed on server (check mode: would close):" in output, output[-3000:]
    for line in ("unit jellyfin-remote-openvpn-crl-jellyfin.timer (stopped, disabled)",
                 "unit openvpn-server@jellyfin.service (stopped, disabled)", "interface ovpn-jellyfin",
                 "nftables table inet jellyfin_remote_openvpn", "Jellyfin LocalNetworkSubnets entry 10.8.0.0/24") + tuple(
                     "file " + path for path in CLOSED_FILES):
        assert line in output, line


def test_absent_closes_the_server_and_keeps_the_pki(server, internet, lab, phone):
    lan = lab["hosts"]["server"]["addresses"]["lan"]
    assert curl(internet, JELLYFIN_VPN_URL + "/System/Ping")[0] == 200
    assert udp_port(internet, lan, 1194) == "silent"  # tls-crypt: OpenVPN drops what it cannot authenticate
    record = host_record_section(server, "openvpn")
    assert record and record["instance"] == "jellyfin" and "net.ipv4.ip_forward" in record["sysctl_before"], record
    assert "10.8.0.0/24" in record["jellyfin_local_subnets_added"], record
    kept = {path: server.file(path).sha256sum for path in KEPT}

    output = converge("absent.log", {"openvpn_state": "absent", "lab_openvpn_clients": ["phone"]})

    assert "openvpn: closed on server:" in output, output[-3000:]
    assert_vpn_closed(server, internet, lan, "openvpn", record, port=1194, interface="ovpn-jellyfin",
                      units=["openvpn-server@jellyfin", "jellyfin-remote-openvpn-crl-jellyfin.timer"],
                      table="jellyfin_remote_openvpn", files=CLOSED_FILES, vpn_url=JELLYFIN_VPN_URL)
    # systemd forgot the removed units (daemon-reload): no unit file left behind.
    assert "not-found" in server.check_output("systemctl show -p LoadState jellyfin-remote-openvpn-crl-jellyfin.timer")
    # The PKI stays, and the profile on the controller.
    assert {path: server.file(path).sha256sum for path in KEPT} == kept
    assert os.path.exists(os.path.join(_export_dir(), "phone.ovpn"))


def test_absent_again_changes_nothing():
    output = converge("absent-again.log", {"openvpn_state": "absent", "lab_openvpn_clients": ["phone"]})
    assert recap_changed(output) == 0
    assert "nothing was open" in output
