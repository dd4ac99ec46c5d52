# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Is an exported OpenVPN profile already what the openvpn role would write? Answered without
reading the host's keys: the profile's inline blocks (<ca>, <cert>, <key>, <tls-crypt>) are
compared by SHA-1 with the host's files (host_probe's sha1), and the rest of the profile with
the role's template rendered with empty blocks.

The role's template writes each block as the file's content without its surrounding white
space, then a newline; the host files are PEM (and OpenVPN's static key format), which end
with one newline and start with none. So a block is current when SHA-1(block + "\\n") is the
file's SHA-1 and the block has no white space to trim. Nothing here returns a block.
"""

from __future__ import annotations

import hashlib
import re

BLOCKS = ("ca", "cert", "key", "tls-crypt")
_BLOCK = re.compile(r"<(ca|cert|key|tls-crypt)>\n(.*?)\n</\1>", re.S)


def _split(text):
    """(the profile with every block emptied, [(tag, SHA-1 of block + newline or None)])."""
    digests = []

    def empty(match):
        block = match.group(2)
        current = block == block.strip() and block
        digests.append((match.group(1), hashlib.sha1((block + "\n").encode("utf-8")).hexdigest() if current else None))
        return "<%s>\n\n</%s>" % (match.group(1), match.group(1))

    return _BLOCK.sub(empty, text), digests


def is_current(profile, skeleton, file_sha1):
    """True when profile (the controller's file, None or "" when missing) is what the role's
    template writes: skeleton is that template rendered with empty blocks, file_sha1 the SHA-1
    of the host file each block is made from ({"ca": ..., "cert": ..., "key": ..., "tls-crypt": ...})."""
    if not profile or not isinstance(profile, str):
        return False
    have_text, have = _split(profile)
    want_text, want_tags = _split(skeleton)
    want = [(tag, file_sha1.get(tag)) for tag, _unused in want_tags]
    if any(sha is None for _tag, sha in want):
        return False
    return have_text == want_text and have == want
