"""The reverse_proxy role's fail2ban filter against Jellyfin's denied-login lines.

fail2ban's <ADDR> is replaced by a plain address pattern here; the Molecule scenarios run
the real fail2ban (journal backend) against the stand-in Jellyfin.
"""

from __future__ import annotations

import os
import re

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
FILTER = os.path.join(REPO, "roles", "reverse_proxy", "templates", "fail2ban-filter.local.j2")


def failregex():
    with open(FILTER, encoding="utf-8") as handle:
        line = next(l for l in handle if l.startswith("failregex = "))
    return re.compile(line.split(" = ", 1)[1].strip().replace("<ADDR>", r"(?P<addr>[0-9a-fA-F.:]+)"))


@pytest.mark.parametrize("line, addr", [
    # the log file (string arguments quoted)
    ('[2026-01-02 03:04:05.678 +00:00] [INF] [42] Jellyfin.Server.Implementations.Users.UserManager: '
     'Authentication request for "bob" has been denied (IP: "203.0.113.9").', "203.0.113.9"),
    # the console line as the journal keeps it (strings bare)
    ("[03:04:05] [INF] [42] Jellyfin.Server.Implementations.Users.UserManager: "
     "Authentication request for bob has been denied (IP: 203.0.113.9).", "203.0.113.9"),
    ("[03:04:05] [INF] [42] Jellyfin.Server.Implementations.Users.UserManager: "
     "Authentication request for bob has been denied (IP: 2001:db8::7).", "2001:db8::7"),
    # a user name that tries to name another address: the real one is at the end
    ('[03:04:05] [INF] [42] Jellyfin.Server.Implementations.Users.UserManager: Authentication request for '
     'x has been denied (IP: 10.0.0.1). has been denied (IP: 198.51.100.4).', "198.51.100.4"),
])
def test_the_filter_finds_the_clients_address(line, addr):
    match = failregex().search(line)
    assert match and match.group("addr") == addr


def test_other_lines_do_not_match():
    for line in ("[03:04:05] [INF] [42] Jellyfin.Server.Implementations.Users.UserManager: "
                 "Authentication request for bob has been denied (IP: 203.0.113.9). trailing",
                 "[03:04:05] [INF] [42] Emby.Server.Implementations: User bob logged in (IP: 203.0.113.9)."):
        assert not failregex().search(line)
