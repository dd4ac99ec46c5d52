#!/usr/bin/python
# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: ddns_update
short_description: Publish this home's public address at a dynamic DNS provider, only when it changed
version_added: 0.1.0
description:
  - Keeps the A and/or AAAA record of O(hostname) at a dynamic DNS provider equal to the given address,
    typically the result of M(homelab.jellyfin_remote.public_ip).
  - Reads the current value first and sends an update only when it differs, as providers ask
    (deSEC's terms allow updates only when something changed; repeated C(nochg) answers get a No-IP
    host blocked). A second run reports no change and sends no update.
  - 'Providers: V(dyndns2) (any dyndns2 server at O(base_url)), V(noip), V(dynu), V(desec) (dyndns2
    presets), V(duckdns), V(cloudflare) (API v4), V(rfc2136) (DNS UPDATE with TSIG), V(porkbun) (JSON API v3)
    and V(namecheap) (dynamic DNS, A records only).'
  - dyndns2, DuckDNS and Namecheap have no read call; for them the current value is read by DNS, from
    O(resolver) or, without it, from the zone's authoritative servers. Cloudflare and Porkbun are read
    through their API, RFC 2136 by a query to O(server).
  - Temporary failures (dyndns2 C(911), HTTP 429, HTTP 5xx, timeouts) are retried up to O(max_retries)
    times, waiting as long as the provider's C(Retry-After) asks but never longer than O(max_retry_wait),
    and never past O(max_retry_seconds) in all.
    Fatal answers (bad credentials, unknown host, C(abuse), C(badagent), C(!donator)) are never retried.
  - With O(state=absent) the record is removed where the provider's API allows it, after a read (a name
    without records is no change). V(cloudflare) deletes each A/AAAA record of the name, V(porkbun) deletes by
    name and type, V(rfc2136) sends a signed update deleting the RRsets, V(duckdns) clears both addresses
    (C(clear=true); DuckDNS cannot delete a name, only empty it). V(dyndns2), V(noip), V(dynu), V(desec)
    and V(namecheap) have no delete in their update protocols; nothing is sent, the record stays, RV(kept)
    says why and a warning asks to remove it in the provider's control panel.
  - No password, token, API key or TSIG secret ever appears in the result, a warning or an error message.
author:
  - jellyfin_remote developers (!UNKNOWN)
options:
  state:
    description:
      - V(present) publishes the address; V(absent) removes the name's A/AAAA records (see the description).
    type: str
    default: present
    choices: [present, absent]
  provider:
    description:
      - The provider, which decides the protocol and the default URL.
    type: str
    required: true
    choices: [dyndns2, noip, dynu, desec, duckdns, cloudflare, rfc2136, porkbun, namecheap]
  hostname:
    description:
      - The fully qualified name to update, such as V(jellyfin.example.org). For DuckDNS give
        V(name.duckdns.org).
    type: str
    required: true
  zone:
    description:
      - The DNS zone or registered domain that holds O(hostname), such as V(example.org).
      - Required for V(cloudflare) (the zone name, or its 32-hex zone id to skip the zone lookup),
        V(porkbun) (the domain), V(namecheap) (the domain) and V(rfc2136) (the zone to update).
    type: str
  record_type:
    description:
      - The one record type to manage. Without O(record_type) and O(record_types), every family that
        has an address (in O(address) or O(public_ip)) is managed.
    type: str
    choices: [A, AAAA]
  record_types:
    description:
      - Several record types to manage, for example V([A, AAAA]). Every type needs an address.
      - With O(state=absent), the types to remove; without O(record_type) and O(record_types), every type
        the provider holds (V(duckdns) clears both together and accepts only both).
    type: list
    elements: str
    choices: [A, AAAA]
  address:
    description:
      - The address(es) to publish, at most one IPv4 and one IPv6 address.
      - One of O(address) and O(public_ip) is required with O(state=present); both are ignored with O(state=absent).
    type: list
    elements: str
  public_ip:
    description:
      - The registered result of M(homelab.jellyfin_remote.public_ip). Its C(ipv4) and C(ipv6) are published.
    type: dict
  username:
    description:
      - The account or host user name for V(dyndns2), V(noip) and V(dynu). For V(desec) it defaults to O(hostname).
    type: str
  password:
    description:
      - The password for V(dyndns2), V(noip) and V(dynu), or the domain's Dynamic DNS password for V(namecheap).
    type: str
  token:
    description:
      - The token for V(desec), V(duckdns) and V(cloudflare) (an API token with Zone.DNS edit permission).
    type: str
  api_key:
    description:
      - The Porkbun API key (C(pk1_...)).
    type: str
  secret_api_key:
    description:
      - The Porkbun secret API key (C(sk1_...)).
    type: str
  tsig_key_name:
    description:
      - The name of the TSIG key for V(rfc2136). Without it the update is sent unsigned.
    type: str
  tsig_key_secret:
    description:
      - The base64 TSIG secret for V(rfc2136).
    type: str
  tsig_algorithm:
    description:
      - The TSIG algorithm for V(rfc2136).
    type: str
    default: hmac-sha256
    choices: [hmac-sha256, hmac-sha384, hmac-sha512, hmac-sha224, hmac-sha1, hmac-md5]
  server:
    description:
      - The primary DNS server of O(zone) for V(rfc2136), as an address or a name.
    type: str
  server_port:
    description:
      - The port of O(server).
    type: int
    default: 53
  base_url:
    description:
      - The provider's URL, to override the default (tests point it at a stand-in).
      - 'Defaults: V(noip) C(https://dynupdate.no-ip.com), V(dynu) C(https://api.dynu.com),
        V(desec) C(https://update.dedyn.io) (C(/nic/update) is appended for these three), V(duckdns)
        C(https://www.duckdns.org), V(namecheap) C(https://dynamicdns.park-your-domain.com),
        V(cloudflare) C(https://api.cloudflare.com/client/v4), V(porkbun) C(https://api.porkbun.com/api/json/v3).'
      - Required for V(dyndns2), for example C(https://members.example.net).
    type: str
  resolver:
    description:
      - The IP address of a DNS server to read the current value from (V(dyndns2), V(noip), V(dynu),
        V(desec), V(duckdns), V(namecheap)). Without it the zone's authoritative servers are asked.
    type: str
  resolver_port:
    description:
      - The port of O(resolver).
    type: int
    default: 53
  validate_certs:
    description:
      - Whether to check TLS certificates.
    type: bool
    default: true
  allow_insecure_http:
    description:
      - Accept a plain C(http://) O(base_url). Credentials and tokens then travel in clear
        text, so this is refused unless set; meant for a test stand-in on a network you control.
    type: bool
    default: false
  user_agent_contact:
    description:
      - An e-mail address for the User-Agent, which then takes the form
        C(homelab.jellyfin_remote ddns_update/<version> <contact>) that No-IP requires of every
        client (it answers C(badagent), "client disabled", otherwise).
      - Required for V(noip); sent to every provider when set.
    type: str
  ca_path:
    description:
      - A PEM file of CA certificates to trust, for example a lab CA.
    type: path
  timeout:
    description:
      - Seconds to wait for each request.
    type: float
    default: 10
  max_retries:
    description:
      - How many times a temporary failure is retried. V(0) never retries.
    type: int
    default: 3
  max_retry_wait:
    description:
      - The longest wait before a retry, in seconds. When the provider asks for a longer wait
        (C(Retry-After), or the 30 minutes dyndns2 asks after C(911)) the task fails at once and says so.
    type: float
    default: 60
  max_retry_seconds:
    description:
      - The longest time the whole task spends on retries, in seconds, counting the failed requests
        and the waits between them. No wait is started that would end later; the task fails and says so.
      - Bounds a run whatever O(max_retries) says. More than 0 and at most V(900) (15 minutes).
    type: float
    default: 120
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Reads the current value, predicts C(changed) and sends no update (with O(state=absent), no delete).
  diff_mode:
    support: full
    details: Shows the addresses before and after (after a removal, V(null)).
  platform:
    support: full
    platforms: posix
requirements:
  - dnspython on the managed host for V(rfc2136) and for reading by DNS.
notes:
  - Reading by DNS right after an update may still see the old address at a caching resolver;
    leave O(resolver) unset (authoritative servers are asked) or point it at the provider's own server.
  - V(desec) always sends both families in one request and sends C(preserve) for a family that is not
    managed, because deSEC deletes the record of a family that gets no value.
seealso:
  - module: homelab.jellyfin_remote.public_ip
"""

EXAMPLES = r"""
- name: Find the public address
  homelab.jellyfin_remote.public_ip:
  register: public

- name: Publish it at DuckDNS
  homelab.jellyfin_remote.ddns_update:
    provider: duckdns
    hostname: myjellyfin.duckdns.org
    token: "{{ vault_duckdns_token }}"
    public_ip: "{{ public }}"

- name: Publish the IPv4 address at No-IP
  homelab.jellyfin_remote.ddns_update:
    provider: noip
    hostname: myjellyfin.ddns.net
    username: "{{ vault_noip_user }}"
    password: "{{ vault_noip_password }}"
    user_agent_contact: admin@example.org
    record_type: A
    public_ip: "{{ public }}"

- name: Publish both families at Cloudflare
  homelab.jellyfin_remote.ddns_update:
    provider: cloudflare
    hostname: jellyfin.example.org
    zone: example.org
    token: "{{ vault_cloudflare_token }}"
    record_types: [A, AAAA]
    public_ip: "{{ public }}"

- name: Update a BIND or Knot primary with TSIG
  homelab.jellyfin_remote.ddns_update:
    provider: rfc2136
    hostname: jellyfin.home.example.org
    zone: home.example.org
    server: 192.0.2.53
    tsig_key_name: jellyfin-ddns
    tsig_key_secret: "{{ vault_tsig_secret }}"
    address: 198.51.100.7

- name: Remove the name from Cloudflare when Jellyfin is no longer reached from outside
  homelab.jellyfin_remote.ddns_update:
    state: absent
    provider: cloudflare
    hostname: jellyfin.example.org
    zone: example.org
    token: "{{ vault_cloudflare_token }}"
  register: removal

- name: Say what happened to the record
  ansible.builtin.debug:
    msg: "{{ removal.summary }}"
"""

RETURN = r"""
changed:
  description: Whether an update or a removal was sent (or, in check mode, would be sent).
  returned: always
  type: bool
provider:
  description: The provider.
  returned: always
  type: str
  sample: duckdns
hostname:
  description: The name updated.
  returned: always
  type: str
  sample: myjellyfin.duckdns.org
previous:
  description: The value read before any update, per record type; V(null) when there was no record.
    Several addresses are joined by commas.
  returned: always
  type: dict
  sample: {A: 203.0.113.9}
current:
  description: The value after the task (in check mode, the predicted value), per record type.
  returned: always
  type: dict
  sample: {A: 198.51.100.7}
answer:
  description: The provider's answer to the update or removal (such as V(good), V(UPDATED), V(NOERROR), V(deleted));
    V(null) when none was sent.
  returned: always
  type: str
  sample: good
requests:
  description: The requests made. C(reads) of the record (HTTP or DNS), C(lookups) (zone id, authoritative servers) and C(updates).
  returned: always
  type: dict
  sample: {reads: 1, lookups: 0, updates: 0}
state:
  description: The O(state) asked for.
  returned: always
  type: str
  sample: absent
deleted:
  description: With O(state=absent), the record types removed (in check mode, that would be removed);
    empty when the name had none or the provider cannot delete.
  returned: when O(state=absent)
  type: list
  elements: str
  sample: [A]
kept:
  description: With O(state=absent), why the record stays when the provider has no delete; V(null) otherwise.
  returned: when O(state=absent)
  type: str
  sample: "dyndns2 has no delete: its update protocol (/nic/update) can only set addresses; remove the record in the provider's control panel"
summary:
  description:
    - With O(state=absent), one line for a summary, such as C(DNS record jellyfin.example.org (A) deleted at cloudflare)
      (C(would be deleted) in check mode), C(DNS record name.duckdns.org (A, AAAA) cleared at duckdns (...)) or
      C(DNS record ... left as it is) followed by the reason.
  returned: when O(state=absent)
  type: str
  sample: DNS record jellyfin.example.org (A) deleted at cloudflare
error_kind:
  description: On failure, what kind of failure (auth, nohost, abuse, donator, badagent, notfqdn, numhost,
    dnserr, retryable, config, protocol).
  returned: on failure
  type: str
  sample: auth
"""

from ansible.module_utils.basic import missing_required_lib
from ansible.module_utils.common.validation import check_required_if, check_required_one_of

from ansible_collections.homelab.jellyfin_remote.plugins.module_utils import _ddns
from ansible_collections.homelab.jellyfin_remote.plugins.module_utils._module import AnsibleModule
from ansible_collections.homelab.jellyfin_remote.plugins.module_utils._validate import (
    ValidationError,
    validate_hostname,
    validate_ip,
)

PROVIDERS = ["dyndns2", "noip", "dynu", "desec", "duckdns", "cloudflare", "rfc2136", "porkbun", "namecheap"]
DNS_READ = ("dyndns2", "noip", "dynu", "desec", "duckdns", "namecheap")


def argument_spec():
    return dict(
        state=dict(type="str", default="present", choices=["present", "absent"]),
        provider=dict(type="str", required=True, choices=PROVIDERS),
        hostname=dict(type="str", required=True),
        zone=dict(type="str"),
        record_type=dict(type="str", choices=["A", "AAAA"]),
        record_types=dict(type="list", elements="str", choices=["A", "AAAA"]),
        address=dict(type="list", elements="str"),
        public_ip=dict(type="dict"),
        username=dict(type="str"),
        password=dict(type="str", no_log=True),
        token=dict(type="str", no_log=True),
        api_key=dict(type="str", no_log=True),
        secret_api_key=dict(type="str", no_log=True),
        tsig_key_name=dict(type="str", no_log=False),
        tsig_key_secret=dict(type="str", no_log=True),
        tsig_algorithm=dict(type="str", default="hmac-sha256", choices=["hmac-sha256", "hmac-sha384", "hmac-sha512", "hmac-sha224", "hmac-sha1", "hmac-md5"]),
        server=dict(type="str"),
        server_port=dict(type="int", default=53),
        base_url=dict(type="str"),
        resolver=dict(type="str"),
        resolver_port=dict(type="int", default=53),
        validate_certs=dict(type="bool", default=True),
        allow_insecure_http=dict(type="bool", default=False),
        user_agent_contact=dict(type="str"),
        ca_path=dict(type="path"),
        timeout=dict(type="float", default=10.0),
        max_retries=dict(type="int", default=3),
        max_retry_wait=dict(type="float", default=60.0),
        max_retry_seconds=dict(type="float", default=_ddns.MAX_RETRY_SECONDS_DEFAULT),
    )


REQUIRED_IF = [
    ("provider", "dyndns2", ("base_url", "username", "password")),
    ("provider", "noip", ("username", "password", "user_agent_contact")),
    ("provider", "dynu", ("username", "password")),
    ("provider", "desec", ("token",)),
    ("provider", "duckdns", ("token",)),
    ("provider", "cloudflare", ("token", "zone")),
    ("provider", "rfc2136", ("server", "zone")),
    ("provider", "porkbun", ("api_key", "secret_api_key", "zone")),
    ("provider", "namecheap", ("password", "zone")),
]


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(),
        mutually_exclusive=[("address", "public_ip"), ("record_type", "record_types")],
        required_together=[("tsig_key_name", "tsig_key_secret")],
        supports_check_mode=True,
    )
    p = module.params
    base = dict(changed=False, provider=p["provider"], hostname=p["hostname"], state=p["state"])
    absent = p["state"] == "absent"
    # Checked here, not in the spec: a removal needs no address, and a removal at a provider
    # that cannot delete sends nothing, so it needs no credentials either.
    sends = not absent or _ddns.provider_class(p["provider"]).can_delete
    given = {k: v for k, v in p.items() if v is not None}  # the checks count keys, not values
    try:
        if not absent:
            check_required_one_of([("address", "public_ip")], given)
        if sends:
            check_required_if(REQUIRED_IF, given)
    except TypeError as exc:
        module.fail_json(msg=str(exc), error_kind="config", **base)

    if sends and (p["provider"] == "rfc2136" or (p["provider"] in DNS_READ)) and not _ddns.HAS_DNSPYTHON:
        module.fail_json(
            msg=missing_required_lib("dnspython", reason="to read the current address by DNS"),
            exception=str(_ddns.DNSPYTHON_IMPORT_ERROR),
            error_kind="config",
            **base,
        )
    try:
        hostname = validate_hostname("hostname", p["hostname"])
        zone = validate_hostname("zone", p["zone"]) if p["zone"] else None
        resolver = validate_ip("resolver", p["resolver"]) if p["resolver"] else None
    except ValidationError as exc:
        module.fail_json(msg=str(exc), error_kind="config", **base)
    for option in ("timeout", "max_retry_wait"):
        if p[option] <= 0:
            module.fail_json(msg="%s must be more than 0 seconds, got %s" % (option, p[option]), error_kind="config", **base)
    if not 0 < p["max_retry_seconds"] <= _ddns.MAX_RETRY_SECONDS_LIMIT:
        module.fail_json(
            msg="max_retry_seconds must be more than 0 and at most %d seconds, got %s; it bounds the time the task spends retrying"
            % (_ddns.MAX_RETRY_SECONDS_LIMIT, _ddns._num(p["max_retry_seconds"])),
            error_kind="config",
            **base,
        )
    if p["max_retries"] < 0:
        module.fail_json(msg="max_retries must be 0 or more, got %d; 0 never retries" % p["max_retries"], error_kind="config", **base)
    base["hostname"] = hostname

    record_types = [p["record_type"]] if p["record_type"] else p["record_types"]
    if record_types is not None and not record_types:
        module.fail_json(msg="record_types is empty; give [A], [AAAA] or [A, AAAA], or leave it out", error_kind="config", **base)
    try:
        if not absent:
            desired = _ddns.desired_addresses(
                record_types=list(dict.fromkeys(record_types)) if record_types else None,
                addresses=p["address"],
                public_ip=p["public_ip"],
            )
        settings = _ddns.Settings(
            provider=p["provider"],
            hostname=hostname,
            zone=zone,
            username=p["username"],
            password=p["password"],
            token=p["token"],
            api_key=p["api_key"],
            secret_api_key=p["secret_api_key"],
            tsig_key_name=p["tsig_key_name"],
            tsig_key_secret=p["tsig_key_secret"],
            tsig_algorithm=p["tsig_algorithm"],
            server=p["server"],
            server_port=p["server_port"],
            base_url=p["base_url"],
            resolver=resolver,
            resolver_port=p["resolver_port"],
            validate_certs=p["validate_certs"],
            allow_insecure_http=p["allow_insecure_http"],
            user_agent_contact=p["user_agent_contact"],
            ca_path=p["ca_path"],
            timeout=p["timeout"],
            max_retries=p["max_retries"],
            max_retry_wait=p["max_retry_wait"],
            max_retry_seconds=p["max_retry_seconds"],
        )
        if absent:
            result = _ddns.run_delete(settings, list(dict.fromkeys(record_types)) if record_types else None, check_mode=module.check_mode)
            result["summary"] = _ddns.removal_line(result, module.check_mode)
            for key in ("record_types", "removed_word", "removal_note"):
                result.pop(key)
        else:
            result = _ddns.run(settings, desired, check_mode=module.check_mode)
    except _ddns.DdnsError as exc:
        partial = getattr(exc, "partial", None) or {}
        details = dict(base)
        details.update({k: v for k, v in partial.items() if k in ("previous", "requests")})
        module.fail_json(
            msg="ddns_update %s %s: %s" % (p["provider"], hostname, exc),
            error_kind=exc.kind,
            **details,
        )

    result["state"] = p["state"]
    warning = result.pop("warning", None)
    if warning:
        module.warn(warning)
    if module._diff:
        result["diff"] = dict(before=result["previous"], after=result["current"])
    module.exit_json(**result)


if __name__ == "__main__":
    main()
