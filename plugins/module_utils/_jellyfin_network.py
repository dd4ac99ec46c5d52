# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Jellyfin's network.xml: parse, change settings, write it back as Jellyfin would.

Plain Python, no AnsibleModule. The module jellyfin_network drives it.

What Jellyfin does, and what this copies (read in jellyfin/jellyfin 10.9 to 10.11 and main):
- MediaBrowser.Common/Net/NetworkConfiguration.cs: the element set, their defaults and their
  order (XmlSerializer writes properties in declaration order). EnableUPnP carries
  [Obsolete] from 10.11.0; XmlSerializer treats an obsolete member like [XmlIgnore], so
  10.11 neither reads nor writes it.
- Emby.Server.Implementations/Serialization/MyXmlSerializer.cs: a StreamWriter with no
  encoding given (UTF-8 without BOM) under an XmlTextWriter with Formatting.Indented
  (two spaces, Environment.NewLine, so "\\n" on Linux). The result is
  '<?xml version="1.0" encoding="utf-8"?>', a newline, the root with xmlns:xsi and xmlns:xsd,
  empty elements as '<Name />', string arrays as '<Name><string>v</string></Name>' and no
  newline after the closing root tag.
- BaseUrl setter: blank -> "", a leading "/" added, one trailing "/" removed.

The serializer writes text and whitespace as parsed and keeps the BOM, declaration, newline
style, the text around the root, namespace declarations, attributes, comments and every element
it does not manage, so a file Jellyfin wrote round-trips byte for byte:
serialize(parse(data)) == data. Inserted or rewritten elements get the file's indentation unit
(Jellyfin's two spaces for a new file) at Jellyfin's canonical position.
"""

from __future__ import annotations

import codecs
import ipaddress
import os
import re
import xml.etree.ElementTree as ET

from ansible_collections.homelab.jellyfin_remote.plugins.module_utils import _host_record
from ansible_collections.homelab.jellyfin_remote.plugins.module_utils._settings_record import (
    KEPT,
    RESTORED,
    UNKNOWN,
    RecordError,
    note_change,
    restore_value,
    validate_entries,
)

MASK = "********"
ROOT = "NetworkConfiguration"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
XSD = "http://www.w3.org/2001/XMLSchema"
DECLARATION = '<?xml version="1.0" encoding="utf-8"?>'

UPNP_REMOVED_IN = (10, 11, 0)
# The oldest Jellyfin this collection puts on the internet without an explicit acknowledgement
# (jellyfin_remote_accept_vulnerable), and the advisories fixed up to it. The one place for both.
SECURITY_FLOOR = (10, 11, 10)
SECURITY_FIXES = (
    "CVE-2026-35031 and CVE-2026-35033 (fixed in 10.11.7), GHSA-f47c-m7gr-q92j, GHSA-jg92-mrxq-vv75 "
    "and GHSA-wwwm-px48-fpvq (fixed in 10.11.10)"
)


class Setting:
    """One element of network.xml: name, kind (str, baseurl, bool, int, list) and default."""

    __slots__ = ("name", "kind", "default")

    def __init__(self, name, kind, default):
        self.name = name
        self.kind = kind
        self.default = default


# Property declaration order of NetworkConfiguration.cs = element order in the file.
SETTINGS = (
    Setting("BaseUrl", "baseurl", ""),
    Setting("EnableHttps", "bool", False),
    Setting("RequireHttps", "bool", False),
    Setting("CertificatePath", "str", ""),
    Setting("CertificatePassword", "str", ""),
    Setting("InternalHttpPort", "int", 8096),
    Setting("InternalHttpsPort", "int", 8920),
    Setting("PublicHttpPort", "int", 8096),
    Setting("PublicHttpsPort", "int", 8920),
    Setting("AutoDiscovery", "bool", True),
    Setting("EnableUPnP", "bool", False),
    Setting("EnableIPv4", "bool", True),
    Setting("EnableIPv6", "bool", False),
    Setting("EnableRemoteAccess", "bool", True),
    Setting("LocalNetworkSubnets", "list", ()),
    Setting("LocalNetworkAddresses", "list", ()),
    Setting("KnownProxies", "list", ()),
    Setting("IgnoreVirtualInterfaces", "bool", True),
    Setting("VirtualInterfaceNames", "list", ("veth",)),
    Setting("EnablePublishedServerUriByRequest", "bool", False),
    Setting("PublishedServerUriBySubnet", "list", ()),
    Setting("RemoteIPFilter", "list", ()),
    Setting("IsRemoteIPFilterBlacklist", "bool", False),
)
SETTING = {s.name: s for s in SETTINGS}
ORDER = tuple(s.name for s in SETTINGS)

# Names from before 10.7, read only by Jellyfin's old migration; ignored today.
OBSOLETE_ELEMENTS = ("PublicPort", "HttpServerPortNumber", "HttpsPortNumber", "EnableIPV6", "UPnPCreateHttpPortMap")

# Module option -> element. remote_ip_filter_mode maps allow/deny onto IsRemoteIPFilterBlacklist.
OPTION_ELEMENTS = {
    "base_url": "BaseUrl",
    "enable_https": "EnableHttps",
    "require_https": "RequireHttps",
    "certificate_path": "CertificatePath",
    "certificate_password": "CertificatePassword",
    "internal_http_port": "InternalHttpPort",
    "internal_https_port": "InternalHttpsPort",
    "public_http_port": "PublicHttpPort",
    "public_https_port": "PublicHttpsPort",
    "auto_discovery": "AutoDiscovery",
    "enable_upnp": "EnableUPnP",
    "enable_ipv4": "EnableIPv4",
    "enable_ipv6": "EnableIPv6",
    "enable_remote_access": "EnableRemoteAccess",
    "local_network_subnets": "LocalNetworkSubnets",
    "local_network_addresses": "LocalNetworkAddresses",
    "known_proxies": "KnownProxies",
    "remote_ip_filter": "RemoteIPFilter",
    "remote_ip_filter_mode": "IsRemoteIPFilterBlacklist",
}
LIST_OPTIONS = ("local_network_subnets", "local_network_addresses", "known_proxies", "remote_ip_filter")
LIST_MODES = ("present", "absent", "exact")


# What Jellyfin 10.11 does with a value it cannot convert (BaseConfigurationManager.LoadConfiguration):
# it logs an error and runs on the defaults for EVERY setting; /health stays green.
_DISCARDED = (
    ". Jellyfin cannot read it either: it would ignore the whole file and run on its defaults "
    "(KnownProxies, LocalNetworkSubnets, ports and HTTPS lost)"
)


class NetworkXmlError(Exception):
    """network.xml cannot be read or holds a value Jellyfin could not read either."""


def normalize_base_url(value):
    """BaseUrl as Jellyfin's property setter stores it."""
    if value is None or not value.strip():
        return ""
    if not value.startswith("/"):
        value = "/" + value
    if value.endswith("/"):
        value = value[:-1]
    return value


def canonical_entry(text):
    """Comparison key of a list entry: IPv6 compressed, networks normalized, names lower case."""
    text = (text or "").strip()
    for parse in (ipaddress.ip_address, ipaddress.ip_network, ipaddress.ip_interface):
        try:
            return parse(text).compressed
        except ValueError:
            continue
    text = text.lower()
    return text[:-1] if text.endswith(".") and len(text) > 1 else text


def merge_list(current, desired, mode):
    """New content of a list element.

    present: current entries kept as they are, missing desired ones appended.
    absent: current entries equal to a desired one removed.
    exact: the desired entries in their order, without duplicates; an entry already in the
    file keeps its spelling there.
    Entries are compared by canonical_entry.
    """
    current = list(current)
    keys = [canonical_entry(entry) for entry in current]
    if mode == "present":
        result, seen = list(current), set(keys)
        for entry in desired:
            key = canonical_entry(entry)
            if key not in seen:
                seen.add(key)
                result.append(entry)
        return result
    if mode == "absent":
        drop = {canonical_entry(entry) for entry in desired}
        return [entry for entry, key in zip(current, keys) if key not in drop]
    if mode == "exact":
        spelled = {}
        for entry, key in zip(current, keys):
            spelled.setdefault(key, entry)
        result, seen = [], set()
        for entry in desired:
            key = canonical_entry(entry)
            if key not in seen:
                seen.add(key)
                result.append(spelled.get(key, entry))
        return result
    raise ValueError("list mode must be one of %s, not %r" % (", ".join(LIST_MODES), mode))


class Style:
    """How a file is laid out, so that writing it back changes only what must change."""

    __slots__ = ("bom", "declaration", "prolog", "epilog", "newline", "indent", "pretty")

    def __init__(self, bom=False, declaration=DECLARATION, prolog="\n", epilog="", newline="\n", indent="  ", pretty=True):
        self.bom = bom
        self.declaration = declaration
        self.prolog = prolog
        self.epilog = epilog
        self.newline = newline
        self.indent = indent
        self.pretty = pretty


class _Target:
    """Tree builder that also records namespace declarations per element, keeps comments
    and processing instructions, and refuses a DOCTYPE."""

    def __init__(self):
        self._builder = ET.TreeBuilder(insert_comments=True, insert_pis=True)
        self._pending = []
        self.namespaces = {}

    def start_ns(self, prefix, uri):
        self._pending.append((prefix or "", uri))

    def start(self, tag, attrs):
        element = self._builder.start(tag, attrs)
        if self._pending:
            self.namespaces[element] = self._pending
            self._pending = []
        return element

    def end(self, tag):
        return self._builder.end(tag)

    def data(self, data):
        self._builder.data(data)

    def comment(self, text):
        return self._builder.comment(text)

    def pi(self, target, text=None):
        return self._builder.pi(target, text)

    def doctype(self, name, pubid, system):
        raise NetworkXmlError("a DOCTYPE is not allowed in network.xml")

    def close(self):
        return self._builder.close()


_DECLARATION_RE = re.compile(r"<\?xml\s[^>]*?\?>")
_ENCODING_RE = re.compile(r"""encoding\s*=\s*["']([^"']*)["']""")
_MISC_RE = re.compile(r"(?:\s+|<!--.*?-->|<\?.*?\?>)*", re.S)
_PASSWORD_RE = re.compile(r"(<CertificatePassword\b[^>]*?(?<!/)>)(.*?)(</CertificatePassword\s*>)", re.S)


def _split_epilog(text):
    """Return (body, epilog): epilog is the whitespace, comments and PIs after the root."""
    end = len(text)
    while True:
        stripped = text[:end].rstrip()
        if stripped.endswith("-->"):
            start = stripped.rfind("<!--")
        elif stripped.endswith("?>"):
            start = stripped.rfind("<?")
        else:
            return text[: len(stripped)], text[len(stripped):]
        if start <= 0:
            return text[: len(stripped)], text[len(stripped):]
        end = start


def _escape_text(text):
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _escape_attr(text):
    return (
        _escape_text(text)
        .replace('"', "&quot;")
        .replace("\n", "&#xA;")
        .replace("\r", "&#xD;")
        .replace("\t", "&#x9;")
    )


def _format(setting, value):
    if setting.kind == "bool":
        return "true" if value else "false"
    if setting.kind == "int":
        return str(int(value))
    return value


class JellyfinXml:
    """A parsed settings file of Jellyfin (an XmlSerializer document). Subclasses name the file
    (FILE, ROOT), the settings this collection manages in it (SETTINGS, in declaration order),
    the module option of each (OPTIONS: element -> option), old names Jellyfin ignores (OBSOLETE),
    secrets (SECRETS), the host record's section (RECORD_SECTION) and what Jellyfin does with a
    value it cannot read (DISCARDED). Every other element is kept as it is."""

    FILE = ROOT = DISCARDED = RECORD_SECTION = ""
    SETTINGS = ()
    OBSOLETE = ()
    OPTIONS = {}
    SECRETS = ()

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls.SETTING = {s.name: s for s in cls.SETTINGS}
        cls.ORDER = tuple(s.name for s in cls.SETTINGS)
        cls.RECORD_KINDS = {
            s.name: "secret" if s.name in cls.SECRETS else ("list" if s.kind == "list" else "scalar") for s in cls.SETTINGS
        }
        # The host record refuses keys that name a secret: a secret's entry (which says only
        # whether the owner had one) is kept under another name.
        cls.RECORD_KEYS = {name: name + "Presence" if kind == "secret" else name for name, kind in cls.RECORD_KINDS.items()}
        cls.RECORD_NAMES = {key: name for name, key in cls.RECORD_KEYS.items()}

    def __init__(self, root, style, namespaces=None):
        self.root = root
        self.style = style
        self.namespaces = namespaces if namespaces is not None else {}

    # ------------------------------------------------------------------ reading
    @classmethod
    def parse(cls, data):
        """Parse bytes. Raises NetworkXmlError with the parser's message."""
        if not isinstance(data, bytes):
            raise TypeError("%s.parse takes bytes" % cls.__name__)
        bom = data.startswith(codecs.BOM_UTF8)
        body = data[len(codecs.BOM_UTF8):] if bom else data
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise NetworkXmlError("the file is not UTF-8 text (%s)" % exc) from None
        if "<!DOCTYPE" in text or "<!ENTITY" in text:
            raise NetworkXmlError("DOCTYPE and entity declarations are refused; Jellyfin never writes them")
        declaration = None
        position = 0
        match = _DECLARATION_RE.match(text)
        if match:
            declaration = match.group(0)
            position = match.end()
            encoding = _ENCODING_RE.search(declaration)
            if encoding and encoding.group(1).lower().replace("-", "") != "utf8":
                raise NetworkXmlError(
                    "the declaration names encoding %r; only utf-8 is supported (Jellyfin writes utf-8)"
                    % encoding.group(1)
                )
        prolog = _MISC_RE.match(text, position).group(0)
        _body, epilog = _split_epilog(text)

        target = _Target()
        parser = ET.XMLParser(target=target)
        try:
            parser.feed(body)
            root = parser.close()
        except ET.ParseError as exc:
            raise NetworkXmlError("not well-formed XML: %s" % exc) from None
        if root.tag != cls.ROOT:
            raise NetworkXmlError(
                "the root element is <%s>, expected <%s>; this is not Jellyfin's %s" % (root.tag, cls.ROOT, cls.FILE)
            )

        newline = "\r\n" if "\r\n" in text else "\n"
        children = len(root) > 0
        pretty = (not children) or "\n" in (root.text or "")
        indent = "  "
        if children and pretty:
            indent = (root.text or "").rsplit("\n", 1)[-1]
            if indent.strip():
                indent = ""
        style = Style(bom, declaration, prolog, epilog, newline, indent, pretty)
        document = cls(root, style, target.namespaces)
        for setting in cls.SETTINGS:
            document.value(setting.name)  # reject values Jellyfin could not read
        return document

    def _elements(self, name):
        return [child for child in self.root if child.tag == name]

    def element(self, name):
        """The element for a setting, None when absent; refuses duplicates."""
        found = self._elements(name)
        if len(found) > 1:
            raise NetworkXmlError(
                "<%s> appears %d times; remove the duplicates so that one is left" % (name, len(found))
            )
        return found[0] if found else None

    def has(self, name):
        return self.element(name) is not None

    def value(self, name):
        """The value Jellyfin uses: from the file, or the default when the element is absent."""
        setting = self.SETTING[name]
        element = self.element(name)
        if element is None:
            return list(setting.default) if setting.kind == "list" else setting.default
        if setting.kind == "list":
            return [child.text or "" for child in element if child.tag == "string"]
        text = element.text or ""
        # XmlConvert, as Jellyfin's XmlSerializer reads them: XML white space around the value,
        # booleans true/false/1/0 (case-sensitive), numbers Int32.
        word = text.strip(" \t\n\r")
        if setting.kind == "bool":
            if word in ("true", "1"):
                return True
            if word in ("false", "0"):
                return False
            raise NetworkXmlError("<%s> holds %r; expected true or false (case-sensitive)%s" % (name, text, self.DISCARDED))
        if setting.kind == "int":
            if re.fullmatch(r"[+-]?[0-9]+", word) and -(2**31) <= int(word) < 2**31:
                return int(word)
            raise NetworkXmlError("<%s> holds %r; expected a whole number%s" % (name, text, self.DISCARDED))
        if setting.kind == "baseurl":
            return normalize_base_url(text)
        return text

    def obsolete_elements(self):
        """Old element names present in the file (Jellyfin ignores them)."""
        return [name for name in self.OBSOLETE if self._elements(name)]

    # ------------------------------------------------------------------ changing
    def _insert_index(self, name):
        children = list(self.root)
        position = self.ORDER.index(name)
        for before in reversed(self.ORDER[:position]):
            element = self.element(before)
            if element is not None:
                return children.index(element) + 1
        for after in self.ORDER[position + 1:]:
            element = self.element(after)
            if element is not None:
                return children.index(element)
        return len(children)

    def set_value(self, name, value):
        """Give a setting a value; returns True when the file content had to change.

        An absent element whose default already equals the value is left absent, as
        Jellyfin reads it the same way.
        """
        setting = self.SETTING[name]
        if setting.kind == "list":
            value = list(value)
        elif setting.kind == "baseurl":
            value = normalize_base_url(value)
        if self.value(name) == value:
            return False
        element = self.element(name)
        if element is None:
            element = ET.Element(name)
            self._insert(self._insert_index(name), element)
        if setting.kind == "list":
            children = list(element)
            first = next((i for i, child in enumerate(children) if child.tag == "string"), len(children))
            for child in children:
                if child.tag == "string":
                    element.remove(child)
            for offset, entry in enumerate(value):
                item = ET.Element("string")
                item.text = entry or None
                element.insert(first + offset, item)
            self._layout(element, 1)
        else:
            element.text = _format(setting, value) or None
        return True

    def _break(self, depth):
        """Whitespace before an element at depth, in this file's style."""
        if not self.style.pretty:
            return ""
        return "\n" + self.style.indent * depth

    def _insert(self, index, element):
        """Insert a child of the root, giving it the whitespace its neighbours have."""
        if index > 0:
            previous = self.root[index - 1]
            element.tail, previous.tail = previous.tail, self._break(1)
        else:
            element.tail, self.root.text = self.root.text, self._break(1)
        if not (element.tail or "").strip() and len(self.root) == 0:
            element.tail = self._break(0)
        self.root.insert(index, element)

    def _layout(self, element, depth):
        """Give element's content the file's indentation (new or rewritten elements only)."""
        children = list(element)
        if not children:
            if element.text is not None and not element.text.strip():
                element.text = None
            return
        element.text = self._break(depth + 1)
        for child in children:
            child.tail = self._break(depth + 1)
            self._layout(child, depth + 1)
        children[-1].tail = self._break(depth)

    # ------------------------------------------------------------------ writing
    def to_text(self):
        style = self.style
        out = []
        if style.declaration is not None:
            out.append(style.declaration)
        out.append(style.prolog)
        self._write(out, self.root, {})
        out.append(style.epilog)
        return "".join(out)

    def to_bytes(self):
        data = self.to_text().encode("utf-8")
        return codecs.BOM_UTF8 + data if self.style.bom else data

    def _qname(self, name, scope, declare, attribute=False):
        if not name.startswith("{"):
            return name
        uri, local = name[1:].split("}", 1)
        for prefix, known in reversed(scope):
            if known == uri and (prefix or not attribute):
                return "%s:%s" % (prefix, local) if prefix else local
        prefix = "ns%d" % len(scope)
        scope.append((prefix, uri))
        declare.append((prefix, uri))
        return "%s:%s" % (prefix, local)

    def _write(self, out, element, inherited):
        newline = self.style.newline
        if element.tag is ET.Comment:
            out.append("<!--%s-->" % (element.text or "").replace("\n", newline))
            return
        if element.tag is ET.ProcessingInstruction:
            out.append("<?%s?>" % (element.text or ""))
            return
        declared = list(self.namespaces.get(element, ()))
        scope = list(inherited.get("scope", ())) + declared
        extra = []
        tag = self._qname(element.tag, scope, extra)
        attributes = [(self._qname(key, scope, extra, attribute=True), value) for key, value in element.attrib.items()]
        parts = ["<", tag]
        for prefix, uri in declared + extra:
            parts.append(' xmlns%s="%s"' % (":" + prefix if prefix else "", _escape_attr(uri)))
        for key, value in attributes:
            parts.append(' %s="%s"' % (key, _escape_attr(value)))
        out.append("".join(parts))
        children = list(element)
        text = element.text or ""
        if not children and not text:
            out.append(" />")
            return
        out.append(">" + _escape_text(self._newlines(text)))
        child_scope = {"scope": scope}
        for child in children:
            self._write(out, child, child_scope)
            out.append(_escape_text(self._newlines(child.tail or "")))
        out.append("</%s>" % tag)

    def _newlines(self, text):
        return text.replace("\n", self.style.newline) if self.style.newline != "\n" else text


class NetworkXml(JellyfinXml):
    """A parsed network.xml."""

    FILE = "network.xml"
    ROOT = ROOT
    SETTINGS = SETTINGS
    OBSOLETE = OBSOLETE_ELEMENTS
    OPTIONS = {name: option for option, name in OPTION_ELEMENTS.items()}
    SECRETS = ("CertificatePassword",)
    RECORD_SECTION = "jellyfin_network"
    DISCARDED = _DISCARDED

    @classmethod
    def new(cls, version=None):
        """A file as Jellyfin would create it: every element at its default, in order.
        EnableUPnP only for a known version before 10.11.0."""
        root = ET.Element(cls.ROOT)
        for setting in cls.SETTINGS:
            if setting.name == "EnableUPnP" and (version is None or tuple(version) >= UPNP_REMOVED_IN):
                continue
            element = ET.SubElement(root, setting.name)
            if setting.kind == "list":
                for entry in setting.default:
                    ET.SubElement(element, "string").text = entry
            else:
                element.text = _format(setting, setting.default) or None
        document = cls(root, Style(), {root: [("xsi", XSI), ("xsd", XSD)]})
        document._layout(root, 0)
        return document


def local_url(network):
    """http://HOST:PORT/BASEURL at which Jellyfin answers on its own host, from result_values():
    HOST is 127.0.0.1 unless Jellyfin is bound to specific addresses (LocalNetworkAddresses),
    then the first of them. Raises ValueError when internal_http_port is not a port."""
    try:
        port = int(network.get("internal_http_port") or 8096)
    except (TypeError, ValueError):
        raise ValueError("internal_http_port %r is not a port" % network.get("internal_http_port")) from None
    host = "127.0.0.1"
    for entry in network.get("local_network_addresses") or []:
        try:
            address = ipaddress.ip_address(str(entry))
        except ValueError:
            continue
        if address.is_unspecified:
            break
        host = "[%s]" % address if address.version == 6 else str(address)
        break
    return "http://%s:%d%s" % (host, port, network.get("base_url") or "")


def mask_secrets(text, secrets=()):
    """Replace the content of <CertificatePassword> (and any other trace of the given
    secrets) by MASK, for diffs and messages."""
    text = _PASSWORD_RE.sub(lambda m: m.group(1) + (MASK if m.group(2) else "") + m.group(3), text)
    for secret in secrets:
        if secret:
            for form in (secret, _escape_text(secret), _escape_attr(secret)):
                if form in text:
                    text = text.replace(form, MASK)
    return text


def apply_settings(document, scalars, lists, list_mode):
    """Apply desired values to a NetworkXml.

    scalars: element name -> value; lists: element name -> entries (merged after list_mode).
    Returns the element names whose content changed.
    """
    changed = []
    for name in document.ORDER:
        if name in scalars:
            if document.set_value(name, scalars[name]):
                changed.append(name)
        elif name in lists:
            merged = merge_list(document.value(name), lists[name], list_mode)
            if document.set_value(name, merged):
                changed.append(name)
    return changed


# --------------------------------------------------------------------------------------
# What the collection changed, and putting it back (record kept by _settings_record)
# --------------------------------------------------------------------------------------

def recorded_entries(sections, path, where, schema=None):
    """The entries (element name -> entry) the host record's sections hold for the file at
    path (schema: the document class, NetworkXml by default); {} when none. Raises RecordError
    naming where (the record's path)."""
    schema = schema or NetworkXml
    section = sections.get(schema.RECORD_SECTION)
    if section is None:
        return {}
    files = section.get("files") if isinstance(section, dict) else None
    if not isinstance(files, dict):
        raise RecordError("%s: the section %s has no 'files' mapping; repair or remove the record and run again."
                          % (where, schema.RECORD_SECTION))
    data = files.get(path) or {}
    settings = data.get("settings") if isinstance(data, dict) else None
    if settings is None:
        return {}
    if isinstance(settings, dict):
        settings = {schema.RECORD_NAMES.get(key, key): entry for key, entry in settings.items()}
    return validate_entries(settings, schema.RECORD_KINDS, where)


def record_section(sections, path, entries, schema=None):
    """The section's new data with path's entries (None when no file is left in it)."""
    schema = schema or NetworkXml
    section = sections.get(schema.RECORD_SECTION) or {}
    files = dict(section.get("files") or {})
    if entries:
        files[path] = {"settings": {schema.RECORD_KEYS[name]: entry for name, entry in entries.items()}}
    else:
        files.pop(path, None)
    return {"files": files} if files else None


def snapshot(document):
    """Every managed setting's value as Jellyfin reads it now (element name -> value)."""
    return {name: document.value(name) for name in document.ORDER}


def note_changes(entries, before, document):
    """Record in entries (element name -> entry) the settings whose value changed since the
    snapshot before; returns their names in file order."""
    changed = []
    for name in document.ORDER:
        after = document.value(name)
        if after != before[name]:
            note_change(entries, name, document.RECORD_KINDS[name], before[name], after, key=canonical_entry)
            changed.append(name)
    return changed


class Restoration:
    """One recorded setting put back (or left): element, its kind and option, outcome, values."""

    __slots__ = ("name", "kind", "option", "outcome", "before", "after")

    def __init__(self, document, name, outcome, before):
        self.name = name
        self.kind = document.RECORD_KINDS[name]
        self.option = document.OPTIONS.get(name)
        self.outcome = outcome
        self.before = before
        self.after = document.value(name)

    def shown(self, value):
        return (MASK if value else "") if self.kind == "secret" else value

    def result(self):
        """The module's return value for it (a secret masked)."""
        return dict(setting=self.name, option=self.option, outcome=self.outcome,
                    before=self.shown(self.before), after=self.shown(self.after), text=self.text())

    def text(self):
        """One line for the role's list of what was closed."""
        if self.kind == "list":
            before = {canonical_entry(entry) for entry in self.before}
            after = {canonical_entry(entry) for entry in self.after}
            gone = [entry for entry in self.before if canonical_entry(entry) not in after]
            back = [entry for entry in self.after if canonical_entry(entry) not in before]
            parts = (["removed %s" % ", ".join(gone)] if gone else []) + (["put back %s" % ", ".join(back)] if back else [])
            return "Jellyfin setting %s: %s" % (self.name, "; ".join(parts))
        return "Jellyfin setting %s: back to %r" % (self.name, self.shown(self.after))

    def warning(self, path):
        """The warning for a setting that could not be put back, else None."""
        if self.outcome == KEPT:
            return (
                "%s: %s was changed after this collection set it; it is left as it is now (%r)."
                % (path, self.name, self.before)
            )
        if self.outcome == UNKNOWN:
            return (
                "%s: %s held a password of the owner's before this collection changed it; passwords are never "
                "recorded, so it was left as it is. Set the password of the owner's certificate again if it is used."
                % (path, self.name)
            )
        return None


def restore_settings(document, entries, names):
    """Put the recorded settings among names back to their originals in document and drop
    their entries. Returns a Restoration per recorded setting, in file order."""
    done = []
    for name in document.ORDER:
        if name not in names or name not in entries:
            continue
        entry = entries.pop(name)
        current = document.value(name)
        value, outcome = restore_value(entry, document.RECORD_KINDS[name], current, key=canonical_entry)
        if outcome == RESTORED:
            document.set_value(name, value)
        done.append(Restoration(document, name, outcome, current))
    return done


def result_values(document):
    """The managed settings as the module returns them (snake_case, password masked)."""
    values = {}
    for option, name in OPTION_ELEMENTS.items():
        if option == "remote_ip_filter_mode":
            values[option] = "deny" if document.value(name) else "allow"
        elif option == "certificate_password":
            values[option] = MASK if document.value(name) else ""
        elif option == "enable_upnp":
            values[option] = document.value(name) if document.has(name) else None
        else:
            values[option] = document.value(name)
    return values


# --------------------------------------------------------------------------------------
# The file
# --------------------------------------------------------------------------------------


class NetworkFileError(Exception):
    """network.xml cannot be read, created or used; the message names path and what to do."""


class NetworkFile:
    """network.xml as found: its bytes (None when absent), the document, warnings to give."""

    def __init__(self, data, document, created, warnings):
        self.data = data
        self.document = document
        self.created = created
        self.warnings = warnings


def read_network_xml(path, version):
    """Read and parse path, or start a new document for version when it does not exist."""
    return read_settings_file(path, NetworkXml, version)


def read_settings_file(path, schema, version=None):
    """Read and parse path as a schema (a JellyfinXml class). A missing file starts a new
    document when the schema can make one (new()), else is refused."""
    data = None
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except FileNotFoundError:
        pass
    except (OSError, ValueError) as exc:  # ValueError: a NUL character in the path
        raise NetworkFileError("path: cannot read %s: %s. Give the path of %s, a regular file."
                               % (path, getattr(exc, "strerror", None) or exc, schema.FILE))
    if data is None and not hasattr(schema, "new"):
        raise NetworkFileError(
            "path: %s does not exist. Jellyfin writes %s when it starts; start Jellyfin once (or give the path of "
            "its configuration directory's %s), then run again." % (path, schema.FILE, schema.FILE)
        )
    if data is None:
        parent = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(parent):
            raise NetworkFileError(
                "path: %r cannot be created: its directory %s does not exist. Install Jellyfin first "
                "or give the path of its configuration directory." % (path, parent)
            )
        return NetworkFile(None, schema.new(version), True, [])
    try:
        document = schema.parse(data)
    except NetworkXmlError as exc:
        raise NetworkFileError(
            "path: %s cannot be used: %s. The file was left unchanged; repair it or move it away and run again." % (path, exc)
        ) from None
    warnings = []
    obsolete = document.obsolete_elements()
    if obsolete:
        warnings.append(
            "%s contains %s: names from before Jellyfin 10.7 that Jellyfin ignores. Their values have no effect; "
            "set internal_http_port, public_http_port, internal_https_port, enable_ipv6 instead and remove them."
            % (path, ", ".join(obsolete))
        )
    return NetworkFile(data, document, False, warnings)


def store_record(record_path, schema, sections, path, entries, check_mode):
    """Keep path's entries in the host record (or drop them when there are none); True when the
    record changed. Raises _host_record.HostRecordError."""
    data = record_section(sections, path, entries, schema)
    state = "absent" if data is None else "present"
    return _host_record.update(record_path, schema.RECORD_SECTION, data, state, check_mode)["changed"]


def plan_settings(document, entries, restore, scalars, lists, list_mode):
    """Change document: first put back the recorded settings named in restore (element names),
    then apply scalars and lists; entries (the file's record) follow. Returns (the names whose
    value changed in file order, the Restorations)."""
    before = snapshot(document)
    restorations = restore_settings(document, entries, restore)
    applied = snapshot(document)
    apply_settings(document, scalars, lists, list_mode)
    note_changes(entries, applied, document)
    return [name for name in document.ORDER if document.value(name) != before[name]], restorations


# A new network.xml: Jellyfin's service user reads it through the group.
NEW_FILE_MODE = 0o640


def file_diff(path, created, data, new_data, content_changed, secrets):
    """The diff of network.xml, every known CertificatePassword masked."""
    before = "" if created else mask_secrets(data.decode("utf-8-sig"), secrets)
    after = mask_secrets(new_data.decode("utf-8-sig"), secrets) if content_changed else before
    return dict(before=before, after=after, before_header=path, after_header=path)
