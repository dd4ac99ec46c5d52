# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ddns role's removal knows the same providers as the module: which can delete, and what
each needs from the inventory (the role's assert runs before anything changes)."""

from __future__ import annotations

import os

import yaml

from ansible_collections.homelab.jellyfin_remote.plugins.module_utils import _ddns
from ansible_collections.homelab.jellyfin_remote.plugins.modules import ddns_update

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


def _vars():
    with open(os.path.join(REPO, "roles", "ddns", "vars", "main.yml"), encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def test_the_role_asks_credentials_of_exactly_the_providers_that_can_delete():
    _ddns._load_providers()
    can_delete = {name for name, cls in _ddns.REGISTRY.items() if cls.can_delete}
    assert set(_vars()["__ddns_delete_needs"]) == can_delete


def test_the_role_asks_what_the_module_requires_for_each_of_them():
    """Every option the module requires of a deleting provider (REQUIRED_IF) is in the role's list,
    as its ddns_ variable, so a missing one stops the role before ddclient is stopped."""
    needs = _vars()["__ddns_delete_needs"]
    required = {provider: options for _key, provider, options in ddns_update.REQUIRED_IF}
    for provider, variables in needs.items():
        assert sorted("ddns_" + option for option in required[provider]) == sorted(variables), provider
