# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A read-only look at the openvpn role's PKI: would roles/openvpn/tasks/pki.yml change
anything? (CONTRIBUTING.md, "Read-only probes".)

The answer is "complete" only when every task of pki.yml would find nothing to do, judged as
community.crypto judges it (openssl_privatekey with full idempotence, x509_certificate with
the selfsigned and ownca providers and their default ignore_timestamps, x509_crl with
ignore_timestamps), plus the role's own rules: the old layout to move, clients no longer
listed to revoke, certificates within openvpn_renew_before_days of expiry, a CRL with less than
crl_min_days left. Where a module would regenerate, the look says "not complete" (it may say so
where a module would not, never the other way round).

Nothing here returns key material: the reasons name files and what is wrong with them, and
the expiring list names certificates. Without the cryptography library (python3-cryptography,
installed by the role) the look says "not complete".
"""

from __future__ import annotations

import datetime
import glob
import os
import stat

CURVE = "secp384r1"
PKI_DIRS = ("", "private", "issued", "revoked", "clients")


def _utc(value):
    return value if value.tzinfo else value.replace(tzinfo=datetime.timezone.utc)


def _not_after(cert):
    return _utc(getattr(cert, "not_valid_after_utc", None) or cert.not_valid_after)


def _next_update(crl):
    value = getattr(crl, "next_update_utc", None) or crl.next_update
    return None if value is None else _utc(value)


class _Look:
    def __init__(self, pki, owner, group):
        self.pki = pki
        self.owner = owner
        self.group = group
        self.reasons = []

    def rel(self, path):
        return os.path.relpath(path, self.pki) if path.startswith(self.pki + os.sep) else path

    def note(self, path, problem):
        self.reasons.append("%s: %s" % (self.rel(path), problem))

    def attrs(self, path, mode, directory=False):
        """True when path is a file (or directory) with mode, owner and group; notes why not."""
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            self.note(path, "missing")
            return False
        except OSError as exc:
            self.note(path, "unreadable (%s)" % exc.strerror)
            return False
        kind = stat.S_ISDIR(st.st_mode) if directory else stat.S_ISREG(st.st_mode)
        if not kind:
            self.note(path, "not a %s" % ("directory" if directory else "regular file"))
            return False
        if stat.S_IMODE(st.st_mode) != mode or st.st_uid != self.owner or st.st_gid != self.group:
            self.note(path, "mode or owner %o %d:%d, not %o %d:%d" % (
                stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid, mode, self.owner, self.group))
        return True

    def read(self, path):
        try:
            with open(path, "rb") as handle:
                return handle.read()
        except OSError as exc:
            self.note(path, "unreadable (%s)" % exc.strerror)
            return None


def _public_der(key):
    from cryptography.hazmat.primitives import serialization
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def _signed_by(cert_or_crl, public_key, tbs):
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric import ec
    if not isinstance(public_key, ec.EllipticCurvePublicKey) or cert_or_crl.signature_hash_algorithm is None:
        return False
    try:
        public_key.verify(cert_or_crl.signature, tbs, ec.ECDSA(cert_or_crl.signature_hash_algorithm))
    except InvalidSignature:
        return False
    return True


def _load(look, path, mode, loader, what):
    """loader(content) of the file at path when it has mode and loads, else None (noted)."""
    if not look.attrs(path, mode):
        return None
    data = look.read(path)
    if data is None:
        return None
    try:
        return loader(data)
    except (ValueError, TypeError):
        look.note(path, "not %s" % what)
        return None


def _key(look, path):
    """The private key at path (0600, unencrypted, EC P-384), or None; notes why not."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    key = _load(look, path, 0o600, lambda data: serialization.load_pem_private_key(data, password=None),
                "an unencrypted PEM private key")
    if key is not None and (not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != CURVE):
        look.note(path, "not an EC %s key" % CURVE)
        return None
    return key


def _cert(look, path):
    from cryptography import x509
    return _load(look, path, 0o644, x509.load_pem_x509_certificate, "a PEM certificate")


def _cn_name(common_name):
    from cryptography import x509
    from cryptography.x509.oid import NameOID
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _key_usage(**wanted):
    from cryptography import x509
    flags = dict.fromkeys(("digital_signature", "content_commitment", "key_encipherment", "data_encipherment",
                           "key_agreement", "key_cert_sign", "crl_sign", "encipher_only", "decipher_only"), False)
    flags.update(wanted)
    return x509.KeyUsage(**flags)


def _extensions_match(look, path, cert, expected, drop):
    """The certificate's extensions other than the drop classes are exactly expected (value
    and criticality), as x509_certificate compares them with the CSR's."""
    from cryptography import x509
    have = {}
    for ext in cert.extensions:
        if isinstance(ext.value, drop):
            continue
        if ext.oid in have:
            look.note(path, "an extension twice")
            return False
        have[ext.oid] = (ext.critical, ext.value)
    want = {value.oid: (critical, value) for critical, value in expected}
    if have != want:
        look.note(path, "extensions differ from what the role asks for (key usage, extended key usage, basic constraints)")
        return False
    return True


def _ca(look, path, key, common_name):
    """The CA certificate, checked as x509_certificate (selfsigned) does; None when it would change."""
    from cryptography import x509
    cert = _cert(look, path)
    if cert is None or key is None:
        return None
    ok = True
    if _public_der(cert.public_key()) != _public_der(key.public_key()):
        look.note(path, "does not match private/ca.key")
        ok = False
    elif not _signed_by(cert, key.public_key(), cert.tbs_certificate_bytes):
        look.note(path, "not signed by private/ca.key")
        ok = False
    if cert.subject != _cn_name(common_name):
        look.note(path, "subject is not CN=openvpn_ca_common_name")
        ok = False
    expected = [(True, x509.BasicConstraints(ca=True, path_length=0)),
                (True, _key_usage(key_cert_sign=True, crl_sign=True))]
    ok = _extensions_match(look, path, cert, expected, (x509.SubjectKeyIdentifier,)) and ok
    ok = _ski_matches(look, path, cert) and ok
    return cert if ok else None


def _ski_matches(look, path, cert):
    from cryptography import x509
    try:
        ski = cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    except x509.ExtensionNotFound:
        look.note(path, "no subject key identifier")
        return False
    if ski.digest != x509.SubjectKeyIdentifier.from_public_key(cert.public_key()).digest:
        look.note(path, "subject key identifier does not match its key")
        return False
    return True


def _leaf(look, path, key, ca, common_name, usage, renew_before, now):
    """A server or client certificate, checked as x509_certificate (ownca) does; notes what it
    would change. Returns common_name when the certificate expires within renew_before days."""
    from cryptography import x509
    from cryptography.x509.oid import ExtendedKeyUsageOID
    cert = _cert(look, path)
    if cert is None:
        return None
    if key is not None and _public_der(cert.public_key()) != _public_der(key.public_key()):
        look.note(path, "does not match its private key")
    if cert.subject != _cn_name(common_name):
        look.note(path, "subject is not CN=%s" % common_name)
    eku = ExtendedKeyUsageOID.SERVER_AUTH if usage == "serverAuth" else ExtendedKeyUsageOID.CLIENT_AUTH
    expected = [(True, _key_usage(digital_signature=True, key_agreement=True)),
                (True, x509.ExtendedKeyUsage([eku]))]
    _extensions_match(look, path, cert, expected, (x509.SubjectKeyIdentifier, x509.AuthorityKeyIdentifier))
    _ski_matches(look, path, cert)
    if ca is not None:
        if not _signed_by(cert, ca.public_key(), cert.tbs_certificate_bytes):
            look.note(path, "not signed by the CA")
        if cert.issuer != ca.subject:
            look.note(path, "issuer is not the CA")
        try:
            ca_ski = ca.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
            want_aki = x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski)
        except x509.ExtensionNotFound:
            want_aki = x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.public_key())
        try:
            aki = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
        except x509.ExtensionNotFound:
            aki = None
        if aki != want_aki:
            look.note(path, "authority key identifier is not the CA's")
    if _not_after(cert) - now < datetime.timedelta(days=renew_before):
        look.note(path, "expires within openvpn_renew_before_days")
        return common_name
    return None


def _old_layout(pki, server_cn):
    """Client files of the old layout (private/*.key, issued/*.crt) that the role would move to clients/."""
    moves = []
    for pattern in ("private/*.key", "issued/*.crt"):
        for path in sorted(glob.glob(os.path.join(pki, pattern))):
            name = os.path.basename(path)
            if not os.path.isfile(path) or name in ("ca.key", "tls-crypt.key", server_cn + ".key", server_cn + ".crt"):
                continue
            # As the role's move: test -e (a dangling link there does not stop it).
            if not os.path.exists(os.path.join(pki, "clients", name)):
                moves.append(os.path.relpath(path, pki))
    return moves


def _listed_crt(directory):
    """The *.crt files of directory as ansible.builtin.find lists them: regular files, not
    links (file_type file without follow), no hidden files."""
    out = []
    for path in glob.glob(os.path.join(directory, "*.crt")):
        try:
            if stat.S_ISREG(os.lstat(path).st_mode):
                out.append(path)
        except OSError:
            pass
    return out


def _crl(look, path, ca_key, common_name, revoked_paths, min_days, now):
    from cryptography import x509
    crl = _load(look, path, 0o644, x509.load_pem_x509_crl, "a PEM CRL")
    if crl is None:
        return
    if ca_key is not None and not _signed_by(crl, ca_key.public_key(), crl.tbs_certlist_bytes):
        look.note(path, "not signed by private/ca.key")
    if crl.signature_hash_algorithm is None or crl.signature_hash_algorithm.name != "sha256":
        look.note(path, "not signed with SHA-256 (x509_crl's digest)")
    if set(crl.issuer) != set(_cn_name(common_name)):
        look.note(path, "issuer is not CN=openvpn_ca_common_name")
    want = []
    for revoked in revoked_paths:
        data = look.read(revoked)
        try:
            want.append(x509.load_pem_x509_certificate(data).serial_number if data is not None else None)
        except ValueError:
            look.note(revoked, "not a PEM certificate")
            want.append(None)
    have = [entry.serial_number if not len(entry.extensions) else None for entry in crl]
    if have != want:
        look.note(path, "does not list exactly the certificates in revoked/")
    nxt = _next_update(crl)
    if nxt is None or (nxt - now).days < min_days:
        look.note(path, "less than %d days left" % min_days)


def look(pki, crl, server_cn, clients, ca_common_name, renew_before_days, crl_min_days=30,
         owner=0, group=0, now=None):
    """Whether pki.yml would change nothing: {"complete", "reasons", "expiring"}."""
    try:
        import cryptography  # noqa: F401  (python3-cryptography, installed by the role)
    except ImportError:
        return {"complete": False, "reasons": ["python3-cryptography is not installed"], "expiring": []}
    now = now or datetime.datetime.now(datetime.timezone.utc)
    pki = os.path.normpath(pki)
    look = _Look(pki, owner, group)
    for sub in PKI_DIRS:
        look.attrs(os.path.join(pki, sub) if sub else pki, 0o700, directory=True)
    for path in _old_layout(pki, server_cn):
        look.reasons.append("%s: a client file of the old layout, to move to clients/" % path)
    clients_dir = os.path.join(pki, "clients")
    for path in sorted(_listed_crt(clients_dir)):
        name = os.path.basename(path)[:-len(".crt")]
        if name not in clients:
            look.reasons.append("clients/%s.crt: client no longer listed, to revoke" % name)

    ca_key = _key(look, os.path.join(pki, "private", "ca.key"))
    ca = _ca(look, os.path.join(pki, "ca.crt"), ca_key, ca_common_name)
    expiring = []
    leaves = [(server_cn, os.path.join(pki, "private", server_cn + ".key"),
               os.path.join(pki, "issued", server_cn + ".crt"), "serverAuth")]
    leaves += [(name, os.path.join(clients_dir, name + ".key"), os.path.join(clients_dir, name + ".crt"), "clientAuth")
               for name in clients]
    for name, key_path, crt_path, usage in leaves:
        key = _key(look, key_path)
        # A client's certificate still in issued/ (old layout) is the one pki.yml moves, then renews.
        if usage == "clientAuth" and not os.path.exists(crt_path) and os.path.isfile(
                os.path.join(pki, "issued", name + ".crt")):
            crt_path = os.path.join(pki, "issued", name + ".crt")
        if _leaf(look, crt_path, key, ca, name, usage, renew_before_days, now):
            expiring.append(name)
    if not os.path.lexists(os.path.join(pki, "private", "tls-crypt.key")):
        look.note(os.path.join(pki, "private", "tls-crypt.key"), "missing")
    _crl(look, crl, ca_key, ca_common_name, sorted(_listed_crt(os.path.join(pki, "revoked")), key=str.lower),
         crl_min_days, now)
    return {"complete": not look.reasons, "reasons": look.reasons, "expiring": expiring}
