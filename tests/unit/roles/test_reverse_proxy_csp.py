"""The reverse_proxy role's default Content-Security-Policy against the origins jellyfin-web loads.

The list sits next to the default in roles/reverse_proxy/defaults/main.yml ("csp-origin:"
comment lines, each with the jellyfin-web source file that loads the origin). A browser
falls back to default-src for a directive the policy does not name, so that is checked too.
"""

from __future__ import annotations

import os
import re

import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
DEFAULTS = os.path.join(REPO, "roles", "reverse_proxy", "defaults", "main.yml")
SPECS = os.path.join(REPO, "roles", "reverse_proxy", "meta", "argument_specs.yml")
FALLBACK = {"script-src-elem": "script-src", "frame-src": "child-src", "child-src": "default-src",
            "script-src": "default-src", "worker-src": "child-src"}


def origins():
    with open(DEFAULTS, encoding="utf-8") as handle:
        found = re.findall(r"^#\s+csp-origin:\s+(\S+)\s+(\S+)\s+(src/\S+)", handle.read(), re.M)
    return [(directive, origin, source) for directive, origin, source in found]


def policy(text):
    parsed = {}
    for part in text.split(";"):
        words = part.split()
        if words:
            parsed.setdefault(words[0].lower(), words[1:])
    return parsed


def allowed(parsed, directive, origin):
    while directive not in parsed:
        directive = FALLBACK.get(directive)
        if directive is None:
            return True  # no directive and no default-src: not restricted
    sources = parsed[directive]
    return origin in sources or "*" in sources or origin.split(":", 1)[0] + ":" in sources


def default_policy():
    with open(DEFAULTS, encoding="utf-8") as handle:
        return yaml.safe_load(handle)["reverse_proxy_content_security_policy"]


def test_the_origin_list_is_there_with_its_sources():
    listed = origins()
    assert ("script-src", "https://www.youtube.com", "src/plugins/youtubePlayer/plugin.ts") in listed
    assert ("frame-src", "https://www.youtube.com", "src/plugins/youtubePlayer/plugin.ts") in listed
    assert ("script-src", "https://www.gstatic.com", "src/plugins/chromecastPlayer/castSenderApi.ts") in listed


def test_default_policy_allows_every_listed_origin():
    parsed = policy(default_policy())
    for directive, origin, source in origins():
        assert allowed(parsed, directive, origin), "%s %s (%s) is blocked" % (directive, origin, source)


def test_default_policy_stays_strict_elsewhere():
    parsed = policy(default_policy())
    assert parsed["default-src"] == ["'self'"]
    assert parsed["object-src"] == ["'none'"]
    assert not allowed(parsed, "frame-src", "https://evil.example")
    assert not allowed(parsed, "script-src", "https://evil.example")


def test_the_previous_default_is_caught():
    """The default before trailers were allowed: the check must fail on it."""
    old = ("default-src 'self'; script-src 'self' 'unsafe-inline' 'wasm-unsafe-eval' blob: https://www.gstatic.com; "
           "style-src 'self' 'unsafe-inline'; img-src 'self' data: blob: https:; media-src 'self' data: blob:; "
           "connect-src 'self'; worker-src 'self' blob:; font-src 'self' data:; manifest-src 'self'; "
           "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'self'")
    parsed = policy(old)
    blocked = [(d, o) for d, o, _ in origins() if not allowed(parsed, d, o)]
    assert blocked == [("script-src", "https://www.youtube.com"), ("frame-src", "https://www.youtube.com")]


def test_argument_spec_default_is_the_same_policy():
    with open(SPECS, encoding="utf-8") as handle:
        spec = yaml.safe_load(handle)["argument_specs"]["main"]["options"]["reverse_proxy_content_security_policy"]
    assert spec["default"] == default_policy()
