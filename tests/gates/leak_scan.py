#!/usr/bin/env python3
# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Secret-leak scan: do any of these secrets appear in these logs?

    leak_scan.py LOG... --secret VALUE [--secret VALUE ...]
    leak_scan.py LOG... --secrets-file secrets.json      (a JSON list, or {label: value})
    leak_scan.py LOG... --container lab-server            (read the secrets from the lab server)
    leak_scan.py --container lab-server --save-secrets FILE   (only collect them, file 0600)

Each secret is looked for in the forms it takes when it leaks through Ansible output,
HTTP logs or encoded payloads: as is, base64 (standard and URL-safe, at any alignment
inside a longer base64 text), URL-encoded (%XX and +), JSON-escaped, and, for base64 key
material such as a WireGuard private key, its decoded bytes in hex. Public keys and
fingerprints are different strings and do not match. Each log is searched as it is and
with molecule's wrapped, bordered lines joined again (see unwrap). A PEM private key is
looked for line by line (see pem_key_lines).

The report never shows a secret: each is named by its label and the first 12 hex digits
of its sha256. Exit status: 0 no hit, 1 at least one hit, 2 usage error.

--container runs `podman exec CONTAINER` to list and read the known secret files (see
SECRET_SOURCES) and takes the secret values out of them.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import fnmatch
import hashlib
import json
import os
import re
import subprocess
import sys
import urllib.parse

MIN_LENGTH = 8  # shorter values match by chance; they are refused, not scanned
MIN_FRAGMENT = 12  # shortest base64 fragment that still identifies a secret

# (file glob on the lab server, how to take secrets out of it)
#   "whole"     the file content, stripped
#   "pem-key"   the base64 body lines of every PEM private key in the file (see pem_key_lines)
#   a regex     every match's group "v"
SECRET_SOURCES = [
    ("/etc/wireguard/*.key", "whole"),
    ("/etc/wireguard/*.psk", "whole"),
    ("/etc/wireguard/*.conf", r"(?m)^\s*(?:PrivateKey|PresharedKey)\s*=\s*(?P<v>\S+)"),
    ("/etc/wireguard/clients/*.conf", r"(?m)^\s*(?:PrivateKey|PresharedKey)\s*=\s*(?P<v>\S+)"),
    ("/etc/wireguard/clients/*.key", "whole"),
    ("/etc/ddclient.conf", r"(?m)^\s*(?:password|token|apikey|secretapikey)\s*=\s*'?(?P<v>[^'\s]+)'?"),
    ("/etc/ddclient-tsig.key", r'(?m)secret\s+"?(?P<v>[A-Za-z0-9+/=]+)"?'),
    # The ddns role's timer (ddns_timer): its credentials file, JSON.
    ("/etc/jellyfin-remote-ddns.json", r'"(?:password|token|api_key|secret_api_key|tsig_key_secret)"\s*:\s*"(?P<v>[^"]+)"'),
    ("/etc/cloudflared/*.json", r'"TunnelSecret"\s*:\s*"(?P<v>[^"]+)"'),
    ("/etc/cloudflared/*.env", r"(?m)^\s*TUNNEL_TOKEN\s*=\s*\"?(?P<v>[^\"\s]+)"),
    ("/var/lib/tailscale/.jellyfin_remote_auth_key", "whole"),
    ("/etc/jellyfin/network.xml", r"<CertificatePassword>(?P<v>[^<]+)</CertificatePassword>"),
    ("/etc/jellyfin-remote/private/*.pass", "whole"),
    # TLS private keys the reverse proxy roles leave: certbot's lineages (live/ links here) and
    # the storage of Debian's caddy (user caddy, HOME /var/lib/caddy: certificates/<CA>/<name>/,
    # and the keys of its own CA for `tls internal`).
    ("/etc/letsencrypt/archive/*/privkey*.pem", "pem-key"),
    ("/var/lib/caddy/.local/share/caddy/certificates/*/*/*.key", "pem-key"),
    ("/var/lib/caddy/.local/share/caddy/pki/authorities/*/*.key", "pem-key"),
    # certbot's RFC 2136 credentials (the certbot role, DNS-01).
    ("/etc/letsencrypt/jellyfin-remote-rfc2136-*.ini", r"(?m)^\s*dns_rfc2136_secret\s*=\s*(?P<v>\S+)"),
    ("/etc/letsencrypt/jellyfin-remote-cloudflare-*.ini", r"(?m)^\s*dns_cloudflare_api_token\s*=\s*(?P<v>\S+)"),
    # The openvpn role's PKI: the CA's, the server's and each client's EC key, and the
    # tls-crypt key (16 lines of 32 hex digits between OpenVPN's own markers).
    ("/etc/openvpn/server/*-pki/private/*.key", "pem-key"),
    ("/etc/openvpn/server/*-pki/private/tls-crypt.key", r"(?m)^(?P<v>[0-9a-f]{32})$"),
]

PEM_KEY = re.compile(r"-----BEGIN (?P<kind>[A-Z0-9 ]*PRIVATE KEY)-----(?P<body>.*?)-----END (?P=kind)-----", re.S)
PEM_LINE = re.compile(r"^[A-Za-z0-9+/]{16,}={0,2}$")


# Lists the regular files matching each glob given as an argument. The pattern is expanded
# unquoted on purpose: a quoted "$f" would test the literal "*.key".
LIST_SCRIPT = 'for pattern in "$@"; do for f in $pattern; do [ -f "$f" ] && printf "%s\\n" "$f"; done; done; true'


def _public_der(der):
    """The SubjectPublicKeyInfo DER of a DER private key, or b"" (no cryptography, encrypted)."""
    try:
        from cryptography.hazmat.primitives import serialization
    except ImportError:
        return b""
    try:
        key = serialization.load_der_private_key(der, password=None)
    except (TypeError, ValueError, NotImplementedError):
        return b""
    return key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def pem_key_lines(text):
    """The base64 body lines of each PEM private key in text, as separate secrets.

    A PEM key leaks in pieces: in Ansible's JSON output it is one string with "\\n" between
    its lines, and wrapped output cuts it anywhere, so the whole PEM is rarely there as it
    is; each 64-character body line is (and so are its base64 and hex forms). Lines whose
    bytes are all public are left out: an EC key ends with its public point and an RSA
    key starts with its modulus, the same bytes as in the certificate, which may be shown.
    Lines shorter than 16 characters (a key's last line) are too short to identify it."""
    values = []
    for match in PEM_KEY.finditer(text):
        lines = [line.strip() for line in match.group("body").splitlines()]
        lines = [line for line in lines if PEM_LINE.match(line)]
        try:
            der = base64.b64decode("".join(lines), validate=True)
        except (binascii.Error, ValueError):
            der = b""
        public = _public_der(der) if der else b""
        for line in lines:
            if public and base64.b64decode(line + "=" * (-len(line) % 4)) in public:
                continue
            values.append(line)
    return values


def fingerprint(secret):
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()[:12]


def _b64_fragments(raw):
    """Base64 text of raw that is the same wherever raw sits inside a longer payload."""
    fragments = set()
    for encode in (base64.b64encode, base64.urlsafe_b64encode):
        for shift in range(3):
            text = encode(b"\0" * shift + raw).decode("ascii").rstrip("=")
            # Characters touched by the padding bytes before, or by what follows, vary.
            start = (shift * 8 + 5) // 6 if shift else 0
            end = len(text) - (1 if (shift + len(raw)) % 3 else 0)
            fragment = text[start:end]
            if len(fragment) >= MIN_FRAGMENT:
                fragments.add(fragment)
    return fragments


def forms(secret):
    """{form name: set of byte strings} under which the secret is searched."""
    raw = secret.encode("utf-8")
    found = {"raw": {raw}}
    found["base64"] = {f.encode("ascii") for f in _b64_fragments(raw)}
    url = {urllib.parse.quote(secret, safe=""), urllib.parse.quote_plus(secret), urllib.parse.quote(secret)}
    found["url-encoded"] = {u.encode("ascii") for u in url if u != secret}
    escaped = json.dumps(secret)[1:-1]
    found["json-escaped"] = {escaped.encode("utf-8")} if escaped != secret else set()
    try:
        decoded = base64.b64decode(secret, validate=True)
    except (binascii.Error, ValueError):
        decoded = b""
    found["decoded-hex"] = {decoded.hex().encode("ascii"), decoded.hex().upper().encode("ascii")} if len(decoded) >= 16 else set()
    return {name: values for name, values in found.items() if values}


# molecule prints each line of Ansible's output behind a border ("  │ ", with colours) and
# cuts lines longer than the terminal into continuation lines ("  │   "); a long word (a
# token, a base64 payload, a PEM key in a JSON string) is cut anywhere. Each log is also
# searched with its colours, line breaks and borders taken out.
_ANSI = re.compile(rb"\x1b\[[0-9;]*m")
_BORDER_BREAK = re.compile(rb"\r?\n *\xe2\x94\x82 *")


def unwrap(data):
    """The log's bytes without colours and without the breaks between bordered lines."""
    return _BORDER_BREAK.sub(b"", _ANSI.sub(b"", data))


def scan(logs, secrets):
    """{label: {"sha": .., "hits": {log: {form: count}}}} for every secret with a hit.

    A hit found only once the wrapped lines are joined is counted as "<form> (wrapped)"."""
    contents = {}
    for log in logs:
        with open(log, "rb") as handle:
            data = handle.read()
        contents[log] = (data, unwrap(data))
    report = {}
    for label, secret in secrets.items():
        for form, values in forms(secret).items():
            for log, (data, joined) in contents.items():
                count = sum(data.count(value) for value in values)
                extra = sum(joined.count(value) for value in values) - count
                for name, number in ((form, count), ("%s (wrapped)" % form, extra)):
                    if number > 0:
                        entry = report.setdefault(label, {"sha": fingerprint(secret), "hits": {}})
                        entry["hits"].setdefault(log, {})[name] = number
    return report


def _podman(container, *command):
    return subprocess.run(["podman", "exec", container, *command], capture_output=True, check=False)


def collect_from_container(container, sources=None):
    """{"path[#n]": secret} read from the known secret files in the container."""
    secrets = {}
    globs = [pattern for pattern, _ in (sources or SECRET_SOURCES)]
    listing = _podman(container, "sh", "-c", LIST_SCRIPT, "sh", *globs)
    if listing.returncode != 0:
        raise RuntimeError("podman exec %s failed (exit %d): %s" % (container, listing.returncode, listing.stderr.decode(errors="replace").strip()))
    for path in listing.stdout.decode().splitlines():
        content = _podman(container, "cat", path)
        if content.returncode != 0:
            continue
        text = content.stdout.decode("utf-8", errors="replace")
        for pattern, how in sources or SECRET_SOURCES:
            if not fnmatch.fnmatch(path, pattern):
                continue
            if how == "whole":
                values = [text.strip()]
            elif how == "pem-key":
                values = pem_key_lines(text)
            else:
                values = [m.group("v") for m in re.finditer(how, text)]
            for number, value in enumerate(v for v in values if v):
                secrets["%s#%d" % (path, number) if number else path] = value
    return secrets


def load_secrets(args):
    secrets = {}
    for number, value in enumerate(args.secret or [], 1):
        secrets["--secret %d" % number] = value
    for path in args.secrets_file or []:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
        items = data.items() if isinstance(data, dict) else (("%s[%d]" % (os.path.basename(path), i), v) for i, v in enumerate(data))
        for label, value in items:
            if not isinstance(value, str):
                raise ValueError("%s: %s is not a string" % (path, label))
            secrets[label] = value
    for container in args.container or []:
        for label, value in collect_from_container(container).items():
            secrets["%s:%s" % (container, label)] = value
    for path in args.lab_vars or []:
        for label, value in lab_secrets(path).items():
            if secrets.get(label, value) != value:
                # The same variable in two lab vars files (e.g. each scenario's own auth key).
                label = "%s@%s" % (label, os.path.basename(path))
            secrets[label] = value
    return secrets


# The made-up credentials the lab gives the roles (tests/lab/vars/*.yml): every plain string
# under a name that says it is a secret. Values built by a template are left to the tests
# that make them.
LAB_SECRET_NAME = re.compile(r"(password|secret|token|auth_key|api_key)$")
LAB_VAR_LINE = re.compile(r"^(?P<name>[A-Za-z_][A-Za-z0-9_]*):[ \t]*(?P<value>[^#\n]*?)[ \t]*(?:#.*)?$")


def lab_secrets(path):
    """{"lab:<name>": value} for the secret-named plain strings of a lab vars file.

    Reads the file's top-level `name: value` lines itself (the lab's vars files are flat),
    so the scan needs nothing beyond the standard library wherever it runs."""
    found = {}
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            match = LAB_VAR_LINE.match(line)
            if not match or not LAB_SECRET_NAME.search(match.group("name")):
                continue
            value = match.group("value")
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
                value = value[1:-1]
            if value and "{{" not in value:
                found["lab:%s" % match.group("name")] = value
    return found


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("logs", nargs="*", help="log files to scan")
    parser.add_argument("--secret", action="append", help="a secret value (prefer --secrets-file: argv is visible to other users)")
    parser.add_argument("--secrets-file", action="append", help="JSON list of secrets, or an object {label: secret}")
    parser.add_argument("--container", action="append", help="collect secrets from this lab container with podman exec")
    parser.add_argument("--lab-vars", action="append", help="a lab vars file: its secret-named plain strings are secrets too")
    parser.add_argument("--save-secrets", help="write the collected secrets to this JSON file (mode 0600)")
    args = parser.parse_args(argv)
    try:
        secrets = load_secrets(args)
    except (OSError, ValueError, RuntimeError) as exc:
        print("leak_scan: %s" % exc, file=sys.stderr)
        return 2
    short = [label for label, value in secrets.items() if len(value) < MIN_LENGTH]
    for label in short:
        print("leak_scan: %s (sha256 %s) is shorter than %d characters; not scanned" % (label, fingerprint(secrets.pop(label)), MIN_LENGTH), file=sys.stderr)
    if args.save_secrets:
        fd = os.open(args.save_secrets, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(secrets, handle)
        print("leak_scan: %d secrets saved to %s" % (len(secrets), args.save_secrets))
        if not args.logs:
            return 0
    if not args.logs:
        parser.error("no log files given")
    if not secrets:
        print("leak_scan: no secrets to look for", file=sys.stderr)
        return 2
    report = scan(args.logs, secrets)
    for label, entry in sorted(report.items()):
        total = sum(sum(forms_.values()) for forms_ in entry["hits"].values())
        where = "; ".join(
            "%s: %s" % (log, ", ".join("%s %d" % kv for kv in sorted(counts.items()))) for log, counts in sorted(entry["hits"].items())
        )
        print("LEAK %s (sha256 %s): %d hits - %s" % (label, entry["sha"], total, where))
    print("leak_scan: %d secrets, %d logs, %d leaked" % (len(secrets), len(args.logs), len(report)))
    return 1 if report else 0


if __name__ == "__main__":
    sys.exit(main())
