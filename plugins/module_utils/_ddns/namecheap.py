# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Namecheap dynamic DNS: GET <base_url>/update?host=<sub|@>&domain=<zone>&password=<ddns password>&ip=<v4>.

Answer: XML <interface-response> with <ErrCount>; success is ErrCount 0. Errors are in
<errors><Err1>...</Err1></errors> (for example "Passwords do not match"). The XML
declaration often claims utf-16 while the bytes are ASCII, so the parser ignores it.
Only A records: Namecheap's dynamic DNS has no IPv6. The password is a query parameter;
URLs are never quoted in messages. No read call: the current value is read by DNS.
No delete: the dynamic DNS interface only sets the address of a host that exists; removal
sends nothing and says the record stays.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from ansible_collections.homelab.jellyfin_remote.plugins.module_utils._ddns.base import (
    HINTS,
    DdnsError,
    UpdateResult,
    short,
)
from ansible_collections.homelab.jellyfin_remote.plugins.module_utils._ddns.httpclient import http_status_error
from ansible_collections.homelab.jellyfin_remote.plugins.module_utils._ddns.provider import (
    Provider,
    register,
)

_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>", re.IGNORECASE)


def parse_answer(text):
    """(err_count, [error texts], ip or None) from Namecheap's XML; ValueError if not XML."""
    text = _DECLARATION.sub("", text, count=1).strip()
    root = ET.fromstring(text)
    if root.tag.lower() != "interface-response":
        raise ValueError("root element is %s" % root.tag)

    def child(name):
        for element in root:
            if element.tag.lower() == name.lower():
                return element
        return None

    count_element = child("ErrCount")
    if count_element is None or not (count_element.text or "").strip().isdigit():
        raise ValueError("no ErrCount")
    errors_element = child("errors")
    errors = [(e.text or "").strip() for e in errors_element] if errors_element is not None else []
    ip_element = child("IP")
    return int(count_element.text.strip()), [e for e in errors if e], (ip_element.text.strip() if ip_element is not None and ip_element.text else None)


@register
class Namecheap(Provider):
    name = "namecheap"
    default_base_url = "https://dynamicdns.park-your-domain.com"
    supported_types = ("A",)
    needs_zone = True
    can_delete = False
    cannot_delete = (
        "has no delete: its dynamic DNS interface (/update) can only set the address of a host; "
        "remove the record in the provider's control panel"
    )

    def check_settings(self):
        super().check_settings()
        if not self.settings.password:
            raise DdnsError(
                "config", "provider namecheap needs password (the Dynamic DNS password of the domain, not the account password); set password"
            )

    def update(self, record_type, address):
        params = {
            "host": self.relative_name or "@",
            "domain": self.settings.zone,
            "password": self.settings.password,
            "ip": address,
        }
        response = self.http.request("GET", self.base_url + "/update", "updates", params=params)
        error = http_status_error(response, self.where, self.redact)
        if error is not None:
            raise error
        try:
            count, errors, _ip = parse_answer(response.text)
        except (ValueError, ET.ParseError):
            raise DdnsError(
                "protocol", "%s gave an answer that is not Namecheap's XML: %r; %s" % (self.where, short(self.redact(response.text), 80), HINTS["protocol"])
            ) from None
        if count == 0:
            return UpdateResult((record_type,), "ErrCount 0")
        said = "; ".join(self.redact(e) for e in errors) or "no error text"
        lowered = said.lower()
        if "password" in lowered:
            kind = "auth"
            hint = "check password (the domain's Dynamic DNS password)"
        elif "not found" in lowered or "not active" in lowered or "invalid domain" in lowered or "no records" in lowered:
            kind = "nohost"
            hint = HINTS["nohost"] + " and Dynamic DNS must be enabled for the domain"
        else:
            kind = "protocol"
            hint = HINTS["protocol"]
        raise DdnsError(kind, "%s answered ErrCount %d (%s); %s" % (self.where, count, short(said), hint))
