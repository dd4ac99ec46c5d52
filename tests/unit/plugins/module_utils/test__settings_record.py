# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import pytest

from ansible_collections.homelab.jellyfin_remote.plugins.module_utils._settings_record import (
    KEPT,
    RESTORED,
    UNCHANGED,
    UNKNOWN,
    RecordError,
    note_change,
    restore_value,
    validate_entries,
)


def lower(entry):
    return entry.lower()


# ---------------------------------------------------------------- recording a scalar
def test_scalar_first_change_records_the_original():
    entries = {}
    note_change(entries, "BaseUrl", "scalar", "", "/jf")
    assert entries == {"BaseUrl": {"original": "", "set": "/jf"}}


def test_scalar_later_change_keeps_the_first_original():
    entries = {"BaseUrl": {"original": "", "set": "/jf"}}
    note_change(entries, "BaseUrl", "scalar", "/jf", "/media")
    assert entries == {"BaseUrl": {"original": "", "set": "/media"}}
    # the owner changed it in between: still the first original, never a value the collection set
    note_change(entries, "BaseUrl", "scalar", "/owner", "/media2")
    assert entries == {"BaseUrl": {"original": "", "set": "/media2"}}


def test_scalar_set_back_to_the_original_drops_the_entry():
    entries = {"EnableRemoteAccess": {"original": False, "set": True}}
    note_change(entries, "EnableRemoteAccess", "scalar", True, False)
    assert entries == {}


def test_no_change_records_nothing():
    entries = {}
    note_change(entries, "BaseUrl", "scalar", "/jf", "/jf")
    note_change(entries, "KnownProxies", "list", ["a"], ["A"], key=lower)
    assert entries == {}


# ---------------------------------------------------------------- recording a list
def test_list_records_the_original_and_the_added_entries():
    entries = {}
    note_change(entries, "KnownProxies", "list", ["10.0.0.1"], ["10.0.0.1", "10.0.0.2"], key=lower)
    assert entries == {"KnownProxies": {"original": ["10.0.0.1"], "added": ["10.0.0.2"], "removed": []}}


def test_list_later_changes_add_to_what_the_collection_added():
    entries = {"KnownProxies": {"original": ["a"], "added": ["b"], "removed": []}}
    # the owner added "o" meanwhile; the collection adds "c"
    note_change(entries, "KnownProxies", "list", ["a", "b", "o"], ["a", "b", "o", "c"], key=lower)
    assert entries == {"KnownProxies": {"original": ["a"], "added": ["b", "c"], "removed": []}}


def test_list_removing_an_entry_the_collection_added_forgets_it():
    entries = {"KnownProxies": {"original": ["a"], "added": ["b", "c"], "removed": []}}
    note_change(entries, "KnownProxies", "list", ["a", "b", "c"], ["a", "c"], key=lower)
    assert entries == {"KnownProxies": {"original": ["a"], "added": ["c"], "removed": []}}
    note_change(entries, "KnownProxies", "list", ["a", "c"], ["a"], key=lower)
    assert entries == {}


def test_list_removing_an_owner_entry_is_recorded_and_adding_it_back_forgets_it():
    entries = {}
    note_change(entries, "KnownProxies", "list", ["a", "b"], ["b"], key=lower)
    assert entries == {"KnownProxies": {"original": ["a", "b"], "added": [], "removed": ["a"]}}
    note_change(entries, "KnownProxies", "list", ["b"], ["b", "A"], key=lower)
    assert entries == {}


# ---------------------------------------------------------------- secrets
def test_a_secret_is_never_recorded_only_whether_there_was_one():
    entries = {}
    note_change(entries, "CertificatePassword", "secret", "", "pfx-secret-42")
    assert entries == {"CertificatePassword": {"original_empty": True}}
    note_change(entries, "CertificatePassword", "secret", "pfx-secret-42", "other-secret")
    assert entries == {"CertificatePassword": {"original_empty": True}}
    other = {}
    note_change(other, "CertificatePassword", "secret", "owners-secret", "pfx-secret-42")
    assert other == {"CertificatePassword": {"original_empty": False}}
    assert "owners-secret" not in repr(other) and "pfx-secret-42" not in repr(other)


def test_a_secret_cleared_again_drops_the_entry():
    entries = {"CertificatePassword": {"original_empty": True}}
    note_change(entries, "CertificatePassword", "secret", "pfx-secret-42", "")
    assert entries == {}


# ---------------------------------------------------------------- restoring
@pytest.mark.parametrize(
    "entry, current, expected",
    [
        ({"original": "", "set": "/jf"}, "/jf", ("", RESTORED)),
        ({"original": "", "set": "/jf"}, "", ("", UNCHANGED)),
        ({"original": "", "set": "/jf"}, "/owner", ("/owner", KEPT)),
        ({"original": False, "set": True}, True, (False, RESTORED)),
        ({"original": 8096, "set": 8097}, 8097, (8096, RESTORED)),
    ],
    ids=["restored", "already-original", "owner-changed", "bool", "int"],
)
def test_restore_scalar(entry, current, expected):
    assert restore_value(entry, "scalar", current) == expected


@pytest.mark.parametrize(
    "entry, current, expected",
    [
        # the collection's entries go, the owner's (original and later) stay
        ({"original": ["a"], "added": ["b"], "removed": []}, ["a", "b", "o"], (["a", "o"], RESTORED)),
        # spelled differently in the file: still the same entry
        ({"original": [], "added": ["B"], "removed": []}, ["b"], ([], RESTORED)),
        # the owner removed them already
        ({"original": ["a"], "added": ["b"], "removed": []}, ["a"], (["a"], UNCHANGED)),
        # an owner entry the collection removed comes back
        ({"original": ["a", "b"], "added": ["c"], "removed": ["a"]}, ["b", "c"], (["b", "a"], RESTORED)),
        ({"original": ["a", "b"], "added": [], "removed": ["a"]}, ["A", "b"], (["A", "b"], UNCHANGED)),
    ],
    ids=["owner-addition-kept", "canonical", "owner-removed-them", "removed-comes-back", "already-back"],
)
def test_restore_list(entry, current, expected):
    assert restore_value(entry, "list", current, key=lower) == expected


def test_restore_secret():
    assert restore_value({"original_empty": True}, "secret", "pfx-secret-42") == ("", RESTORED)
    assert restore_value({"original_empty": True}, "secret", "") == ("", UNCHANGED)
    # the owner's own password was never recorded: it cannot be put back
    assert restore_value({"original_empty": False}, "secret", "pfx-secret-42") == ("pfx-secret-42", UNKNOWN)


# ---------------------------------------------------------------- a record read back
def test_validate_entries_accepts_what_note_change_writes():
    entries = {}
    note_change(entries, "BaseUrl", "scalar", "", "/jf")
    note_change(entries, "KnownProxies", "list", [], ["a"], key=lower)
    note_change(entries, "CertificatePassword", "secret", "", "x")
    kinds = {"BaseUrl": "scalar", "KnownProxies": "list", "CertificatePassword": "secret"}
    assert validate_entries(entries, kinds, "state.json") == entries


@pytest.mark.parametrize(
    "entries, message",
    [
        ([], "state.json: the record of settings is a list; expected a mapping of setting names"),
        ({"Nope": {"original": 1, "set": 2}}, "state.json: the record names setting 'Nope', which is not one this module manages"),
        ({"BaseUrl": {"set": "/jf"}}, "state.json: the record of BaseUrl is {'set': '/jf'}; expected original and set"),
        ({"KnownProxies": {"original": [], "added": "a"}},
         "state.json: the record of KnownProxies is {'original': [], 'added': 'a'}; expected original, added and removed lists"),
        ({"CertificatePassword": {"original_empty": "yes"}},
         "state.json: the record of CertificatePassword is not valid; expected original_empty true or false"),
    ],
)
def test_validate_entries_names_what_is_wrong(entries, message):
    kinds = {"BaseUrl": "scalar", "KnownProxies": "list", "CertificatePassword": "secret"}
    with pytest.raises(RecordError) as info:
        validate_entries(entries, kinds, "state.json")
    assert str(info.value) == message + "; repair or remove the record and run again."
