# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The doctor's look from outside the home (standard library only; run as python3 -c on the
observer, an inventory host outside the home: a VPS, a friend's machine).

Arguments: one JSON object: url (the public URL), ca_file (a CA bundle for a private CA, or "").
Asks GET <url>System/Info/Public as any viewer would, verifying the certificate against the
observer's trust store (or ca_file), and prints JSON: url, status (HTTP status or null),
server_id (Jellyfin's Id in the answer, or null), not_after (the certificate's end, ISO 8601
UTC, HTTPS only), seconds (time to the answer), error (why nothing usable came back, or null).
Changes nothing; sends no credential.
"""

import datetime
import http.client
import json
import ssl
import sys
import time
import urllib.parse


def observe(url, ca_file=""):
    out = {"url": url, "status": None, "server_id": None, "not_after": None, "seconds": None, "error": None}
    parts = urllib.parse.urlsplit(url)
    path = (parts.path or "/").rstrip("/") + "/System/Info/Public"
    started = time.monotonic()
    try:
        if parts.scheme == "https":
            context = ssl.create_default_context(cafile=ca_file or None)
            conn = http.client.HTTPSConnection(parts.hostname, parts.port or 443, timeout=15, context=context)
        elif parts.scheme == "http":
            conn = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=15)
        else:
            out["error"] = "the URL is neither http:// nor https://"
            return out
        conn.connect()
        if parts.scheme == "https":
            cert = conn.sock.getpeercert()
            when = datetime.datetime.fromtimestamp(ssl.cert_time_to_seconds(cert["notAfter"]), datetime.timezone.utc)
            out["not_after"] = when.strftime("%Y-%m-%dT%H:%M:%SZ")
        conn.request("GET", path, headers={"User-Agent": "homelab.jellyfin_remote doctor (observer)"})
        response = conn.getresponse()
        body = response.read(65536)
        out["status"] = response.status
        out["seconds"] = round(time.monotonic() - started, 3)
        try:
            out["server_id"] = json.loads(body).get("Id")
        except (ValueError, AttributeError):
            out["error"] = "the answer is not Jellyfin's JSON"
        conn.close()
    except ssl.SSLCertVerificationError as exc:
        out["error"] = "the certificate does not verify: %s" % exc.verify_message
    except (OSError, http.client.HTTPException) as exc:
        out["error"] = str(exc) or exc.__class__.__name__
    return out


def main():
    args = json.loads(sys.argv[1])
    print(json.dumps(observe(args["url"], args.get("ca_file") or ""), sort_keys=True))


if __name__ == "__main__":
    main()
