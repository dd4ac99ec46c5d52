#!/usr/bin/python3
"""Stand-in for Cloudflare's `cloudflared` (the Cloudflare Tunnel connector), for the test lab.

Python 3.11 stdlib only. cloudflared cannot be installed on the lab machines, so the lab
installs this file as /usr/bin/cloudflared. Its command line follows cloudflared's own
source (cmd/cloudflared/tunnel: cmd.go, subcommands.go, ingress_subcommands.go; ingress/
ingress.go; urfave/cli v2 parsing) as read for this project; the behaviour was
re-implemented and no upstream code or text was copied. The verify tests use only what
the real program also offers (exit codes, `tunnel ingress validate` output, the files it
reads) plus the invocation log named below.

Modelled behaviour, and where it was read (cloudflare/cloudflared 2026.8.2, commit d1df7985)
  | behaviour                                                     | upstream file                                |
  |---------------------------------------------------------------|----------------------------------------------|
  | command tree, global = tunnel flags, urfave/cli parsing and   | cmd/cloudflared/main.go, tunnel/cmd.go       |
  | env vars; unknown flag: help on stdout, exit 0 (runApp)       |                                              |
  | token from TUNNEL_TOKEN / --token(-file); token JSON a/t/s    | cmd/cloudflared/tunnel/subcommands.go        |
  | `tunnel [--config F] ingress validate|rule` and its output    | cmd/cloudflared/tunnel/ingress_subcommands.go|
  | ingress rules: catch-all last, service forms, wildcards       | ingress/ingress.go                           |
  | config search path, unused-keys warning                       | config/configuration.go                      |
  | unit Type=notify with --no-autoupdate                         | cmd/cloudflared/linux_service.go             |
  | apt repository (lab: tests/lab/apt_repo.py): suite `any`,     | release/index.html (commits 4faa03df,        |
  | key file cloudflare-main.gpg; the signing key was rolled in   | 70658b86: rollover notice, new key kept      |
  | October 2025 under the same file name; during a rollover the  | under the old name), release_pkgs.py         |
  | Release file is signed by both keys, then by the new one only | (reprepro SignWith with two key ids)         |

Implemented
  * Command tree: global flags, `tunnel` (with the tunnel flags), `tunnel run [UUID]`,
    `tunnel ingress validate [--json]`, `tunnel ingress rule URL`, `version` / --version /
    -v. Flags are parsed as urfave/cli v2 does (Go flag syntax, aliases, environment
    variables: TUNNEL_TOKEN, TUNNEL_TOKEN_FILE, TUNNEL_CRED_FILE, TUNNEL_CRED_CONTENTS,
    TUNNEL_ORIGIN_CERT, TUNNEL_LOGLEVEL, TUNNEL_METRICS, NO_AUTOUPDATE, ...). An unknown flag
    prints "Incorrect Usage: flag provided but not defined: -NAME" and the help on STDOUT
    and exits 0 - exactly what the real program does on Linux, whose runApp discards the
    error from app.Run (an upstream pull request proposes exit 1). `--no-autoupdate` exists
    as a global and tunnel flag, not on `run` (removed there in 2026.8).
  * Configuration: --config FILE, else the default search path (~/.cloudflared,
    ~/.cloudflare-warp, ~/cloudflare-warp, /etc/cloudflared, /usr/local/etc/cloudflared;
    config.yml / config.yaml). A YAML subset is parsed (block mappings and sequences,
    quoted and plain scalars, comments) - enough for config files as people write them,
    not all of YAML. Unknown top-level keys produce the real "unused keys" warning.
  * Ingress validation as cloudflared does it: at least one rule; services http(s)://host
    [:port] without a path, unix:, http_status:CODE, hello_world, bastion, tcp/ssh/rdp
    URLs; hostnames without ports, one leading "*." wildcard at most; only the last rule a
    catch-all, and the last rule must be one; path regexes must compile. Output "Validating
    rules from PATH" then "OK" (exit 0), or "Validation failed: ..." on stderr (exit 1).
  * tunnel run: token mode (--token, TUNNEL_TOKEN, --token-file, TUNNEL_TOKEN_FILE; the token
    is base64 JSON {"a","t","s"}, else "Provided Tunnel token is not valid.", exit 1; local
    ingress rules are ignored, as for a remotely managed tunnel) and locally managed mode
    (tunnel UUID from the argument or `tunnel:`, credentials from --credentials-file /
    TUNNEL_CRED_FILE / `credentials-file:` / --credentials-contents, checked for AccountTag,
    TunnelSecret and a TunnelID equal to the UUID; ingress validated before start). It tells
    systemd READY=1 (Type=notify) and runs until SIGTERM/SIGINT, exit 0.
  * Stand-in extras for tests: each invocation is one JSON line in
    /var/log/cloudflared-standin/invocations.jsonl (CLOUDFLARED_STANDIN_LOG overrides):
    argv with secrets masked, the NAMES of the environment variables (never values), uid,
    exit code, `secret_in_argv` (a token, token-shaped value or credentials content on the
    command line), and for `run` the mode, tunnel ID, the first 16 hex digits of the
    token's SHA-256, the credentials path, the ingress rules and whether an origin
    certificate (cert.pem) was configured.

  * The lab's apt repository for cloudflared (tests/lab/apt_repo.py, not this file): a
    signed repository with an empty package index (InRelease and Release.gpg, signed by one
    or two throwaway keys made per lab run) and the vendor's key file under the same name;
    publishing it again with another key is Cloudflare's rotation. The fingerprint the role
    pins by default (CC94B39C77AE7342A68B89628A682D308D4E5E73) is not in cloudflared's
    source: it is the one users report after the rotation (apt's NO_PUBKEY 8A682D308D4E5E73).

Not implemented
  The apt repository holds no cloudflared package (the lab installs this file instead), and
  its keys are not Cloudflare's. No Cloudflare edge: no connections, no QUIC/HTTP2 transport, no proxying of requests to
  the origin, no metrics server (/ready, /metrics), no DNS routes, no remote configuration.
  `tunnel login`, `create`, `list`, `route`, `delete`, `info`, `token`, `cleanup`,
  `service install`, `access`, `update`, quick tunnels and tunnel names (a name lookup
  needs cert.pem and the API) exit 1 with a message saying the stand-in lacks them.
  originRequest settings are accepted but not checked in detail; log output is a few
  plain lines, not cloudflared's zerolog format.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import signal
import socket
import sys
import threading
import time
import urllib.parse
import uuid

VERSION = "2026.8.2"
DEFAULT_LOG = "/var/log/cloudflared-standin/invocations.jsonl"

# name, aliases, kind, env vars. Global and tunnel flags are the same set in cloudflared.
TUNNEL_FLAGS = [
    ("config", [], "string", []), ("origincert", [], "string", ["TUNNEL_ORIGIN_CERT"]),
    ("autoupdate-freq", [], "duration", []), ("no-autoupdate", [], "bool", ["NO_AUTOUPDATE"]),
    ("metrics", [], "string", ["TUNNEL_METRICS"]), ("metrics-update-freq", [], "duration", ["TUNNEL_METRICS_UPDATE_FREQ"]),
    ("pidfile", [], "string", ["TUNNEL_PIDFILE"]), ("logfile", [], "string", ["TUNNEL_LOGFILE"]),
    ("log-directory", [], "string", ["TUNNEL_LOGDIRECTORY"]), ("loglevel", [], "string", ["TUNNEL_LOGLEVEL"]),
    ("transport-loglevel", ["proto-loglevel"], "string", ["TUNNEL_PROTO_LOGLEVEL", "TUNNEL_TRANSPORT_LOGLEVEL"]),
    ("trace-output", [], "string", ["TUNNEL_TRACE_OUTPUT"]), ("output", [], "string", ["TUNNEL_MANAGEMENT_OUTPUT"]),
    ("edge", [], "string", ["TUNNEL_EDGE"]), ("region", [], "string", ["TUNNEL_REGION"]),
    ("edge-ip-version", [], "string", ["TUNNEL_EDGE_IP_VERSION"]), ("edge-bind-address", [], "string", ["TUNNEL_EDGE_BIND_ADDRESS"]),
    ("protocol", ["p"], "string", ["TUNNEL_TRANSPORT_PROTOCOL"]), ("post-quantum", ["pq"], "bool", ["TUNNEL_POST_QUANTUM"]),
    ("features", ["F"], "string", ["TUNNEL_FEATURES"]), ("tag", [], "string", ["TUNNEL_TAG"]),
    ("retries", [], "int", ["TUNNEL_RETRIES"]), ("max-edge-addr-retries", [], "int", []),
    ("label", [], "string", ["TUNNEL_LABEL"]), ("grace-period", [], "duration", ["TUNNEL_GRACE_PERIOD"]),
    ("compression-quality", [], "int", ["TUNNEL_COMPRESSION_LEVEL"]), ("name", ["n"], "string", ["TUNNEL_NAME"]),
    ("hello-world", [], "bool", ["TUNNEL_HELLO_WORLD"]), ("url", [], "string", ["TUNNEL_URL"]),
    ("unix-socket", [], "string", ["TUNNEL_UNIX_SOCKET"]), ("http-host-header", [], "string", ["TUNNEL_HTTP_HOST_HEADER"]),
    ("origin-server-name", [], "string", ["TUNNEL_ORIGIN_SERVER_NAME"]), ("origin-ca-pool", [], "string", ["TUNNEL_ORIGIN_CA_POOL"]),
    ("no-tls-verify", [], "bool", ["NO_TLS_VERIFY"]), ("no-chunked-encoding", [], "bool", ["TUNNEL_NO_CHUNKED_ENCODING"]),
    ("http2-origin", [], "bool", ["TUNNEL_ORIGIN_ENABLE_HTTP2"]), ("management-diagnostics", [], "bool", ["TUNNEL_MANAGEMENT_DIAGNOSTICS"]),
    ("ha-connections", [], "int", []), ("rpc-timeout", [], "duration", []), ("write-stream-timeout", [], "duration", ["TUNNEL_STREAM_WRITE_TIMEOUT"]),
    ("quic-disable-pmtu-discovery", [], "bool", ["TUNNEL_DISABLE_QUIC_PMTU"]), ("dns-resolver-addrs", [], "string", ["TUNNEL_DNS_RESOLVER_ADDRS"]),
    ("overwrite-dns", ["f"], "bool", ["TUNNEL_FORCE_PROVISIONING_DNS"]), ("credentials-file", ["cred-file"], "string", ["TUNNEL_CRED_FILE"]),
    ("is-autoupdated", [], "bool", []), ("api-url", [], "string", ["TUNNEL_API_URL"]),
]
RUN_FLAGS = [
    ("credentials-file", ["cred-file"], "string", ["TUNNEL_CRED_FILE"]),
    ("credentials-contents", [], "string", ["TUNNEL_CRED_CONTENTS"]),
    ("token", [], "string", ["TUNNEL_TOKEN"]), ("token-file", [], "string", ["TUNNEL_TOKEN_FILE"]),
    ("icmpv4-src", [], "string", ["TUNNEL_ICMPV4_SRC"]), ("icmpv6-src", [], "string", ["TUNNEL_ICMPV6_SRC"]),
    ("post-quantum", ["pq"], "bool", ["TUNNEL_POST_QUANTUM"]), ("features", ["F"], "string", ["TUNNEL_FEATURES"]),
    ("url", [], "string", ["TUNNEL_URL"]), ("hello-world", [], "bool", ["TUNNEL_HELLO_WORLD"]),
]
VALIDATE_FLAGS = [("json", ["j"], "string", ["TUNNEL_INGRESS_VALIDATE_JSON"])]
NOT_IMPLEMENTED = {"login", "create", "list", "route", "delete", "info", "token", "cleanup", "vnet",
                   "diag", "ready", "prepare", "access", "update", "service", "tail", "management", "proxy-dns"}
CONFIG_EXTRA_KEYS = {"tunnel", "ingress", "originRequest", "warp-routing", "credentials-file"}


class IncorrectUsage(Exception):
    pass


class CommandError(Exception):
    """cli.Exit(msg, 1): message on stderr, exit 1."""


# --------------------------------------------------------------------------- logging


def _looks_like_token(value):
    try:
        data = json.loads(base64.b64decode(value + "=" * (-len(value) % 4), validate=False))
    except (ValueError, TypeError):
        return False
    return isinstance(data, dict) and {"a", "t", "s"} <= set(data)


def _secret_positions(argv):
    secret = set()
    take_next = False
    for i, arg in enumerate(argv):
        if take_next:
            secret.add(i)
            take_next = False
            continue
        name, eq, value = arg.lstrip("-").partition("=")
        if arg.startswith("-") and name in ("token", "credentials-contents"):
            if eq:
                secret.add(i)
            else:
                take_next = True
        elif len(arg) > 40 and _looks_like_token(arg.split("=", 1)[-1]):
            secret.add(i)
        elif "TunnelSecret" in arg:
            secret.add(i)
    return secret


def _masked(argv):
    hidden = _secret_positions(argv)
    out = []
    for i, arg in enumerate(argv):
        if i in hidden:
            out.append(arg.split("=", 1)[0] + "=REDACTED" if arg.startswith("-") and "=" in arg else "REDACTED")
        else:
            out.append(arg)
    return out


def log_event(record):
    path = os.environ.get("CLOUDFLARED_STANDIN_LOG", DEFAULT_LOG)
    record = dict(record, time=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), pid=os.getpid())
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        with os.fdopen(fd, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record, sort_keys=True) + "\n")
    except OSError:
        pass


# --------------------------------------------------------------------------- YAML subset


def _scalar(text, lineno):
    text = text.strip()
    if not text or text in ("~", "null", "Null", "NULL"):
        return None
    if text[0] in "\"'":
        quote = text[0]
        if len(text) < 2 or text[-1] != quote:
            raise ValueError("yaml: line %d: found unexpected end of stream" % lineno)
        body = text[1:-1]
        return body.replace("''", "'") if quote == "'" else json.loads('"%s"' % body.replace('\\/', '/'))
    if text in ("true", "True", "TRUE", "yes", "on"):
        return True
    if text in ("false", "False", "FALSE", "no", "off"):
        return False
    if re.fullmatch(r"[-+]?\d+", text):
        return int(text)
    if text.startswith("[") and text.endswith("]"):
        inner = text[1:-1].strip()
        return [_scalar(p, lineno) for p in inner.split(",")] if inner else []
    if text == "{}":
        return {}
    if text[0] in "[{&*!|>%@`":
        raise ValueError("yaml: line %d: the stand-in's YAML subset does not support %r" % (lineno, text[0]))
    return text


def _strip_comment(line):
    out, quote = [], None
    for i, ch in enumerate(line):
        if quote:
            if ch == quote:
                quote = None
        elif ch in "\"'" and (i == 0 or line[i - 1] in " :-[,"):
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1] in " \t"):
            break
        out.append(ch)
    return "".join(out).rstrip()


def parse_yaml(text):
    lines = []
    for n, raw in enumerate(text.splitlines(), 1):
        if "\t" in raw[: len(raw) - len(raw.lstrip())]:
            raise ValueError("yaml: line %d: found character that cannot start any token" % n)
        line = _strip_comment(raw)
        if not line.strip() or line.strip() in ("---", "..."):
            continue
        lines.append([len(line) - len(line.lstrip(" ")), line.strip(), n])
    if not lines:
        return {}
    value, pos = _block(lines, 0, lines[0][0])
    if pos != len(lines):
        raise ValueError("yaml: line %d: did not find expected key" % lines[pos][2])
    return value


def _block(lines, pos, indent):
    if lines[pos][1].startswith("- ") or lines[pos][1] == "-":
        result = []
        while pos < len(lines) and lines[pos][0] == indent and (lines[pos][1].startswith("- ") or lines[pos][1] == "-"):
            content = lines[pos][1][1:].strip()
            lineno = lines[pos][2]
            if not content:
                pos += 1
                if pos < len(lines) and lines[pos][0] > indent:
                    value, pos = _block(lines, pos, lines[pos][0])
                else:
                    value = None
            elif re.match(r"^[^\"'\[{][^:]*:(\s|$)", content):
                lines[pos] = [indent + 2, content, lineno]
                value, pos = _block(lines, pos, indent + 2)
            else:
                value, pos = _scalar(content, lineno), pos + 1
            result.append(value)
        return result, pos
    result = {}
    while pos < len(lines) and lines[pos][0] == indent:
        content, lineno = lines[pos][1], lines[pos][2]
        match = re.match(r"^(\"[^\"]*\"|'[^']*'|[^:]+?):(\s+(.*))?$", content)
        if not match or content.startswith("- "):
            raise ValueError("yaml: line %d: could not find expected ':'" % lineno)
        key = _scalar(match.group(1), lineno)
        if key in result:
            raise ValueError('yaml: line %d: mapping key "%s" already defined' % (lineno, key))
        rest = (match.group(3) or "").strip()
        pos += 1
        if rest:
            result[key] = _scalar(rest, lineno)
        elif pos < len(lines) and (lines[pos][0] > indent or (lines[pos][0] == indent and lines[pos][1].startswith("- "))):
            result[key], pos = _block(lines, pos, lines[pos][0])
        else:
            result[key] = None
    if pos < len(lines) and lines[pos][0] > indent:
        raise ValueError("yaml: line %d: mapping values are not allowed in this context" % lines[pos][2])
    return result, pos


# --------------------------------------------------------------------------- flags


class Flags:
    def __init__(self, spec):
        self.spec = {}
        self.canonical = {}
        for name, aliases, kind, envs in spec:
            self.spec[name] = (kind, envs)
            for alias in [name] + aliases:
                self.canonical[alias] = name
        self.values = {}
        self.set_on_cli = set()

    def parse(self, args):
        args = list(args)
        while args and args[0].startswith("-") and len(args[0]) > 1:
            arg = args.pop(0)
            if arg == "--":
                break
            body = arg[2:] if arg.startswith("--") else arg[1:]
            name, eq, value = body.partition("=")
            if name in ("h", "help"):
                raise HelpWanted()
            if name not in self.canonical:
                raise IncorrectUsage("flag provided but not defined: -%s" % name)
            canonical = self.canonical[name]
            kind = self.spec[canonical][0]
            if kind == "bool":
                value = value if eq else "true"
                if value.lower() not in ("true", "false", "1", "0", "t", "f"):
                    raise IncorrectUsage('invalid boolean value "%s" for -%s: parse error' % (value, name))
                self.values[canonical] = value.lower() in ("true", "1", "t")
            else:
                if not eq:
                    if not args:
                        raise IncorrectUsage("flag needs an argument: -%s" % name)
                    value = args.pop(0)
                if kind == "int" and not re.fullmatch(r"-?\d+", value):
                    raise IncorrectUsage('invalid value "%s" for flag -%s: parse error' % (value, name))
                if kind == "duration" and not re.fullmatch(r"(\d+(\.\d+)?(ns|us|ms|s|m|h))+|0", value):
                    raise IncorrectUsage('invalid value "%s" for flag -%s: parse error' % (value, name))
                self.values[canonical] = value
            self.set_on_cli.add(canonical)
        return args

    def get(self, name, env=True):
        if name in self.values:
            return self.values[name]
        if env and name in self.spec:
            for var in self.spec[name][1]:
                if os.environ.get(var):
                    return os.environ[var]
        return None


class HelpWanted(Exception):
    pass


HELP = {
    "cloudflared": "NAME:\n   cloudflared - Cloudflare's command-line tool and agent (test-lab stand-in)\n\n"
                   "USAGE:\n   cloudflared [global options] [command] [command options]\n\n"
                   "COMMANDS:\n   tunnel   Use Cloudflare Tunnel to expose private services to the Internet or to Cloudflare connected private users.\n"
                   "   version  Print the version\n",
    "tunnel": "NAME:\n   cloudflared tunnel - Use Cloudflare Tunnel to expose private services\n\n"
              "USAGE:\n   cloudflared tunnel [tunnel command options] [subcommand] [subcommand options]\n\n"
              "COMMANDS:\n   run      Proxy a local web server by running the given tunnel\n   ingress  Validate and test cloudflared tunnel's ingress configuration\n",
    "run": "NAME:\n   cloudflared tunnel run - Proxy a local web server by running the given tunnel\n\n"
           "USAGE:\n   cloudflared tunnel [tunnel command options] run [subcommand options] [TUNNEL]\n",
    "validate": "NAME:\n   cloudflared tunnel ingress validate - Validate the ingress configuration\n\n"
                "USAGE:\n   cloudflared tunnel [--config FILEPATH] ingress validate\n",
    "rule": "NAME:\n   cloudflared tunnel ingress rule - Check which ingress rule matches a given request URL\n\n"
            "USAGE:\n   cloudflared tunnel [--config FILEPATH] ingress rule URL\n",
}


# --------------------------------------------------------------------------- config and ingress


def find_config(explicit):
    if explicit:
        return explicit
    home = os.path.expanduser("~")
    for directory in (os.path.join(home, ".cloudflared"), os.path.join(home, ".cloudflare-warp"),
                      os.path.join(home, "cloudflare-warp"), "/etc/cloudflared", "/usr/local/etc/cloudflared"):
        for name in ("config.yml", "config.yaml"):
            path = os.path.join(directory, name)
            if os.path.isfile(path):
                return path
    return None


def load_config(path):
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except OSError as exc:
        raise CommandError("open %s: %s" % (path, (exc.strerror or str(exc)).lower())) from exc
    try:
        conf = parse_yaml(text)
    except ValueError as exc:
        raise CommandError("error parsing YAML in config file at %s: %s" % (path, exc)) from exc
    if not isinstance(conf, dict):
        raise CommandError("error parsing YAML in config file at %s: yaml: unmarshal errors: cannot unmarshal into a mapping" % path)
    return conf


def unused_keys(conf):
    known = set(CONFIG_EXTRA_KEYS)
    for name, aliases, _, _ in TUNNEL_FLAGS + RUN_FLAGS:
        known.add(name)
        known.update(aliases)
    return sorted(k for k in conf if k not in known)


def validate_ingress(rules):
    if not rules:
        raise ValueError("The config file doesn't contain any ingress rules")
    if not isinstance(rules, list):
        raise ValueError("ingress must be a list of rules")
    total = len(rules)
    for index, rule in enumerate(rules):
        if not isinstance(rule, dict):
            raise ValueError("Rule #%d is not a mapping" % (index + 1))
        service = str(rule.get("service") or "")
        hostname = str(rule.get("hostname") or "")
        path = str(rule.get("path") or "")
        if service.startswith("unix:") or service in ("hello_world", "hello-world", "helloworld", "bastion"):
            pass
        elif service.startswith("http_status:"):
            code = service[len("http_status:"):]
            if not re.fullmatch(r"-?\d+", code):
                raise ValueError('invalid HTTP status: strconv.Atoi: parsing "%s": invalid syntax' % code)
        else:
            url = urllib.parse.urlsplit(service)
            if not url.scheme or not url.hostname:
                raise ValueError("%s is an invalid address, please make sure it has a scheme and a hostname" % service)
            if url.path not in ("",):
                raise ValueError("%s is an invalid address, ingress rules don't support proxying to a different path on the "
                                 "origin service. The path will be the same as the eyeball request's path" % service)
        if re.fullmatch(r".+:\d+", hostname) or (hostname.startswith("[") and "]:" in hostname):
            raise ValueError("Hostname cannot contain a port")
        if hostname.rfind("*") > 0:
            raise ValueError('Hostname patterns can have at most one wildcard character ("*") and it can only be used for '
                             'subdomains, e.g. "*.example.com"')
        catch_all = hostname in ("", "*") and not path
        last = index == total - 1
        if last and not catch_all:
            raise ValueError("The last ingress rule must match all URLs (i.e. it should not have a hostname or path filter)")
        if not last and catch_all:
            raise ValueError("Rule #%d is matching the hostname '%s', but this will match every hostname, meaning the rules "
                             "which follow it will never be triggered." % (index + 1, hostname))
        if path:
            try:
                re.compile(path)
            except re.error as exc:
                raise ValueError("Rule #%d has an invalid regex: %s" % (index + 1, exc)) from exc
    return rules


# --------------------------------------------------------------------------- commands


def cmd_validate(tunnel_flags, app_flags, args):
    flags = Flags(VALIDATE_FLAGS)
    flags.parse(args)
    if flags.get("json") is not None:
        print("Validating rules from cmdline flag --json")
        try:
            conf = json.loads(flags.get("json"))
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
    else:
        path = find_config(tunnel_flags.get("config") or app_flags.get("config"))
        if not path:
            raise CommandError("No configuration file was found. Please create one, or use the --config flag to specify "
                               "its filepath. You can use the help command to learn more about configuration files")
        conf = load_config(path)
        print("Validating rules from", path)
    try:
        validate_ingress((conf or {}).get("ingress"))
    except ValueError as exc:
        raise CommandError("Validation failed: %s" % exc) from exc
    if tunnel_flags.get("url", env=False):
        raise CommandError("You can't set the --url flag (or $TUNNEL_URL) when using multiple-origin ingress rules")
    extra = unused_keys(conf or {})
    if extra:
        print("Warning: unused keys detected in your config file. Here is a list of unused keys:")
        print("\n".join(extra))
        return 0
    print("OK")
    return 0


def cmd_rule(tunnel_flags, app_flags, args):
    if not args:
        raise CommandError("cloudflared tunnel rule expects a single argument, the URL to test")
    url = urllib.parse.urlsplit(args[0])
    if not url.hostname and not url.scheme:
        raise CommandError("%s doesn't have a hostname, consider adding a scheme" % args[0])
    path = find_config(tunnel_flags.get("config") or app_flags.get("config"))
    if not path:
        raise CommandError("No configuration file was found.")
    conf = load_config(path)
    print("Using rules from", path)
    try:
        rules = validate_ingress(conf.get("ingress"))
    except ValueError as exc:
        raise CommandError("Validation failed: %s" % exc) from exc
    for index, rule in enumerate(rules):
        host = str(rule.get("hostname") or "")
        host_ok = not host or host == "*" or host == url.hostname or (
            host.startswith("*.") and (url.hostname or "").endswith(host[1:]))
        path_ok = not rule.get("path") or re.search(str(rule["path"]), url.path or "/")
        if (host_ok and path_ok) or index == len(rules) - 1:
            print("Matched rule #%d" % index)
            if host:
                print("\thostname: %s" % host)
            print("\tservice: %s" % rule.get("service"))
            return 0
    return 0


def _decode_token(token):
    token = token.strip()
    try:
        data = json.loads(base64.b64decode(token + "=" * (-len(token) % 4), validate=False).decode())
        tunnel_id = str(uuid.UUID(data["t"]))
        if not data.get("a") or not data.get("s"):
            raise ValueError("incomplete")
        base64.b64decode(data["s"] + "=" * (-len(data["s"]) % 4))
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
        raise CommandError("Provided Tunnel token is not valid.") from exc
    return tunnel_id


def _sd_notify(message):
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return
    if address.startswith("@"):
        address = "\0" + address[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        try:
            sock.connect(address)
            sock.sendall(message.encode())
        except OSError:
            pass


def cmd_run(tunnel_flags, app_flags, args, record):
    flags = Flags(RUN_FLAGS)
    rest = flags.parse(args)

    def pick(name):
        for source in (flags, tunnel_flags, app_flags):
            if name in source.values:
                return source.values[name]
        return flags.get(name) if name in flags.spec else tunnel_flags.get(name)

    config_path = find_config(tunnel_flags.get("config") or app_flags.get("config"))
    conf = load_config(config_path) if config_path else {}
    origincert = pick("origincert") or conf.get("origincert")
    token = pick("token")
    token_file = pick("token-file")
    if not token and token_file:
        try:
            with open(token_file, encoding="utf-8") as handle:
                token = handle.read().strip()
        except OSError as exc:
            raise CommandError("Failed to read token file %s: %s" % (token_file, exc.strerror)) from exc
    info = {"config": config_path, "origincert_configured": bool(origincert)}
    if token:
        tunnel_id = _decode_token(token)
        info.update(mode="token", tunnel_id=tunnel_id, token_sha256_16=hashlib.sha256(token.strip().encode()).hexdigest()[:16],
                    local_ingress_ignored=bool(conf.get("ingress")))
        sys.stderr.write("INF Starting tunnel tunnelID=%s (remotely managed; stand-in, no edge connection)\n" % tunnel_id)
    else:
        ref = rest[0] if rest else (conf.get("tunnel") or pick("name"))
        if not ref:
            raise CommandError('"cloudflared tunnel run" requires the ID or name of the tunnel to run as the last command '
                               'line argument or in the configuration file.\nSee \'cloudflared tunnel run --help\'.')
        try:
            tunnel_id = str(uuid.UUID(str(ref)))
        except ValueError as exc:
            raise CommandError("tunnel %r: the stand-in runs tunnels by UUID only (a name lookup needs cert.pem and the "
                               "Cloudflare API)" % ref) from exc
        contents = pick("credentials-contents")
        cred_path = pick("credentials-file") or conf.get("credentials-file")
        if not contents:
            if not cred_path:
                for directory in (os.path.expanduser("~/.cloudflared"), "/etc/cloudflared", "/usr/local/etc/cloudflared"):
                    candidate = os.path.join(directory, "%s.json" % tunnel_id)
                    if os.path.isfile(candidate):
                        cred_path = candidate
                        break
            if not cred_path or not os.path.isfile(cred_path):
                raise CommandError("Tunnel credentials file '%s' doesn't exist or is not a file" % (cred_path or "%s.json" % tunnel_id))
            try:
                with open(cred_path, encoding="utf-8") as handle:
                    contents = handle.read()
            except OSError as exc:
                raise CommandError("Failed to read the tunnel credentials file %s: %s" % (cred_path, exc.strerror)) from exc
        try:
            creds = json.loads(contents)
            if not creds.get("AccountTag") or not creds.get("TunnelSecret"):
                raise ValueError("missing fields")
            if str(uuid.UUID(str(creds.get("TunnelID")))) != tunnel_id:
                raise ValueError("tunnel mismatch")
        except (ValueError, TypeError, AttributeError) as exc:
            raise CommandError("Couldn't decode tunnel credentials from %s: %s" % (cred_path or "--credentials-contents", exc)) from exc
        try:
            rules = validate_ingress(conf.get("ingress"))
        except ValueError as exc:
            raise CommandError("error parsing ingress rules: %s" % exc) from exc
        info.update(mode="named", tunnel_id=tunnel_id, credentials_file=cred_path,
                    ingress=[{"hostname": r.get("hostname"), "service": r.get("service")} for r in rules])
        sys.stderr.write("INF Starting tunnel tunnelID=%s (stand-in, no edge connection)\n" % tunnel_id)
    log_event(dict(record, event="run", **info))
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    _sd_notify("READY=1")
    stop.wait()
    sys.stderr.write("INF Tunnel server stopped\n")
    return 0


def run_cli(argv, record):
    app_flags = Flags(TUNNEL_FLAGS + [("version", ["v", "V"], "bool", [])])
    help_for = "cloudflared"
    try:
        rest = app_flags.parse(argv)
        if app_flags.values.get("version") or (rest and rest[0] == "version"):
            print("cloudflared version %s (built 2026-08-14-12:17 UTC, test-lab stand-in)" % VERSION)
            return 0
        if not rest:
            print(HELP["cloudflared"])
            return 0
        command, rest = rest[0], rest[1:]
        if command in NOT_IMPLEMENTED:
            raise CommandError("cloudflared %s: not implemented by the test-lab stand-in" % command)
        if command != "tunnel":
            print("No help topic for '%s'" % command)
            return 3
        help_for = "tunnel"
        tunnel_flags = Flags(TUNNEL_FLAGS)
        rest = tunnel_flags.parse(rest)
        if not rest:
            raise CommandError("cloudflared tunnel without a subcommand (quick tunnels, classic tunnels) is not "
                               "implemented by the test-lab stand-in")
        sub, rest = rest[0], rest[1:]
        if sub == "run":
            help_for = "run"
            return cmd_run(tunnel_flags, app_flags, rest, record)
        if sub == "ingress":
            if not rest or rest[0] not in ("validate", "rule"):
                print(HELP["tunnel"])
                return 0
            help_for = rest[0]
            if rest[0] == "validate":
                return cmd_validate(tunnel_flags, app_flags, rest[1:])
            return cmd_rule(tunnel_flags, app_flags, rest[1:])
        if sub in NOT_IMPLEMENTED:
            raise CommandError("cloudflared tunnel %s: not implemented by the test-lab stand-in" % sub)
        raise CommandError("cloudflared tunnel %s: not implemented by the test-lab stand-in" % sub)
    except HelpWanted:
        print(HELP[help_for])
        return 0
    except IncorrectUsage as exc:
        # urfave/cli writes this to the app's Writer (stdout); cloudflared on Linux then
        # ignores the error returned by app.Run, so the exit status is 0.
        print("Incorrect Usage: %s\n" % exc)
        print(HELP[help_for])
        return 0
    except CommandError as exc:
        sys.stdout.flush()
        sys.stderr.write(str(exc) + "\n")
        return 1


def main(argv=None):
    argv = list(sys.argv if argv is None else argv)
    args = argv[1:]
    record = {"program": "cloudflared", "argv": _masked(args), "uid": os.getuid(),
              "env_names": sorted(os.environ), "secret_in_argv": bool(_secret_positions(args))}
    code = run_cli(args, record)
    log_event(dict(record, event="invocation", exit=code))
    return code


if __name__ == "__main__":
    sys.exit(main())
