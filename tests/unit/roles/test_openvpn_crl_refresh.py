"""The openvpn role's CRL refresh (files/crl_refresh.py, run daily by a host timer): a CRL close
to its nextUpdate is signed again with the same entries; a fresh one is left alone."""

from __future__ import annotations

import datetime
import importlib.machinery
import importlib.util
import os
import stat

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
SCRIPT = os.path.join(REPO, "roles", "openvpn", "files", "crl_refresh.py")
NOW = datetime.datetime(2027, 6, 1, 12, 0, tzinfo=datetime.timezone.utc)


def load():
    loader = importlib.machinery.SourceFileLoader("crl_refresh", SCRIPT)
    spec = importlib.util.spec_from_loader("crl_refresh", loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


refresh = load()


@pytest.fixture()
def pki(tmp_path):
    key = ec.generate_private_key(ec.SECP384R1())
    issuer = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Jellyfin remote OpenVPN CA")])
    revoked = (x509.RevokedCertificateBuilder().serial_number(0x1234abcd)
               .revocation_date(datetime.datetime(2027, 1, 2, tzinfo=datetime.timezone.utc))
               .add_extension(x509.CRLReason(x509.ReasonFlags.key_compromise), False).build())
    crl = (x509.CertificateRevocationListBuilder().issuer_name(issuer)
           .last_update(NOW - datetime.timedelta(days=345)).next_update(NOW + datetime.timedelta(days=20))
           .add_extension(x509.CRLNumber(7), False).add_revoked_certificate(revoked)
           .sign(key, hashes.SHA256()))
    crl_path = tmp_path / "jellyfin-crl.pem"
    crl_path.write_bytes(crl.public_bytes(serialization.Encoding.PEM))
    key_path = tmp_path / "ca.key"
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    os.chmod(key_path, 0o600)
    return {"crl": str(crl_path), "key": str(key_path), "ca": key, "old": crl}


def _args(pki, *more):
    return ["--crl", pki["crl"], "--ca-key", pki["key"], "--days", "365", *more]


def test_a_crl_close_to_expiry_is_resigned_with_the_same_entries(pki, capsys):
    assert refresh.main(_args(pki, "--min-days", "30"), now=NOW) == 0
    with open(pki["crl"], "rb") as handle:
        new = x509.load_pem_x509_crl(handle.read())
    assert refresh.next_update(new) == NOW + datetime.timedelta(days=365)
    assert new.issuer == pki["old"].issuer
    assert new.is_signature_valid(pki["ca"].public_key())
    assert [(r.serial_number, r.revocation_date_utc) for r in new] == [
        (r.serial_number, r.revocation_date_utc) for r in pki["old"]]
    assert new[0].extensions.get_extension_for_class(x509.CRLReason).value.reason == x509.ReasonFlags.key_compromise
    assert new.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number == 8
    assert stat.S_IMODE(os.stat(pki["crl"]).st_mode) == 0o644
    out = capsys.readouterr().out
    assert out.startswith("re-signed:") and "BEGIN" not in out
    assert not [n for n in os.listdir(os.path.dirname(pki["crl"])) if n.startswith(".crl-")]


def test_a_fresh_crl_is_left_alone(pki, capsys):
    before = os.stat(pki["crl"])
    with open(pki["crl"], "rb") as handle:
        text = handle.read()
    assert refresh.main(_args(pki, "--min-days", "10"), now=NOW) == 0
    with open(pki["crl"], "rb") as handle:
        assert handle.read() == text
    assert os.stat(pki["crl"]).st_ino == before.st_ino
    assert capsys.readouterr().out.startswith("fresh:")


def test_a_key_that_did_not_sign_the_crl_is_refused(pki, tmp_path, capsys):
    other = tmp_path / "other.key"
    other.write_bytes(ec.generate_private_key(ec.SECP384R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    with open(pki["crl"], "rb") as handle:
        text = handle.read()
    assert refresh.main(["--crl", pki["crl"], "--ca-key", str(other)], now=NOW) == 1
    with open(pki["crl"], "rb") as handle:
        assert handle.read() == text
    assert "did not sign" in capsys.readouterr().err


def test_a_missing_crl_is_an_error(tmp_path, capsys):
    assert refresh.main(["--crl", str(tmp_path / "none.pem"), "--ca-key", str(tmp_path / "k")], now=NOW) == 1
    assert "crl_refresh:" in capsys.readouterr().err
