#!/usr/bin/python3
"""Stand-in for dynamic DNS providers, for the test lab (Python 3.11 stdlib only).

The real providers are on the internet, which tests must never reach. This program speaks
their update protocols on one loopback HTTP port (path-routed) and, optionally, answers
DNS queries for the records it holds on a UDP port, so that clients which read the current
address by DNS (dyndns2, DuckDNS, Namecheap) see the stand-in's own data. The protocols
were re-implemented from the providers' documentation and reference clients; no code was
copied.

Routes (a client's base_url is the part before the protocol path)
  /nic/update, /<label>/nic/update   dyndns2: GET hostname, myip (v4 and/or v6, comma-
        separated), myipv4/myipv6 (deSEC, "preserve" keeps a family), myipv6 (Dynu);
        basic auth. Answers good <ip> / nochg <ip> / nohost / badauth / badagent /
        !donator / abuse / 911 / notfqdn / numhost / dnserr as text/plain, HTTP 200.
        <label> is any of noip, dynu, desec, dyndns2 (default) and names the stats bucket.
        label noip answers badagent to a User-Agent without the form No-IP requires of
        clients, "Company NameOfProgram/Version contact-email" (No-IP's client integration
        page, noip.com/integrate/request: "badagent - Client disabled"); the check here is
        the form only (a program/version word and a trailing e-mail address); whether
        No-IP lets known clients such as ddclient through with their own agent is not modelled.
        label desec (or --desec) switches on deSEC's behaviour: user = hostname or any
        name, password = token; HTTP 401 / 404 instead of badauth / nohost; a family with
        no value is DELETED unless sent as "preserve"; one update per minute per host
        (--desec-interval), else HTTP 429 with Retry-After.
  /update, /duckdns/update           DuckDNS: GET domains (sub names, ".duckdns.org"
        added), token, ip, ipv6, verbose, clear. OK/KO; verbose adds the v4, v6 and
        UPDATED/NOCHANGE lines. No ip and no ipv6: the caller's IPv4 is taken.
        clear=true ignores every address and empties both records of the name (the
        name itself stays: DuckDNS has no delete); verbose then gives blank address lines.
  /namecheap/update                  Namecheap: GET host (@ for the apex), domain,
        password, ip. XML <interface-response> with ErrCount 0 or Err1 text.
  /client/v4/...                     Cloudflare API v4 (Bearer token): GET /zones?name=,
        GET /zones/<id>/dns_records?name=&type=, PATCH and PUT /zones/<id>/dns_records/<rid>,
        POST /zones/<id>/dns_records, DELETE /zones/<id>/dns_records/<rid> (result {"id"};
        the id is gone afterwards: a second DELETE, or any unknown id, gets HTTP 404 with
        error 81044 "Record does not exist."). JSON envelope success/errors/messages/result.
  /api/json/v3/dns/...               Porkbun: POST retrieveByNameType, editByNameType,
        deleteByNameType/<domain>/<type>/<sub> (every record of the type at the name;
        {"status": "SUCCESS"}), create, retrieve (JSON body apikey + secretapikey).

Where each modelled behaviour was read (no code or text copied)
  | behaviour                                   | source (release / page)                              |
  |---------------------------------------------|------------------------------------------------------|
  | dyndns2 answers good/nochg/badauth/nohost/  | DynDNS "Remote Access API" return codes, as ddclient  |
  | 911/abuse/badagent/!donator/numhost/dnserr  | 3.10 ddclient (nic_dyndns2_update) reads them         |
  | No-IP badagent for an agent without contact | noip.com/integrate/request ("badagent - Client       |
  |                                             | disabled")                                           |
  | deSEC preserve / 401 / 404 / 429 one a min. | desec.readthedocs.io dynDNS update API (update-api)  |
  | DuckDNS OK/KO, verbose lines, clear=true    | duckdns.org/spec.jsp (HTTP API Specification:        |
  |   (clears both records, ignores addresses)  | "clear ... ignore all ip's and clear both records")  |
  | Namecheap ErrCount/Err1 XML                 | ddclient 3.10 nic_namecheap_update                   |
  | Cloudflare envelope, zones?name=,           | developers.cloudflare.com/api/resources/dns/         |
  |   dns_records?name&type, PATCH, POST        |   subresources/records (list, edit, create)          |
  | Cloudflare DELETE .../dns_records/<id>      | same, methods/delete: DELETE /zones/{zone_id}/       |
  |   -> {"result": {"id"}}; 404 code 81044     |   dns_records/{dns_record_id}, result {id}; the 81044 |
  |   "Record does not exist." for an unknown id|   envelope as users quote it: zanjie1999/cloudflare- |
  |                                             |   api-v4-ddns#5, onedr0p/cluster-template#355        |
  | Porkbun retrieve/edit/create ByNameType,    | porkbun.com/api/json/v3/documentation; porkbunrb     |
  |   deleteByNameType/<domain>/<type>/<sub>    |   lib/porkbun/models/record.rb (delete_by_subdomain) |
  |   -> {"status": "SUCCESS"}                  |                                                      |
Control
  GET  /_standin/stats     {"<label>": {"requests", "reads", "lookups", "updates",
                            "changes"}, "dns": {...}}. A DNS query counts as a read of the
                            label that owns the name (the one that created or seeded it).
  POST /_standin/reset     stats to zero (records stay).
  POST /_standin/hosts     {"hostname", "provider", "records": {"A": [...], "AAAA": [...]},
                            "ttl"} creates or replaces a host (dyndns2 family, DuckDNS and
                            Namecheap only update names that exist).
  POST /_standin/zones     {"name", "provider"}: a Cloudflare zone or Porkbun domain.
  POST /_standin/behaviour {"hostname", "behaviour", "times", "retry_after", "status"}:
                            the next `times` requests for the host (all when omitted) get
                            one of: good (normal), badauth, nohost, abuse, 911, badagent,
                            !donator, notfqdn, numhost, dnserr, 429, 5xx.
  GET  /_standin/records   every host and its records.
Credentials (--credentials FILE, JSON): {"username", "password", "token", "apikey",
  "secretapikey"}; defaults labuser / labpass / labtoken / pk1_lab / sk1_lab. Namecheap
  takes "password" as the domain's Dynamic DNS password.
State: --state FILE keeps hosts, zones and records as JSON across restarts.

Not implemented: TLS (run it behind a TLS proxy if a test needs https), dyndns2
"offline"/wildcard/mx parameters, several hostnames per request (numhost is only a scripted
answer), DuckDNS TXT records, Cloudflare pagination, proxied records, other record types
and every other API of these providers (account, zone management, DNSSEC), Porkbun's
delete by record id, what Porkbun answers to deleteByNameType when no record matches (here
SUCCESS; the client reads first and never sends that), several Cloudflare records of one type
(here one id per type and name), Namecheap's other commands, DNS over TCP, SOA/NS answers (queries for
other types get an empty NOERROR answer), EDNS, DNSSEC. The real services' rate limits
other than deSEC's one update per minute are not modelled.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import http.server
import ipaddress
import json
import os
import re
import socket
import socketserver
import struct
import sys
import threading
import time
from urllib.parse import parse_qs, urlsplit

DEFAULT_CREDENTIALS = {
    "username": "labuser",
    "password": "labpass",
    "token": "labtoken",
    "apikey": "pk1_lab",
    "secretapikey": "sk1_lab",
}
DYNDNS2_LABELS = ("dyndns2", "noip", "dynu", "desec")
NOIP_AGENT = re.compile(r"^\S.*\s\S+/\S+\s+[^\s@]+@[^\s@]+\.[^\s@]+$")
BEHAVIOURS = ("good", "badauth", "nohost", "abuse", "911", "badagent", "!donator", "notfqdn", "numhost", "dnserr", "429", "5xx")
DUCK_SUFFIX = ".duckdns.org"


def _ip(text, version=None):
    try:
        ip = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    if version is not None and ip.version != version:
        return None
    return ip.compressed


class State:
    """Hosts, zones, behaviours and counters, behind one lock."""

    def __init__(self, path=None, credentials=None, desec=False, desec_interval=60.0):
        self.lock = threading.RLock()
        self.path = path
        self.credentials = dict(DEFAULT_CREDENTIALS, **(credentials or {}))
        self.desec = desec
        self.desec_interval = desec_interval
        self.hosts = {}  # fqdn -> {"provider", "records": {"A": [...], "AAAA": [...]}, "ttl", "ids": {type: id}}
        self.zones = {}  # name -> {"id", "provider"}
        self.behaviours = {}  # fqdn -> {"behaviour", "times", "retry_after", "status"}
        self.last_update = {}  # fqdn -> time (deSEC rate limit)
        self.stats = {}
        self._next_id = 1
        if path and os.path.exists(path):
            with open(path) as handle:
                saved = json.load(handle)
            self.hosts = saved.get("hosts", {})
            self.zones = saved.get("zones", {})
            self._next_id = saved.get("next_id", 1)

    def save(self):
        if not self.path:
            return
        tmp = self.path + ".tmp"
        with open(tmp, "w") as handle:
            json.dump({"hosts": self.hosts, "zones": self.zones, "next_id": self._next_id}, handle, indent=1, sort_keys=True)
        os.replace(tmp, self.path)

    def count(self, label, what):
        bucket = self.stats.setdefault(label, {"requests": 0, "reads": 0, "lookups": 0, "updates": 0, "changes": 0})
        bucket[what] += 1

    def new_id(self):
        self._next_id += 1
        return "%032x" % (self._next_id * 7919)

    def host(self, fqdn, create_for=None):
        fqdn = fqdn.lower().rstrip(".")
        if fqdn not in self.hosts and create_for:
            self.hosts[fqdn] = {"provider": create_for, "records": {"A": [], "AAAA": []}, "ttl": 300, "ids": {}}
        return self.hosts.get(fqdn)

    def set_record(self, fqdn, rtype, values):
        """Returns True when the stored set changed."""
        host = self.hosts[fqdn]
        values = sorted(set(values))
        if sorted(host["records"].get(rtype, [])) == values:
            return False
        host["records"][rtype] = values
        if values and rtype not in host["ids"]:
            host["ids"][rtype] = self.new_id()
        return True

    def behaviour(self, fqdn):
        """The scripted behaviour for this request (consumes one of `times`)."""
        entry = self.behaviours.get((fqdn or "").lower().rstrip("."))
        if not entry:
            return None
        if entry.get("times") is not None:
            if entry["times"] <= 0:
                self.behaviours.pop(fqdn.lower().rstrip("."), None)
                return None
            entry["times"] -= 1
        return entry

    def zone_for(self, fqdn, provider):
        best = None
        for name, zone in self.zones.items():
            if zone["provider"] == provider and (fqdn == name or fqdn.endswith("." + name)):
                if best is None or len(name) > len(best):
                    best = name
        return best


# --------------------------------------------------------------------------------------
# HTTP
# --------------------------------------------------------------------------------------


class Handler(http.server.BaseHTTPRequestHandler):
    server_version = "ddns-standin/1.0"
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # quiet; the stats endpoint tells what happened
        if self.server.verbose:
            sys.stderr.write("%s %s\n" % (self.address_string(), fmt % args))

    @property
    def state(self):
        return self.server.state

    def _send(self, status, body, content_type="text/plain; charset=utf-8", headers=None):
        data = body if isinstance(body, bytes) else body.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def _json(self, status, obj, headers=None):
        self._send(status, json.dumps(obj), "application/json", headers)

    def _body(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            return json.loads(raw or b"{}")
        except ValueError:
            return None

    def _basic(self):
        header = self.headers.get("Authorization", "")
        if header.startswith("Basic "):
            try:
                user, _, password = base64.b64decode(header[6:]).decode("utf-8").partition(":")
                return user, password
            except (ValueError, UnicodeDecodeError):
                return None
        if header.startswith("Token "):
            return None, header[6:]
        return None

    def do_GET(self):
        self._route("GET")

    def do_POST(self):
        self._route("POST")

    def do_PATCH(self):
        self._route("PATCH")

    def do_PUT(self):
        self._route("PUT")

    def do_DELETE(self):
        self._route("DELETE")

    def _route(self, method):
        url = urlsplit(self.path)
        path = url.path
        query = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        with self.state.lock:
            if path.startswith("/_standin/"):
                return self._control(method, path[len("/_standin/"):], query)
            parts = [p for p in path.split("/") if p]
            if parts[-2:] == ["nic", "update"] and len(parts) <= 3:
                label = parts[0] if len(parts) == 3 else ("desec" if self.state.desec else "dyndns2")
                if label not in DYNDNS2_LABELS:
                    return self._send(404, "not found")
                return self._dyndns2(label, query)
            if parts in (["update"], ["duckdns", "update"]):
                return self._duckdns(query)
            if parts == ["namecheap", "update"]:
                return self._namecheap(query)
            if parts[:2] == ["client", "v4"]:
                return self._cloudflare(method, parts[2:], query)
            if parts[:4] == ["api", "json", "v3", "dns"] and method == "POST":
                return self._porkbun(parts[4:])
            return self._send(404, "not found")

    # -- control -------------------------------------------------------------------------

    def _control(self, method, what, query):
        st = self.state
        if what == "stats" and method == "GET":
            return self._json(200, st.stats)
        if what == "records" and method == "GET":
            return self._json(200, {"hosts": st.hosts, "zones": st.zones})
        body = self._body() if method == "POST" else None
        if method != "POST" or body is None:
            return self._json(400, {"error": "POST a JSON object"})
        if what == "reset":
            st.stats.clear()
            st.last_update.clear()
            return self._json(200, {"ok": True})
        if what == "hosts":
            fqdn = body["hostname"].lower().rstrip(".")
            st.hosts.pop(fqdn, None)
            st.host(fqdn, create_for=body.get("provider", "dyndns2"))
            st.hosts[fqdn]["ttl"] = int(body.get("ttl", 300))
            for rtype, values in (body.get("records") or {}).items():
                st.set_record(fqdn, rtype, values)
            st.save()
            return self._json(200, st.hosts[fqdn])
        if what == "zones":
            name = body["name"].lower().rstrip(".")
            st.zones[name] = {"id": hashlib.md5(name.encode()).hexdigest(), "provider": body.get("provider", "cloudflare")}
            st.save()
            return self._json(200, st.zones[name])
        if what == "behaviour":
            fqdn = body["hostname"].lower().rstrip(".")
            if body.get("behaviour") in (None, "good"):
                st.behaviours.pop(fqdn, None)
            elif body["behaviour"] not in BEHAVIOURS:
                return self._json(400, {"error": "behaviour must be one of %s" % ", ".join(BEHAVIOURS)})
            else:
                st.behaviours[fqdn] = {
                    "behaviour": body["behaviour"],
                    "times": body.get("times"),
                    "retry_after": body.get("retry_after", 1),
                    "status": body.get("status", 503),
                }
            return self._json(200, {"ok": True})
        return self._json(404, {"error": "unknown control endpoint"})

    # -- dyndns2 family ------------------------------------------------------------------

    def _dyndns2(self, label, q):
        st = self.state
        st.count(label, "requests")
        st.count(label, "updates")
        desec = label == "desec" or st.desec
        hostname = (q.get("hostname") or "").lower().rstrip(".")
        creds = self._basic()
        if desec:
            ok = creds is not None and creds[1] == st.credentials["token"]
            if not hostname and creds and creds[0]:
                hostname = creds[0].lower()
        else:
            ok = creds is not None and creds == (st.credentials["username"], st.credentials["password"])
        scripted = st.behaviour(hostname)
        if scripted:
            kind = scripted["behaviour"]
            if kind == "429":
                return self._send(429, "throttled", headers={"Retry-After": str(scripted["retry_after"])})
            if kind == "5xx":
                return self._send(scripted["status"], "server error")
            if desec and kind == "badauth":
                return self._json(401, {"detail": "Invalid username/password."})
            if desec and kind == "nohost":
                return self._json(404, {"detail": "Not found."})
            return self._send(200, kind)
        if label == "noip" and not NOIP_AGENT.match(self.headers.get("User-Agent") or ""):
            return self._send(200, "badagent")
        if not ok:
            if desec:
                return self._json(401, {"detail": "Invalid username/password."})
            return self._send(200, "badauth")
        if not hostname or "." not in hostname:
            return self._send(200, "notfqdn")
        host = st.host(hostname)
        if host is None:
            if desec:
                return self._json(404, {"detail": "Not found."})
            return self._send(200, "nohost")
        if desec:
            now = time.monotonic()
            last = st.last_update.get(hostname)
            if last is not None and now - last < st.desec_interval:
                wait = int(st.desec_interval - (now - last)) + 1
                return self._json(429, {"detail": "Request was throttled. Expected available in %d seconds." % wait}, headers={"Retry-After": str(wait)})
            st.last_update[hostname] = now
        new = {}
        if desec:
            for rtype, keys, version in (("A", ("myip", "myipv4", "ip"), 4), ("AAAA", ("myipv6", "ipv6", "myip", "ip"), 6)):
                value = None
                for key in keys:
                    if key in q:
                        if q[key] == "preserve":
                            value = "preserve"
                            break
                        found = [a for a in (_ip(p, version) for p in q[key].split(",")) if a]
                        if found:
                            value = found[0]
                            break
                if value is None:
                    peer = _ip(self.client_address[0], version)
                    new[rtype] = [peer] if peer else []
                elif value != "preserve":
                    new[rtype] = [value]
        else:
            values = []
            for key in ("myip", "myipv6"):
                if q.get(key):
                    values.extend(q[key].split(","))
            if not values:
                values = [self.client_address[0]]
            for text in values:
                ip = _ip(text)
                if ip is None:
                    return self._send(200, "dnserr")
                new["A" if ":" not in ip else "AAAA"] = [ip]
        changed = False
        for rtype, addresses in new.items():
            changed |= st.set_record(hostname, rtype, addresses)
        if changed:
            st.count(label, "changes")
            st.save()
        shown = ",".join(a for t in ("A", "AAAA") for a in new.get(t, []))
        if desec:
            return self._send(200, "good")
        return self._send(200, ("good %s" if changed else "nochg %s") % shown)

    # -- DuckDNS -------------------------------------------------------------------------

    def _duckdns(self, q):
        st = self.state
        st.count("duckdns", "requests")
        st.count("duckdns", "updates")
        names = [n.strip().lower() for n in (q.get("domains") or "").split(",") if n.strip()]
        fqdns = [n if n.endswith(DUCK_SUFFIX) else n + DUCK_SUFFIX for n in names]
        for fqdn in fqdns:
            scripted = st.behaviour(fqdn)
            if scripted:
                kind = scripted["behaviour"]
                if kind == "429":
                    return self._send(429, "KO", headers={"Retry-After": str(scripted["retry_after"])})
                if kind == "5xx":
                    return self._send(scripted["status"], "server error")
                return self._send(200, "KO")
        if q.get("token") != st.credentials["token"] or not fqdns or any(st.host(f) is None for f in fqdns):
            return self._send(200, "KO")
        ipv4 = q.get("ip") or None
        ipv6 = q.get("ipv6") or None
        if ipv4 is None and ipv6 is None:
            ipv4 = _ip(self.client_address[0], 4)
        if (ipv4 is not None and _ip(ipv4, 4) is None) or (ipv6 is not None and _ip(ipv6, 6) is None):
            return self._send(200, "KO")
        changed = False
        for fqdn in fqdns:
            if q.get("clear") == "true":
                changed |= st.set_record(fqdn, "A", [])
                changed |= st.set_record(fqdn, "AAAA", [])
                continue
            if ipv4:
                changed |= st.set_record(fqdn, "A", [_ip(ipv4)])
            if ipv6:
                changed |= st.set_record(fqdn, "AAAA", [_ip(ipv6)])
        if changed:
            st.count("duckdns", "changes")
            st.save()
        if q.get("clear") == "true":
            ipv4 = ipv6 = None  # clear ignores every address: the answer's address lines are blank
        if q.get("verbose") == "true":
            return self._send(200, "OK\n%s\n%s\n%s" % (ipv4 or "", ipv6 or "", "UPDATED" if changed else "NOCHANGE"))
        return self._send(200, "OK")

    # -- Namecheap -----------------------------------------------------------------------

    def _namecheap_answer(self, errors, ip=""):
        if not errors:
            body = ('<?xml version="1.0" encoding="utf-16"?>\r\n<interface-response><Command>SETDNSHOST</Command>'
                    "<Language>eng</Language><IP>%s</IP><ErrCount>0</ErrCount><errors /><ResponseCount>0</ResponseCount>"
                    "<responses /><Done>true</Done><debug><![CDATA[]]></debug></interface-response>" % ip)
        else:
            body = ('<?xml version="1.0" encoding="utf-16"?>\r\n<interface-response><Command>SETDNSHOST</Command>'
                    "<Language>eng</Language><ErrCount>1</ErrCount><errors><Err1>%s</Err1></errors><ResponseCount>1</ResponseCount>"
                    "<responses><response><ResponseNumber>304156</ResponseNumber><ResponseString>Validation error</ResponseString>"
                    "</response></responses><Done>true</Done><debug><![CDATA[]]></debug></interface-response>" % errors)
        return self._send(200, body, "text/html; charset=utf-8")

    def _namecheap(self, q):
        st = self.state
        st.count("namecheap", "requests")
        st.count("namecheap", "updates")
        domain = (q.get("domain") or "").lower().rstrip(".")
        sub = q.get("host") or "@"
        fqdn = domain if sub == "@" else "%s.%s" % (sub.lower(), domain)
        scripted = st.behaviour(fqdn)
        if scripted:
            kind = scripted["behaviour"]
            if kind == "429":
                return self._send(429, "Too many requests", headers={"Retry-After": str(scripted["retry_after"])})
            if kind == "5xx":
                return self._send(scripted["status"], "server error")
            if kind == "badauth":
                return self._namecheap_answer("Passwords do not match")
            if kind == "nohost":
                return self._namecheap_answer("No Records updated. A record not Found;")
            return self._namecheap_answer("Unexpected error (%s)" % kind)
        if q.get("password") != st.credentials["password"]:
            return self._namecheap_answer("Passwords do not match")
        if st.host(fqdn) is None:
            return self._namecheap_answer("No Records updated. A record not Found;")
        ip = _ip(q.get("ip") or self.client_address[0], 4)
        if ip is None:
            return self._namecheap_answer("Invalid IP")
        if st.set_record(fqdn, "A", [ip]):
            st.count("namecheap", "changes")
            st.save()
        return self._namecheap_answer(None, ip)

    # -- Cloudflare ----------------------------------------------------------------------

    def _cf(self, status, result=None, errors=None, headers=None):
        self._json(status, {"success": not errors, "errors": errors or [], "messages": [], "result": result}, headers)

    def _cf_record(self, zone_name, zone_id, fqdn, rtype):
        host = self.state.hosts[fqdn]
        return [
            {"id": host["ids"][rtype], "zone_id": zone_id, "zone_name": zone_name, "name": fqdn, "type": rtype,
             "content": value, "proxiable": True, "proxied": False, "ttl": host.get("ttl", 1)}
            for value in host["records"].get(rtype, [])
        ]

    def _cloudflare(self, method, parts, q):
        st = self.state
        st.count("cloudflare", "requests")
        if self.headers.get("Authorization") != "Bearer " + st.credentials["token"]:
            return self._cf(403, errors=[{"code": 10000, "message": "Authentication error"}])
        if parts == ["zones"] and method == "GET":
            st.count("cloudflare", "lookups")
            name = (q.get("name") or "").lower()
            zones = [{"id": z["id"], "name": n, "status": "active"} for n, z in st.zones.items()
                     if z["provider"] == "cloudflare" and (not name or n == name)]
            return self._cf(200, zones)
        zone_name = next((n for n, z in st.zones.items() if len(parts) > 1 and z["id"] == parts[1] and z["provider"] == "cloudflare"), None)
        if len(parts) < 3 or parts[0] != "zones" or parts[2] != "dns_records" or zone_name is None:
            return self._cf(404, errors=[{"code": 7003, "message": "Could not route to %s, perhaps your object identifier is invalid?" % self.path.split("?")[0]}])
        zone_id = parts[1]
        if method == "GET" and len(parts) == 3:
            st.count("cloudflare", "reads")
            name = (q.get("name") or "").lower().rstrip(".")
            scripted = st.behaviour(name)
            if scripted and self._cf_scripted(scripted):
                return None
            types = [q["type"]] if q.get("type") else ["A", "AAAA"]
            records = []
            for fqdn in sorted(st.hosts):
                if (not name or fqdn == name) and st.zone_for(fqdn, "cloudflare") == zone_name:
                    for rtype in types:
                        records.extend(self._cf_record(zone_name, zone_id, fqdn, rtype))
            return self._cf(200, records)
        body = self._body() or {}
        if method == "POST" and len(parts) == 3:
            st.count("cloudflare", "updates")
            fqdn = (body.get("name") or "").lower().rstrip(".")
            rtype = body.get("type")
            scripted = st.behaviour(fqdn)
            if scripted and self._cf_scripted(scripted):
                return None
            if rtype not in ("A", "AAAA") or _ip(body.get("content") or "", 4 if rtype == "A" else 6) is None:
                return self._cf(400, errors=[{"code": 9005, "message": "Content for %s record is invalid." % rtype}])
            if st.zone_for(fqdn, "cloudflare") != zone_name:
                return self._cf(400, errors=[{"code": 9007, "message": "Name is not in the zone"}])
            st.host(fqdn, create_for="cloudflare")
            st.set_record(fqdn, rtype, [_ip(body["content"])])
            st.count("cloudflare", "changes")
            st.save()
            return self._cf(200, self._cf_record(zone_name, zone_id, fqdn, rtype)[0])
        if method in ("PATCH", "PUT") and len(parts) == 4:
            st.count("cloudflare", "updates")
            for fqdn, host in st.hosts.items():
                for rtype, rid in host["ids"].items():
                    if rid == parts[3] and st.zone_for(fqdn, "cloudflare") == zone_name:
                        scripted = st.behaviour(fqdn)
                        if scripted and self._cf_scripted(scripted):
                            return None
                        content = _ip(body.get("content") or "", 4 if rtype == "A" else 6)
                        if content is None:
                            return self._cf(400, errors=[{"code": 9005, "message": "Content for %s record is invalid." % rtype}])
                        if st.set_record(fqdn, rtype, [content]):
                            st.count("cloudflare", "changes")
                            st.save()
                        return self._cf(200, self._cf_record(zone_name, zone_id, fqdn, rtype)[0])
            return self._cf(404, errors=[{"code": 81044, "message": "Record does not exist."}])
        if method == "DELETE" and len(parts) == 4:
            st.count("cloudflare", "updates")
            for fqdn, host in st.hosts.items():
                for rtype, rid in list(host["ids"].items()):
                    if rid == parts[3] and st.zone_for(fqdn, "cloudflare") == zone_name and host["records"].get(rtype):
                        scripted = st.behaviour(fqdn)
                        if scripted and self._cf_scripted(scripted):
                            return None
                        st.set_record(fqdn, rtype, [])
                        del host["ids"][rtype]  # a deleted record's id is never valid again
                        st.count("cloudflare", "changes")
                        st.save()
                        return self._cf(200, {"id": rid})
            return self._cf(404, errors=[{"code": 81044, "message": "Record does not exist."}])
        return self._cf(405, errors=[{"code": 10405, "message": "Method not allowed"}])

    def _cf_scripted(self, scripted):
        kind = scripted["behaviour"]
        if kind == "429":
            self._cf(429, errors=[{"code": 971, "message": "Please wait and consider throttling your request speed"}],
                     headers={"Retry-After": str(scripted["retry_after"])})
        elif kind == "5xx":
            self._cf(scripted["status"], errors=[{"code": 10000 + scripted["status"], "message": "Internal server error"}])
        elif kind == "badauth":
            self._cf(403, errors=[{"code": 10000, "message": "Authentication error"}])
        elif kind == "nohost":
            self._cf(404, errors=[{"code": 81044, "message": "Record does not exist."}])
        else:
            return False
        return True

    # -- Porkbun -------------------------------------------------------------------------

    def _porkbun(self, parts):
        st = self.state
        st.count("porkbun", "requests")
        body = self._body()
        if not isinstance(body, dict) or body.get("apikey") != st.credentials["apikey"] or body.get("secretapikey") != st.credentials["secretapikey"]:
            return self._json(400, {"status": "ERROR", "message": "Invalid API key. (002)"})
        if not parts:
            return self._json(404, {"status": "ERROR", "message": "Invalid command"})
        verb, args = parts[0], parts[1:]
        domain = args[0].lower() if args else ""
        if domain not in st.zones or st.zones[domain]["provider"] != "porkbun":
            return self._json(400, {"status": "ERROR", "message": "Invalid domain."})
        if verb in ("retrieveByNameType", "editByNameType", "deleteByNameType"):
            rtype = args[1] if len(args) > 1 else ""
            sub = args[2].lower() if len(args) > 2 else ""
            fqdn = "%s.%s" % (sub, domain) if sub else domain
            scripted = st.behaviour(fqdn)
            if scripted:
                st.count("porkbun", "reads" if verb.startswith("retrieve") else "updates")
                kind = scripted["behaviour"]
                if kind == "429":
                    return self._json(429, {"status": "ERROR", "message": "Rate limited"}, headers={"Retry-After": str(scripted["retry_after"])})
                if kind == "5xx":
                    return self._json(scripted["status"], {"status": "ERROR", "message": "Service unavailable"})
                if kind == "badauth":
                    return self._json(400, {"status": "ERROR", "message": "Invalid API key. (002)"})
                return self._json(400, {"status": "ERROR", "message": "Invalid domain."})
            host = st.host(fqdn)
            if verb == "retrieveByNameType":
                st.count("porkbun", "reads")
                records = []
                if host:
                    records = [{"id": host["ids"].get(rtype, "0"), "name": fqdn, "type": rtype, "content": v,
                                "ttl": str(host.get("ttl", 600)), "prio": "0", "notes": ""} for v in host["records"].get(rtype, [])]
                return self._json(200, {"status": "SUCCESS", "cloudflare": "enabled", "records": records})
            st.count("porkbun", "updates")
            if verb == "deleteByNameType":
                if rtype not in ("A", "AAAA"):
                    return self._json(400, {"status": "ERROR", "message": "Invalid type."})
                if host is not None and host["records"].get(rtype):
                    st.set_record(fqdn, rtype, [])
                    host["ids"].pop(rtype, None)
                    st.count("porkbun", "changes")
                    st.save()
                return self._json(200, {"status": "SUCCESS"})
            content = _ip(body.get("content") or "", 4 if rtype == "A" else 6)
            if content is None:
                return self._json(400, {"status": "ERROR", "message": "Invalid content."})
            if host is None or not host["records"].get(rtype):
                return self._json(400, {"status": "ERROR", "message": "Edit error: We were unable to edit the DNS record."})
            if body.get("ttl"):
                host["ttl"] = int(body["ttl"])
            if st.set_record(fqdn, rtype, [content]):
                st.count("porkbun", "changes")
            st.save()
            return self._json(200, {"status": "SUCCESS"})
        if verb == "create":
            st.count("porkbun", "updates")
            rtype = body.get("type")
            sub = (body.get("name") or "").lower()
            fqdn = "%s.%s" % (sub, domain) if sub else domain
            content = _ip(body.get("content") or "", 4 if rtype == "A" else 6)
            if rtype not in ("A", "AAAA") or content is None:
                return self._json(400, {"status": "ERROR", "message": "Invalid type or content."})
            host = st.host(fqdn, create_for="porkbun")
            host["ttl"] = int(body.get("ttl") or 600)
            st.set_record(fqdn, rtype, host["records"].get(rtype, []) + [content])
            st.count("porkbun", "changes")
            st.save()
            return self._json(200, {"status": "SUCCESS", "id": int(host["ids"][rtype], 16) % 10**9})
        if verb == "retrieve":
            st.count("porkbun", "reads")
            records = []
            for fqdn, host in sorted(st.hosts.items()):
                if fqdn == domain or fqdn.endswith("." + domain):
                    for rtype, values in host["records"].items():
                        records.extend({"id": host["ids"].get(rtype), "name": fqdn, "type": rtype, "content": v,
                                        "ttl": str(host.get("ttl", 600)), "prio": "0", "notes": ""} for v in values)
            return self._json(200, {"status": "SUCCESS", "records": records})
        return self._json(404, {"status": "ERROR", "message": "Invalid command"})


class HttpServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, state, verbose=False):
        self.state = state
        self.verbose = verbose
        family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.address_family = family
        super().__init__(address, Handler)


# --------------------------------------------------------------------------------------
# DNS (UDP, authoritative answers for the hosts held)
# --------------------------------------------------------------------------------------

QTYPES = {1: "A", 28: "AAAA"}


def _read_name(packet, offset):
    labels = []
    while True:
        length = packet[offset]
        if length == 0:
            return ".".join(labels), offset + 1
        if length & 0xC0:
            raise ValueError("compressed name in a question")
        labels.append(packet[offset + 1: offset + 1 + length].decode("ascii", "replace"))
        offset += 1 + length


def dns_answer(state, packet):
    """The response bytes for one query packet (None for garbage)."""
    if len(packet) < 12:
        return None
    qid, flags, qdcount = struct.unpack("!HHH", packet[:6])
    if flags & 0x8000 or qdcount != 1:
        return None
    try:
        name, offset = _read_name(packet, 12)
        qtype, qclass = struct.unpack("!HH", packet[offset: offset + 4])
    except (ValueError, IndexError, struct.error):
        return None
    question = packet[12: offset + 4]
    fqdn = name.lower().rstrip(".")
    with state.lock:
        host = state.hosts.get(fqdn)
        label = host["provider"] if host else "dns"
        state.count(label, "requests")
        state.count(label, "reads")
        values = list(host["records"].get(QTYPES.get(qtype, ""), [])) if host else []
        ttl = host.get("ttl", 300) if host else 0
    rcode = 0 if host else 3  # NXDOMAIN for names it does not hold
    answers = b""
    for value in values:
        rdata = ipaddress.ip_address(value).packed
        answers += struct.pack("!HHHIH", 0xC00C, qtype, 1, ttl, len(rdata)) + rdata
    out_flags = 0x8000 | 0x0400 | (flags & 0x0100) | rcode  # QR, AA, RD copied
    return struct.pack("!HHHHHH", qid, out_flags, 1, len(values), 0, 0) + question + answers


class DnsServer:
    def __init__(self, address, state):
        family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_DGRAM)
        self.sock.bind(address)
        self.port = self.sock.getsockname()[1]
        self.state = state
        self.thread = threading.Thread(target=self.serve, daemon=True)

    def serve(self):
        while True:
            try:
                packet, peer = self.sock.recvfrom(4096)
            except OSError:
                return
            response = dns_answer(self.state, packet)
            if response is not None:
                self.sock.sendto(response, peer)


class Running:
    """A stand-in started in this process by start(): for tests and the benchmark."""

    def __init__(self, state, http_server, dns_server):
        self.state = state
        self.http = http_server
        self.dns = dns_server
        host = http_server.server_address[0]
        self.host = "[%s]" % host if ":" in host else host
        self.base = "http://%s:%d" % (self.host, http_server.server_address[1])
        self.dns_port = dns_server.port if dns_server else None

    def stats(self, label=None):
        with self.state.lock:
            snapshot = json.loads(json.dumps(self.state.stats))
        if label is None:
            return snapshot
        return snapshot.get(label, {"requests": 0, "reads": 0, "lookups": 0, "updates": 0, "changes": 0})

    def reset(self):
        with self.state.lock:
            self.state.stats.clear()
            self.state.last_update.clear()

    def add_host(self, hostname, provider, records=None, ttl=300):
        with self.state.lock:
            fqdn = hostname.lower().rstrip(".")
            self.state.hosts.pop(fqdn, None)
            self.state.host(fqdn, create_for=provider)
            self.state.hosts[fqdn]["ttl"] = ttl
            for rtype, values in (records or {}).items():
                self.state.set_record(fqdn, rtype, values)

    def add_zone(self, name, provider):
        with self.state.lock:
            name = name.lower().rstrip(".")
            self.state.zones[name] = {"id": hashlib.md5(name.encode()).hexdigest(), "provider": provider}
            return self.state.zones[name]["id"]

    def behave(self, hostname, behaviour, times=None, retry_after=1, status=503):
        with self.state.lock:
            fqdn = hostname.lower().rstrip(".")
            if behaviour == "good":
                self.state.behaviours.pop(fqdn, None)
            else:
                self.state.behaviours[fqdn] = {"behaviour": behaviour, "times": times, "retry_after": retry_after, "status": status}

    def records(self, hostname):
        with self.state.lock:
            host = self.state.hosts.get(hostname.lower().rstrip("."))
            return json.loads(json.dumps(host["records"])) if host else None

    def stop(self):
        self.http.shutdown()
        self.http.server_close()
        if self.dns:
            self.dns.sock.close()


def start(bind="127.0.0.1", dns=True, state_path=None, credentials=None, desec=False, desec_interval=60.0):
    """Start HTTP (and DNS) on free loopback ports in daemon threads; returns a Running."""
    state = State(state_path, credentials, desec, desec_interval)
    http_server = HttpServer((bind, 0), state)
    threading.Thread(target=http_server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
    dns_server = None
    if dns:
        dns_server = DnsServer((bind, 0), state)
        dns_server.thread.start()
    return Running(state, http_server, dns_server)


# --------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------


def main(argv=None):
    parser = argparse.ArgumentParser(description="Dynamic DNS provider stand-in (loopback test lab)")
    parser.add_argument("--bind", default="127.0.0.1", help="address for HTTP and DNS (default 127.0.0.1)")
    parser.add_argument("--http-port", type=int, default=0, help="HTTP port (0: any free port)")
    parser.add_argument("--dns-port", type=int, default=None, help="UDP DNS port (0: any free port; omitted: no DNS)")
    parser.add_argument("--state", help="JSON file that keeps hosts and records across restarts")
    parser.add_argument("--credentials", help="JSON file with username, password, token, apikey, secretapikey")
    parser.add_argument("--desec", action="store_true", help="plain /nic/update behaves like deSEC")
    parser.add_argument("--desec-interval", type=float, default=60.0, help="deSEC: seconds between updates of a host (60)")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args(argv)
    credentials = None
    if args.credentials:
        with open(args.credentials) as handle:
            credentials = json.load(handle)
    state = State(args.state, credentials, args.desec, args.desec_interval)
    http_server = HttpServer((args.bind, args.http_port), state, args.verbose)
    ready = {"http_port": http_server.server_address[1]}
    if args.dns_port is not None:
        dns_server = DnsServer((args.bind, args.dns_port), state)
        dns_server.thread.start()
        ready["dns_port"] = dns_server.port
    # One JSON line on stdout tells a test harness the ports.
    sys.stdout.write(json.dumps(ready) + "\n")
    sys.stdout.flush()
    try:
        http_server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
