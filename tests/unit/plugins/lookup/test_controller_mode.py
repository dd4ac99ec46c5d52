# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The controller_mode lookup: type and permissions of controller paths, as the wireguard
role's export directory task compares them ('directory 700')."""

from __future__ import annotations

import os
import socket

import pytest
from ansible.errors import AnsibleLookupError

from ansible_collections.homelab.jellyfin_remote.plugins.lookup.controller_mode import LookupModule


def look(*paths):
    return LookupModule().run([str(p) for p in paths], variables={})


def test_type_and_permissions_of_each_path(tmp_path):
    directory = tmp_path / "export"
    directory.mkdir()
    directory.chmod(0o700)
    conf = directory / "phone.conf"
    conf.write_text("x")
    conf.chmod(0o600)
    assert look(directory, conf, tmp_path / "missing", conf / "below-a-file") == [
        "directory 700", "file 600", "absent", "absent"]
    directory.chmod(0o755)
    assert look(directory) == ["directory 755"]  # a widened directory is noticed: the role fixes it


def test_symbolic_links_are_followed_as_the_file_module_does(tmp_path):
    target = tmp_path / "real"
    target.mkdir(mode=0o700)
    target.chmod(0o700)
    (tmp_path / "link").symlink_to(target)
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere")
    assert look(tmp_path / "link", tmp_path / "dangling") == ["directory 700", "absent"]


def test_something_else_is_not_taken_for_a_directory(tmp_path):
    path = tmp_path / "s"
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(path))
        os.chmod(path, 0o700)
        assert look(path) == ["other 700"]


def test_a_path_that_cannot_be_looked_at_fails_naming_it(tmp_path):
    with pytest.raises(AnsibleLookupError, match="controller_mode: cannot look at"):
        look("/tmp/a\x00b")
