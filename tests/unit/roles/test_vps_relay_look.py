# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Issue 25: the relay play takes the home play's look at the relay (roles/vps_relay/vars/main.yml,
__vps_relay_seen_fits) only when it was at this host with the same questions; otherwise it looks
again. Rendered by ansible-core's own templating with the role's variables."""

from __future__ import annotations

import os

import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
ROLE = os.path.join(REPO, "roles", "vps_relay")


def trusted(value):
    if isinstance(value, str):
        return trust_as_template(value)
    if isinstance(value, list):
        return [trusted(v) for v in value]
    if isinstance(value, dict):
        return {k: trusted(v) for k, v in value.items()}
    return value


def role_vars(**over):
    variables = {}
    for name in ("defaults", "vars"):
        with open(os.path.join(ROLE, name, "main.yml"), encoding="utf-8") as handle:
            variables.update(trusted(yaml.safe_load(handle)))
    variables.update(inventory_hostname="relay")
    variables.update(over)
    return variables


def fits(**over):
    templar = Templar(loader=DataLoader(), variables=role_vars(**over))
    return str(templar.template(trust_as_template("{{ __vps_relay_seen_fits | bool }}")))


def home_look(**over):
    """What the home play hands over (main.yml's vps_relay_relay_look), with the home's variables."""
    args = Templar(loader=DataLoader(), variables=role_vars(**over)).template(trust_as_template(
        "{{ __vps_relay_probe_args }}"))
    return {"relay": "relay", "args": args, "host": {"missing_packages": []}}


def test_the_home_plays_look_at_this_relay_with_the_same_questions_is_taken():
    assert fits(__vps_relay_seen=home_look()) == "True"


def test_anything_else_looks_again():
    assert fits() == "False"  # no look handed over (the home's own run, or a relay key given)
    assert fits(__vps_relay_seen={}) == "False"  # the home play made something on the relay
    assert fits(__vps_relay_seen=home_look(), inventory_hostname="relay2") == "False"  # another relay
    # The home's vps_relay_interface differs from the relay's: other paths were looked at.
    assert fits(__vps_relay_seen=home_look(vps_relay_interface="wg-other")) == "False"
