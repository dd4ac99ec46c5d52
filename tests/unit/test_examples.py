"""The example inventory loads as Ansible reads it: the vault file beside the group's vars."""

from __future__ import annotations

import json
import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_the_example_inventory_gives_the_group_its_vault_variables():
    inventory = os.path.join(REPO, "examples", "inventory")
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-inventory"), "-i", inventory,
                           "--host", "media.home.arpa"], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    hostvars = json.loads(proc.stdout)
    # vars.yml refers to vault_ddns_token; vault.yml, in the same group directory, defines it.
    assert hostvars["ddns_token"] == "{{ vault_ddns_token }}"
    assert hostvars["vault_ddns_token"].startswith("REPLACE")
    assert hostvars["jellyfin_remote_method"] == "auto"
