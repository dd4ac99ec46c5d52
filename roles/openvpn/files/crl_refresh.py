#!/usr/bin/python3
"""Re-sign the OpenVPN server's CRL before it expires (run daily by a systemd timer).

OpenVPN refuses every client once its CRL has passed nextUpdate, and the role re-signs the
CRL only when it runs. This keeps the list of revoked certificates exactly as it is (serial
numbers, revocation dates, entry extensions, issuer) and signs it again with the CA key,
valid for --days more days, when less than --min-days are left. The role's own CRL task
compares CRLs without their timestamps, so it finds nothing to change afterwards.

The CRL is written to a temporary file in the same directory, mode 0644 (OpenVPN re-reads
it as nobody), then renamed over the old one. Nothing secret is printed.

Usage: crl_refresh.py --crl PATH --ca-key PATH [--days 365] [--min-days 30]
Exit 0: fresh or re-signed (one line on stdout says which); 1: error (on stderr).
"""

from __future__ import annotations

import argparse
import datetime
import os
import sys
import tempfile

from cryptography import x509
from cryptography.hazmat.primitives import serialization


def _utc(value):
    return value if value.tzinfo else value.replace(tzinfo=datetime.timezone.utc)


def next_update(crl):
    value = getattr(crl, "next_update_utc", None) or crl.next_update
    return None if value is None else _utc(value)


def needs_refresh(crl, now, min_days):
    nxt = next_update(crl)
    return nxt is None or nxt - now < datetime.timedelta(days=min_days)


def resign(crl, ca_key, now, days):
    """The same CRL (issuer, entries, extensions; CRL number + 1), signed again, valid for days."""
    builder = (x509.CertificateRevocationListBuilder()
               .issuer_name(crl.issuer)
               .last_update(now)
               .next_update(now + datetime.timedelta(days=days)))
    for ext in crl.extensions:
        value = x509.CRLNumber(ext.value.crl_number + 1) if isinstance(ext.value, x509.CRLNumber) else ext.value
        builder = builder.add_extension(value, ext.critical)
    for revoked in crl:
        date = getattr(revoked, "revocation_date_utc", None) or revoked.revocation_date
        entry = x509.RevokedCertificateBuilder().serial_number(revoked.serial_number).revocation_date(_utc(date))
        for ext in revoked.extensions:
            entry = entry.add_extension(ext.value, ext.critical)
        builder = builder.add_revoked_certificate(entry.build())
    return builder.sign(ca_key, crl.signature_hash_algorithm)


def write_atomic(path, data, mode=0o644):
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".crl-")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.rename(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def main(argv=None, now=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--crl", required=True)
    parser.add_argument("--ca-key", required=True)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--min-days", type=int, default=30)
    args = parser.parse_args(argv)
    now = now or datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    try:
        with open(args.crl, "rb") as handle:
            crl = x509.load_pem_x509_crl(handle.read())
        if not needs_refresh(crl, now, args.min_days):
            print("fresh: %s is valid until %s" % (args.crl, next_update(crl).isoformat()))
            return 0
        with open(args.ca_key, "rb") as handle:
            ca_key = serialization.load_pem_private_key(handle.read(), password=None)
        # Only the key that signed the current CRL may sign the next one.
        if not crl.is_signature_valid(ca_key.public_key()):
            raise ValueError("the CA key in %s did not sign %s; nothing was changed" % (args.ca_key, args.crl))
        new = resign(crl, ca_key, now, args.days)
        write_atomic(args.crl, new.public_bytes(serialization.Encoding.PEM))
    except (OSError, ValueError, TypeError) as exc:
        print("crl_refresh: %s" % exc, file=sys.stderr)
        return 1
    print("re-signed: %s is valid until %s (%d revoked)" % (args.crl, next_update(new).isoformat(), len(new)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
