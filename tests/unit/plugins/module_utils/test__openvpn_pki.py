# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The openvpn role's read-only PKI look (module_utils/_openvpn_pki.py, module openvpn_pki_info).

Each test builds the PKI the role makes (community.crypto's way: EC P-384 keys, a self-signed
CA with SKI, certificates with SKI and AKI, a SHA-256 CRL) in a temp directory with the
cryptography library, changes one thing, and checks the look says "not complete" for it, so
that pki.yml runs where a module of it would change something. Nothing it returns may hold
key material.
"""

from __future__ import annotations

import datetime
import json
import os
import re
import sys

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from harness import run_module

from ansible_collections.homelab.jellyfin_remote.plugins.module_utils import _openvpn_pki
from ansible_collections.homelab.jellyfin_remote.plugins.modules import openvpn_pki_info

CA_CN = "Jellyfin remote OpenVPN CA"
SERVER = "jellyfin-server"
NOW = datetime.datetime(2026, 12, 1, tzinfo=datetime.timezone.utc)


def _name(cn):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _usage(**wanted):
    return _openvpn_pki._key_usage(**wanted)


def write_key(path, curve=None):
    key = ec.generate_private_key(curve or ec.SECP384R1())
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    path.chmod(0o600)
    return key


def write_ca(path, key, cn=CA_CN, basic=None, days=3650):
    builder = (x509.CertificateBuilder().subject_name(_name(cn)).issuer_name(_name(cn))
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(NOW - datetime.timedelta(days=1)).not_valid_after(NOW + datetime.timedelta(days=days))
               .add_extension(basic or x509.BasicConstraints(ca=True, path_length=0), critical=True)
               .add_extension(_usage(key_cert_sign=True, crl_sign=True), critical=True)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False))
    cert = builder.sign(key, hashes.SHA256())
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    path.chmod(0o644)
    return cert


def write_leaf(path, key, cn, ca, ca_key, usage=ExtendedKeyUsageOID.CLIENT_AUTH, days=1095):
    ski = ca.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    cert = (x509.CertificateBuilder().subject_name(_name(cn)).issuer_name(ca.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(NOW - datetime.timedelta(days=1)).not_valid_after(NOW + datetime.timedelta(days=days))
            .add_extension(_usage(digital_signature=True, key_agreement=True), critical=True)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False)
            .sign(ca_key, hashes.SHA256()))
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    path.chmod(0o644)
    return cert


def write_crl(path, ca_key, serials, cn=CA_CN, days=365):
    builder = (x509.CertificateRevocationListBuilder().issuer_name(_name(cn))
               .last_update(NOW).next_update(NOW + datetime.timedelta(days=days)))
    for serial in serials:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(NOW).build())
    path.write_bytes(builder.sign(ca_key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM))
    path.chmod(0o644)


@pytest.fixture
def pki(tmp_path):
    """The role's PKI for clients phone and laptop, with one revoked client (tablet)."""
    root = tmp_path / "jellyfin-pki"
    for sub in ("", "private", "issued", "revoked", "clients"):
        (root / sub).mkdir(exist_ok=True)
        (root / sub).chmod(0o700)
    ca_key = write_key(root / "private" / "ca.key")
    ca = write_ca(root / "ca.crt", ca_key)
    server_key = write_key(root / "private" / (SERVER + ".key"))
    write_leaf(root / "issued" / (SERVER + ".crt"), server_key, SERVER, ca, ca_key, ExtendedKeyUsageOID.SERVER_AUTH)
    for name in ("phone", "laptop"):
        write_leaf(root / "clients" / (name + ".crt"), write_key(root / "clients" / (name + ".key")), name, ca, ca_key)
    tablet = write_leaf(root / "revoked" / "tablet-1.crt", ec.generate_private_key(ec.SECP384R1()), "tablet", ca, ca_key)
    (root / "private" / "tls-crypt.key").write_text("#\n-----BEGIN OpenVPN Static key V1-----\n" + "0" * 32 + "\n")
    (root / "private" / "tls-crypt.key").chmod(0o600)
    crl = tmp_path / "jellyfin-crl.pem"
    write_crl(crl, ca_key, [tablet.serial_number])
    return {"root": root, "crl": crl, "ca": ca, "ca_key": ca_key, "tablet": tablet.serial_number}


def look(pki, clients=("phone", "laptop"), ca_cn=CA_CN, renew=30, now=NOW):
    return _openvpn_pki.look(str(pki["root"]), str(pki["crl"]), SERVER, list(clients), ca_cn, renew,
                             owner=os.getuid(), group=os.getgid(), now=now)


def reasons(result):
    assert result["complete"] is False
    return " | ".join(result["reasons"])


def secrets(pki):
    """The base64 and hex lines of every key file of the PKI."""
    lines = []
    for path in pki["root"].rglob("*.key"):
        lines += [line for line in path.read_text().splitlines() if re.fullmatch(r"[A-Za-z0-9+/=]{16,}", line)]
    assert len(lines) > 5
    return lines


def assert_no_key_material(pki, result):
    text = json.dumps(result)
    assert not [line for line in secrets(pki) if line in text]
    assert "PRIVATE KEY" not in text and "BEGIN" not in text


def test_the_role_s_pki_is_complete(pki):
    result = look(pki)
    assert result == {"complete": True, "reasons": [], "expiring": []}


def test_without_the_cryptography_library_it_is_not_complete(pki, monkeypatch):
    monkeypatch.setitem(sys.modules, "cryptography", None)
    assert look(pki) == {"complete": False, "reasons": ["python3-cryptography is not installed"], "expiring": []}


def test_a_bare_host_is_not_complete(tmp_path):
    result = _openvpn_pki.look(str(tmp_path / "none"), str(tmp_path / "crl.pem"), SERVER, ["phone"], CA_CN, 30)
    text = reasons(result)
    assert "private/ca.key: missing" in text and "clients/phone.key: missing" in text and "crl.pem: missing" in text


@pytest.mark.parametrize("path, mode", [("private/ca.key", 0o640), ("clients/phone.key", 0o644),
                                        ("issued/%s.crt" % SERVER, 0o600), ("ca.crt", 0o664), ("private", 0o755),
                                        ("", 0o750), ("clients", 0o711), ("revoked", 0o755)])
def test_a_mode_the_role_sets_differently_is_seen(pki, path, mode):
    (pki["root"] / path).chmod(mode)
    assert "mode or owner" in reasons(look(pki))


def test_another_owner_is_seen(pki):
    result = _openvpn_pki.look(str(pki["root"]), str(pki["crl"]), SERVER, ["phone", "laptop"], CA_CN, 30,
                               owner=os.getuid() + 1, group=os.getgid(), now=NOW)
    assert "mode or owner" in reasons(result)


def test_the_crl_mode_is_seen(pki):
    pki["crl"].chmod(0o600)
    assert "jellyfin-crl.pem: mode or owner" in reasons(look(pki))


@pytest.mark.parametrize("name", ["private/ca.key", "private/%s.key" % SERVER, "clients/laptop.key"])
def test_a_missing_key_is_seen(pki, name):
    (pki["root"] / name).unlink()
    assert "%s: missing" % name in reasons(look(pki))


def test_a_key_on_another_curve_is_seen(pki):
    write_key(pki["root"] / "clients" / "phone.key", ec.SECP256R1())
    text = reasons(look(pki))
    assert "clients/phone.key: not an EC secp384r1 key" in text


def test_an_encrypted_key_is_seen(pki):
    path = pki["root"] / "clients" / "phone.key"
    key = serialization.load_pem_private_key(path.read_bytes(), None)
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.BestAvailableEncryption(b"secret-passphrase")))
    assert "clients/phone.key: not an unencrypted PEM private key" in reasons(look(pki))


def test_a_new_ca_name_is_seen(pki):
    assert "ca.crt: subject is not CN=openvpn_ca_common_name" in reasons(look(pki, ca_cn="Another CA"))


def test_a_ca_certificate_of_another_key_is_seen(pki):
    write_ca(pki["root"] / "ca.crt", ec.generate_private_key(ec.SECP384R1()))
    assert "ca.crt: does not match private/ca.key" in reasons(look(pki))


def test_a_ca_without_the_path_length_is_seen(pki):
    write_ca(pki["root"] / "ca.crt", pki["ca_key"], basic=x509.BasicConstraints(ca=True, path_length=None))
    assert "ca.crt: extensions differ" in reasons(look(pki))


def test_a_client_certificate_from_another_ca_is_seen(pki, tmp_path):
    other_key = ec.generate_private_key(ec.SECP384R1())
    other = write_ca(tmp_path / "other-ca.crt", other_key)
    key = serialization.load_pem_private_key((pki["root"] / "clients" / "phone.key").read_bytes(), None)
    write_leaf(pki["root"] / "clients" / "phone.crt", key, "phone", other, other_key)
    text = reasons(look(pki))
    assert "clients/phone.crt: not signed by the CA" in text


def test_a_client_certificate_signed_by_another_key_under_the_ca_s_name_is_seen(pki):
    # Same issuer name and AKI, but the signature is not the CA key's: only the verification sees it.
    key = serialization.load_pem_private_key((pki["root"] / "clients" / "phone.key").read_bytes(), None)
    forged = ec.generate_private_key(ec.SECP384R1())
    cert = (x509.CertificateBuilder().subject_name(_name("phone")).issuer_name(pki["ca"].subject)
            .public_key(key.public_key()).serial_number(7)
            .not_valid_before(NOW).not_valid_after(NOW + datetime.timedelta(days=900))
            .add_extension(_usage(digital_signature=True, key_agreement=True), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(
                pki["ca"].extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value), critical=False)
            .sign(forged, hashes.SHA256()))
    (pki["root"] / "clients" / "phone.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    assert reasons(look(pki)) == "clients/phone.crt: not signed by the CA"


def test_a_certificate_that_does_not_match_its_key_is_seen(pki):
    write_key(pki["root"] / "clients" / "laptop.key")
    assert "clients/laptop.crt: does not match its private key" in reasons(look(pki))


def test_a_client_certificate_for_servers_is_seen(pki):
    key = serialization.load_pem_private_key((pki["root"] / "clients" / "phone.key").read_bytes(), None)
    write_leaf(pki["root"] / "clients" / "phone.crt", key, "phone", pki["ca"], pki["ca_key"], ExtendedKeyUsageOID.SERVER_AUTH)
    assert reasons(look(pki)) == ("clients/phone.crt: extensions differ from what the role asks for "
                                  "(key usage, extended key usage, basic constraints)")


def test_a_certificate_with_another_name_is_seen(pki):
    key = serialization.load_pem_private_key((pki["root"] / "clients" / "phone.key").read_bytes(), None)
    write_leaf(pki["root"] / "clients" / "phone.crt", key, "tablet", pki["ca"], pki["ca_key"])
    assert reasons(look(pki)) == "clients/phone.crt: subject is not CN=phone"


def test_certificates_close_to_expiry_are_listed(pki):
    result = look(pki, renew=2000)
    assert result["expiring"] == [SERVER, "phone", "laptop"]
    assert "issued/%s.crt: expires within openvpn_renew_before_days" % SERVER in reasons(result)
    later = look(pki, now=NOW + datetime.timedelta(days=1095 - 29))
    assert later["expiring"] == [SERVER, "phone", "laptop"] and not later["complete"]
    assert look(pki, now=NOW + datetime.timedelta(days=1095 - 31))["expiring"] == []


def test_a_new_client_is_seen(pki):
    text = reasons(look(pki, clients=("phone", "laptop", "tv")))
    assert "clients/tv.key: missing" in text and "clients/tv.crt: missing" in text


def test_a_client_no_longer_listed_is_to_be_revoked(pki):
    assert reasons(look(pki, clients=("phone",))) == "clients/laptop.crt: client no longer listed, to revoke"


def test_the_old_layout_is_to_be_moved_and_its_expiry_still_seen(pki):
    root = pki["root"]
    (root / "clients" / "phone.key").rename(root / "private" / "phone.key")
    (root / "clients" / "phone.crt").rename(root / "issued" / "phone.crt")
    result = look(pki, renew=2000)
    text = reasons(result)
    assert "private/phone.key: a client file of the old layout, to move to clients/" in text
    assert "issued/phone.crt: a client file of the old layout, to move to clients/" in text
    assert "phone" in result["expiring"]


def test_a_file_already_in_clients_is_not_moved_over(pki):
    root = pki["root"]
    (root / "issued" / "phone.crt").write_bytes((root / "clients" / "phone.crt").read_bytes())
    assert look(pki)["complete"]  # the role's move leaves it where it is: nothing to do


def test_a_missing_tls_crypt_key_is_seen(pki):
    (pki["root"] / "private" / "tls-crypt.key").unlink()
    assert reasons(look(pki)) == "private/tls-crypt.key: missing"


def test_a_missing_crl_is_seen(pki):
    pki["crl"].unlink()
    assert "jellyfin-crl.pem: missing" in reasons(look(pki))


def test_a_crl_signed_by_another_key_is_seen(pki):
    write_crl(pki["crl"], ec.generate_private_key(ec.SECP384R1()), [pki["tablet"]])
    assert "not signed by private/ca.key" in reasons(look(pki))


def test_a_crl_with_another_issuer_is_seen(pki):
    write_crl(pki["crl"], pki["ca_key"], [pki["tablet"]], cn="Another CA")
    assert "issuer is not CN=openvpn_ca_common_name" in reasons(look(pki))


def test_a_crl_with_another_ca_name_setting_is_seen(pki):
    text = reasons(look(pki, ca_cn="Another CA"))
    assert "jellyfin-crl.pem: issuer is not CN=openvpn_ca_common_name" in text


@pytest.mark.parametrize("serials", [[], [1, 2], [5]])
def test_a_crl_that_lists_other_certificates_is_seen(pki, serials):
    write_crl(pki["crl"], pki["ca_key"], serials)
    assert "does not list exactly the certificates in revoked/" in reasons(look(pki))


def test_a_newly_revoked_certificate_not_yet_in_the_crl_is_seen(pki):
    (pki["root"] / "clients" / "laptop.crt").rename(pki["root"] / "revoked" / "laptop-2.crt")
    assert "does not list exactly the certificates in revoked/" in reasons(look(pki, clients=("phone",)))


def test_a_crl_close_to_its_next_update_is_seen(pki):
    write_crl(pki["crl"], pki["ca_key"], [pki["tablet"]], days=29)
    assert reasons(look(pki)) == "%s: less than 30 days left" % pki["crl"]
    write_crl(pki["crl"], pki["ca_key"], [pki["tablet"]], days=31)
    assert look(pki)["complete"]


@pytest.mark.parametrize("change", ["bare", "layout", "revoke", "expiring", "key"])
def test_no_result_holds_key_material(pki, change):
    root = pki["root"]
    if change == "bare":
        for path in root.rglob("*.crt"):
            path.unlink()
    elif change == "layout":
        (root / "clients" / "phone.key").rename(root / "private" / "phone.key")
    elif change == "key":
        (root / "clients" / "phone.key").write_text("-----BEGIN PRIVATE KEY-----\n" + "A" * 64 + "\n-----END PRIVATE KEY-----\n")
    result = look(pki, clients=("phone",) if change == "revoke" else ("phone", "laptop"),
                  renew=2000 if change == "expiring" else 30)
    assert not result["complete"]
    assert_no_key_material(pki, result)
    assert "A" * 64 not in json.dumps(result)


# -- the module ----------------------------------------------------------------------------

def module_args(pki, **changes):
    args = {"pki": str(pki["root"]), "crl": str(pki["crl"]), "server_cn": SERVER, "clients": ["phone", "laptop"],
            "ca_common_name": CA_CN, "renew_before_days": 30}
    args.update(changes)
    return args


def test_the_module_answers_the_same_in_check_mode_and_changes_nothing(pki, monkeypatch):
    # The temp PKI is not root's: the module is told so through the module_utils' defaults.
    monkeypatch.setattr(_openvpn_pki, "look", lambda *a, **kw: _look_as_me(*a, **kw))
    before = {p: p.read_bytes() for p in pki["root"].rglob("*") if p.is_file()}
    kind, result, _ = run_module(openvpn_pki_info.main, module_args(pki, clients=["phone"]))
    kind_check, result_check, _ = run_module(openvpn_pki_info.main, module_args(pki, clients=["phone"]), check=True)
    assert kind == kind_check == "exit"
    assert result == result_check and result["changed"] is False
    assert result["reasons"] == ["clients/laptop.crt: client no longer listed, to revoke"]
    assert {p: p.read_bytes() for p in pki["root"].rglob("*") if p.is_file()} == before
    assert_no_key_material(pki, result)


_REAL_LOOK = _openvpn_pki.look


def _look_as_me(*args, **kwargs):
    return _REAL_LOOK(*args, owner=os.getuid(), group=os.getgid(), now=NOW, **kwargs)


@pytest.mark.parametrize("name", ["", "../ca", "a/b", ".."])
def test_the_module_refuses_a_name_that_is_not_a_file_name(pki, name):
    kind, result, _ = run_module(openvpn_pki_info.main, module_args(pki, clients=["phone", name]))
    assert kind == "fail" and result["msg"].startswith("clients: ")


def test_a_dangling_link_in_clients_does_not_stop_the_move(pki):
    # The role's move tests `-e`, which a dangling link fails: it moves the file over it.
    root = pki["root"]
    (root / "clients" / "phone.key").rename(root / "private" / "phone.key")
    (root / "clients" / "phone.key").symlink_to(root / "nowhere")
    assert "private/phone.key: a client file of the old layout, to move to clients/" in reasons(look(pki))


def test_a_linked_certificate_in_clients_is_not_listed_for_revocation(pki):
    # ansible.builtin.find (file_type file, no follow) does not list links: nothing to revoke.
    (pki["root"] / "clients" / "tablet.crt").symlink_to(pki["root"] / "clients" / "phone.crt")
    assert look(pki)["complete"]
