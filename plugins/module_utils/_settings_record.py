# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the collection changed in a settings file, so that it can be put back.

Plain Python, no AnsibleModule. Used by the modules that edit Jellyfin's XML settings files
(jellyfin_network for network.xml); the record itself lives in the host record
(_host_record), one entry per setting the collection changed:

- scalar: {"original": <the owner's value before the collection first changed it>,
  "set": <what the collection set last>}.
- list: {"original": [...], "added": [entries the collection added],
  "removed": [entries of the owner's the collection removed]}; entries compared by a key
  (canonical form) the caller gives.
- secret: {"original_empty": true|false}. A secret's value (or any digest of it) is never
  recorded: the record is read back to the controller (host_record_info) and may be shown.

Rules:
- The first change records the original; later changes keep it and update what was set,
  whatever the owner did in between (an original is never a value the collection set).
- A setting changed back to its original drops its entry; a list whose additions and
  removals all went drops its entry.
- Restoring: a scalar still at the value the collection set goes back to the original; one
  the owner changed since stays as the owner set it (KEPT). A list loses the entries the
  collection added and gets back the owner's entries it removed; every other entry (the
  owner's, also ones added later) stays. A secret goes back to empty when the owner had none;
  an owner's secret cannot be put back (UNKNOWN).
"""

from __future__ import annotations

import copy

KINDS = ("scalar", "list", "secret")

# What restore_value found.
RESTORED = "restored"  # the value to write differs from the current one
UNCHANGED = "unchanged"  # the current value already is the original
KEPT = "kept"  # the owner changed it after the collection did: left as the owner set it
UNKNOWN = "unknown"  # a secret of the owner's: never recorded, cannot be put back


class RecordError(ValueError):
    """The record read back cannot be used; the message names the file and what to do."""


def _identity(entry):
    return entry


def _keys(entries, key):
    return [key(entry) for entry in entries]


def _shift(items, unchanged, gained, lost, key):
    """For each entry of items whose key is not in unchanged: it cancels its match in lost,
    or else joins gained (both lists changed in place)."""
    for item in items:
        k = key(item)
        if k in unchanged or k in _keys(gained, key):
            continue
        if k in _keys(lost, key):
            lost[:] = [old for old in lost if key(old) != k]
        else:
            gained.append(item)


def note_change(entries, name, kind, before, after, key=_identity):
    """Update entries (setting name -> entry, changed in place) for a change the collection
    made to setting name, from before to after."""
    entry = entries.get(name)
    if kind == "secret":
        if before == after:
            return
        if entry is None:
            entries[name] = {"original_empty": not before}
        elif entry["original_empty"] and not after:
            entries.pop(name, None)
        return
    if kind == "list":
        before_keys, after_keys = set(_keys(before, key)), set(_keys(after, key))
        if before_keys == after_keys:
            return
        if entry is None:
            entry = {"original": list(before), "added": [], "removed": []}
        added, removed = list(entry["added"]), list(entry["removed"])
        _shift(after, before_keys, added, removed, key)
        _shift(before, after_keys, removed, added, key)
        if added or removed:
            entries[name] = {"original": entry["original"], "added": added, "removed": removed}
        else:
            entries.pop(name, None)
        return
    if before == after:
        return
    original = before if entry is None else entry["original"]
    if after == original:
        entries.pop(name, None)
    else:
        entries[name] = {"original": original, "set": after}


def restore_value(entry, kind, current, key=_identity):
    """(value, outcome): the value the setting gets back and what was found (RESTORED,
    UNCHANGED, KEPT, UNKNOWN); for KEPT and UNKNOWN the value is the current one."""
    if kind == "secret":
        if not entry["original_empty"]:
            return current, UNKNOWN
        return "", (RESTORED if current else UNCHANGED)
    if kind == "list":
        drop = set(_keys(entry["added"], key))
        value = [item for item in current if key(item) not in drop]
        present = set(_keys(value, key))
        for item in entry["removed"]:
            if key(item) not in present:
                present.add(key(item))
                value.append(item)
        return value, (RESTORED if value != list(current) else UNCHANGED)
    if current == entry["original"]:
        return current, UNCHANGED
    if current == entry["set"]:
        return entry["original"], RESTORED
    return current, KEPT


def _fail(where, text):
    raise RecordError("%s: %s; repair or remove the record and run again." % (where, text))


def validate_entries(entries, kinds, where):
    """entries as read back from the record, checked against kinds (setting name -> kind);
    returns a deep copy. Raises RecordError naming where (the record's path)."""
    if not isinstance(entries, dict):
        _fail(where, "the record of settings is a %s; expected a mapping of setting names" % type(entries).__name__)
    for name, entry in entries.items():
        if name not in kinds:
            _fail(where, "the record names setting %r, which is not one this module manages" % (name,))
        kind = kinds[name]
        if kind == "secret":
            if not isinstance(entry, dict) or set(entry) != {"original_empty"} or not isinstance(entry["original_empty"], bool):
                _fail(where, "the record of %s is not valid; expected original_empty true or false" % name)
        elif kind == "list":
            if (not isinstance(entry, dict) or set(entry) != {"original", "added", "removed"}
                    or not all(isinstance(entry[part], list) for part in entry)):
                _fail(where, "the record of %s is %r; expected original, added and removed lists" % (name, entry))
        elif not isinstance(entry, dict) or set(entry) != {"original", "set"}:
            _fail(where, "the record of %s is %r; expected original and set" % (name, entry))
    return copy.deepcopy(entries)
