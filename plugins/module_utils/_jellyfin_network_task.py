# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the jellyfin_network module does with its options, as plain functions.

Plain Python, no AnsibleModule: main() builds the module, calls ensure() with the options and
the three things only AnsibleModule can do (warn, read a symbolic mode, set the SELinux context
and chattr attributes), and turns the result into exit_json and a TaskError into fail_json.
The network.xml model, the record and the attribute helpers are in _jellyfin_network.

The order is the module's contract: every check that can stop the task (options, version,
record, the file, owner/group/mode) comes before the first write; setting writes the record
first (an interrupted run still knows the originals), putting back writes it last (an
interrupted run can put back again).
"""

from __future__ import annotations

import os

from ansible_collections.homelab.jellyfin_remote.plugins.module_utils import _atomic_file, _host_record
from ansible_collections.homelab.jellyfin_remote.plugins.module_utils._jellyfin_network import (
    LIST_OPTIONS,
    OPTION_ELEMENTS,
    SECURITY_FIXES,
    SECURITY_FLOOR,
    NEW_FILE_MODE,
    UPNP_REMOVED_IN,
    NetworkFileError,
    NetworkXml,
    NetworkXmlError,
    RecordError,
    file_diff,
    plan_settings,
    read_network_xml,
    recorded_entries,
    result_values,
    store_record,
)
from ansible_collections.homelab.jellyfin_remote.plugins.module_utils._validate import (
    ValidationError,
    parse_version,
    validate_base_url,
    validate_ip,
    validate_ip_network_or_hostname,
    validate_ip_or_network,
    validate_port,
)

LIST_VALIDATORS = {
    "known_proxies": validate_ip_network_or_hostname,
    "local_network_subnets": validate_ip_or_network,
    "local_network_addresses": validate_ip,
    "remote_ip_filter": validate_ip_or_network,
}
PORT_OPTIONS = ("internal_http_port", "internal_https_port", "public_http_port", "public_https_port")
BOOL_OPTIONS = ("enable_https", "require_https", "enable_remote_access", "enable_ipv4", "enable_ipv6", "auto_discovery", "enable_upnp")


class TaskError(Exception):
    """The task cannot go on; str() is the whole fail_json message (never a secret)."""


def desired_settings(params):
    """Validate the options; return (scalars, lists) keyed by element name."""
    scalars, lists = {}, {}
    for option in LIST_OPTIONS:
        if params.get(option) is not None:
            validator = LIST_VALIDATORS[option]
            lists[OPTION_ELEMENTS[option]] = [validator(option, entry) for entry in params[option]]
    for option in PORT_OPTIONS:
        if params.get(option) is not None:
            scalars[OPTION_ELEMENTS[option]] = validate_port(option, params[option])
    for option in BOOL_OPTIONS:
        if params.get(option) is not None:
            scalars[OPTION_ELEMENTS[option]] = bool(params[option])
    if params.get("base_url") is not None:
        scalars["BaseUrl"] = validate_base_url("base_url", params["base_url"])
    if params.get("certificate_path") is not None:
        scalars["CertificatePath"] = params["certificate_path"]
    if params.get("certificate_password") is not None:
        scalars["CertificatePassword"] = params["certificate_password"]
    if params.get("remote_ip_filter_mode") is not None:
        scalars["IsRemoteIPFilterBlacklist"] = params["remote_ip_filter_mode"] == "deny"
    return scalars, lists


def version_text(version):
    return ".".join(str(part) for part in version)


def check_version(jellyfin_version, enable_upnp, warn):
    """The server version (a tuple or None); refuses enable_upnp where Jellyfin has no UPnP and
    warns below the security floor."""
    try:
        version = parse_version("jellyfin_version", jellyfin_version) if jellyfin_version else None
    except ValidationError as exc:
        raise TaskError(str(exc)) from None
    if enable_upnp is not None and version is None:
        raise TaskError(
            "enable_upnp: needs jellyfin_version: expected the server version, for example 10.10.7. "
            "Give jellyfin_version (UPnP exists only before 10.11.0)."
        )
    if enable_upnp is not None and version >= UPNP_REMOVED_IN:
        raise TaskError(
            "enable_upnp: Jellyfin %s has no UPnP setting (EnableUPnP is obsolete since 10.11.0 and ignored): "
            "expected enable_upnp only with jellyfin_version older than 10.11.0. Remove enable_upnp and forward "
            "the port on the router instead." % jellyfin_version
        )
    if version is not None and version < SECURITY_FLOOR:
        warn(
            "Jellyfin %s is older than %s, which fixes %s. Update the server before it is exposed to the internet."
            % (jellyfin_version, version_text(SECURITY_FLOOR), SECURITY_FIXES)
        )
    return version


def resolve_mode(mode, current, symbolic_mode):
    """The mode option as a number: an int, an octal string, or a symbolic mode (u=rw,g=r) that
    symbolic_mode(current_mode, text) turns into one; None when not given."""
    if mode is None:
        return None
    if isinstance(mode, int):
        return mode
    try:
        return int(str(mode), 8)
    except ValueError:
        pass
    try:
        if not isinstance(mode, str):
            raise ValueError("a mode is a string or a number, got %s" % type(mode).__name__)
        return symbolic_mode(current or 0, mode)
    except ValueError as exc:
        raise TaskError(
            "mode: %r is not valid: expected an octal mode such as '0640' or a symbolic one such as u=rw,g=r. %s"
            % (mode, exc)
        ) from None


def resolve_ids(owner, group):
    """(uid, gid) of the owner and group options, each None when not given."""
    try:
        return _atomic_file.resolve_uid(owner), _atomic_file.resolve_gid(group)
    except _atomic_file.FileAttributeError as exc:
        raise TaskError(str(exc)) from None


def write_record(record_path, sections, path, entries, check_mode):
    """Store path's entries in the host record (or drop them); True when the record changed."""
    try:
        return store_record(record_path, NetworkXml, sections, path, entries, check_mode)
    except _host_record.HostRecordError as exc:
        raise TaskError("record_path: %s." % exc) from None


def _unchanged(path):
    return dict(changed=False, path=path, created=False, changed_settings=[], network={}, restored=[], recorded={})


def ensure(params, symbolic_mode, fs_attributes, check_mode=False, diff=False, warn=None):
    """Bring network.xml (and its record) to params; return the module's result.

    params: the module's options (one missing counts as not given, record_path and list_mode
    as their defaults). symbolic_mode(current_mode, text) returns the number of a symbolic
    mode such as u=rw,g=r or raises ValueError. fs_attributes(mode, uid, gid, changed) brings
    the file's owner, group, mode and its other file attributes (SELinux context, chattr) to
    the options, as the module's file options do, and returns whether anything differed: it
    runs after a write (changed True; owner and mode are already right then), and alone when
    the content stays. warn(text) passes a warning on. Raises TaskError, whose text is the
    message for fail_json.
    """
    warn = warn or (lambda text: None)
    path, record_path = params["path"], params.get("record_path", _host_record.DEFAULT_PATH)
    absent = params.get("state") == "absent"
    restore_options = params.get("restore") or []

    try:
        scalars, lists = desired_settings(params)
    except ValidationError as exc:
        raise TaskError(str(exc)) from None
    if absent and (scalars or lists or restore_options):
        given = sorted(option for option, name in OPTION_ELEMENTS.items() if name in scalars or name in lists)
        raise TaskError(
            "state: absent puts back every recorded setting and takes no settings and no restore, but got %s. "
            "Remove them, or use state present with restore to put back some settings and set others."
            % ", ".join(given + (["restore"] if restore_options else []))
        )
    version = check_version(params.get("jellyfin_version"), params.get("enable_upnp"), warn)

    try:
        sections = _host_record.read(record_path)
        entries = recorded_entries(sections, path, record_path)
    except (_host_record.HostRecordError, RecordError) as exc:
        raise TaskError("record_path: %s" % exc) from None
    if absent and not os.path.exists(path):
        # Nothing recorded (never set up), or network.xml went with Jellyfin: nothing to put back.
        if entries:
            warn("%s does not exist: the recorded settings (%s) cannot be put back; their record is dropped."
                 % (path, ", ".join(sorted(entries))))
        return dict(_unchanged(path), changed=write_record(record_path, sections, path, {}, check_mode))
    if absent and not entries:
        # Nothing this collection changed is recorded for this file: nothing to put back.
        return _unchanged(path)

    try:
        found = read_network_xml(path, version)
    except NetworkFileError as exc:
        raise TaskError(str(exc)) from None
    for warning in found.warnings:
        warn(warning)
    data, document, created = found.data, found.document, found.created

    old_password = document.value("CertificatePassword")
    restore = set(NetworkXml.ORDER) if absent else {OPTION_ELEMENTS[option] for option in restore_options}
    try:
        changed_elements, restorations = plan_settings(
            document, entries, restore, scalars, lists, params.get("list_mode", "present")
        )
    except NetworkXmlError as exc:
        raise TaskError("path: %s cannot be used: %s." % (path, exc)) from None
    for restoration in restorations:
        if restoration.warning(path):
            warn(restoration.warning(path))
    content_changed = created or bool(changed_elements)
    new_data = document.to_bytes() if content_changed else data

    # Attributes: keep an existing file's, give a new one 0640 and its directory's owner.
    current_mode, current_uid, current_gid = _atomic_file.current_attributes(path, created)
    wanted = (resolve_mode(params.get("mode"), current_mode, symbolic_mode),) + resolve_ids(
        params.get("owner"), params.get("group")
    )
    mode, uid, gid = _atomic_file.target_attributes(created, (current_mode, current_uid, current_gid), wanted, NEW_FILE_MODE)

    record_changed = False if absent else write_record(record_path, sections, path, entries, check_mode)
    changed = False
    if content_changed:
        changed = True
        if not check_mode:
            try:
                _atomic_file.write_atomic(path, new_data, mode=mode, uid=uid, gid=gid)
            except OSError as exc:
                raise TaskError(
                    "path: cannot write %s: %s. Check the directory's permissions and free space." % (path, exc.strerror or exc)
                ) from None
            # SELinux context and chattr attributes, when given; owner and mode are already right.
            fs_attributes(mode, uid, gid, True)
    else:
        changed = fs_attributes(mode, uid, gid, False)
    if absent:
        record_changed = write_record(record_path, sections, path, {}, check_mode)

    result = dict(changed=changed or record_changed, path=path, created=created, changed_settings=changed_elements,
                  network=result_values(document), restored=[restoration.result() for restoration in restorations],
                  recorded={NetworkXml.RECORD_KEYS[name]: entry for name, entry in entries.items()})
    if diff:
        secrets = [old_password, document.value("CertificatePassword"), params.get("certificate_password")]
        result["diff"] = file_diff(path, created, data, new_data, content_changed, secrets)
    return result
