# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Dynamic DNS providers for the ddns_update module.

Plain Python, no AnsibleModule: the module feeds a Settings object in and turns the result
(or a DdnsError) into exit_json / fail_json. Everything here is unit-tested against the
loopback stand-in in tests/lab/standins/ddns/.

Pieces, one module each (the names below are the package's interface: the providers'
modules, ddns_update and the tests use them from here):
- base: DdnsError, one failure, with a `kind` that says what the user has to do. Fatal kinds
  (auth, nohost, abuse, donator, badagent, notfqdn, numhost, dnserr, config, protocol) are
  never retried; `retryable` (dyndns2 911, HTTP 429, HTTP 5xx, network errors) is retried
  by with_retries() within max_retries, max_retry_wait and max_retry_seconds, honouring
  Retry-After. Also Settings, the request Counter, the Redactor and the message helpers.
- httpclient: HttpClient, GET/POST/PATCH with timeouts, a fixed User-Agent, TLS options,
  basic or bearer auth. It counts requests (reads, lookups, updates) and scrubs every secret
  it knows from any text that could reach a message; http_status_error() maps statuses.
- dnsread: DnsReader reads A/AAAA of a name from a configured resolver or, without one, from
  the zone's authoritative servers (dyndns2, DuckDNS and Namecheap have no read call).
- provider: Provider, the interface (read_current, update, update_many, delete_many), and
  REGISTRY name -> class. can_delete / cannot_delete say whether the provider's API can
  remove a record (dyndns2 and Namecheap's update protocols cannot: nothing is sent to them).
- runner: run(), read first, write only what differs, predict in check mode; run_delete(),
  read first, delete only what is there, predict in check mode.
- cloudflare, duckdns, dyndns2, namecheap, porkbun, rfc2136: the providers.

Secrets (passwords, tokens, API keys, TSIG secrets) never appear in a DdnsError message,
a warning or a result: messages are built from option names and non-secret values, and
provider answers quoted in messages pass through HttpClient.redact().
"""

from __future__ import annotations

from ansible_collections.homelab.jellyfin_remote.plugins.module_utils._ddns.base import (  # noqa: F401 - the package interface
    CONTACT_PATTERN,
    DEFAULT_BACKOFF,
    FAMILY,
    FATAL_KINDS,
    HINTS,
    KINDS,
    MAX_RETRY_SECONDS_DEFAULT,
    MAX_RETRY_SECONDS_LIMIT,
    NINE_ONE_ONE_WAIT,
    RECORD_TYPES,
    RETRYABLE,
    USER_AGENT,
    VERSION,
    Counter,
    DdnsError,
    Redactor,
    Settings,
    UpdateResult,
    _num,
    canonical_ip,
    check_contact,
    public_url,
    short,
    single,
    user_agent,
    with_retries,
)
from ansible_collections.homelab.jellyfin_remote.plugins.module_utils._ddns.dnsread import (  # noqa: F401 - the package interface
    DNSPYTHON_IMPORT_ERROR,
    HAS_DNSPYTHON,
    DnsReader,
)
from ansible_collections.homelab.jellyfin_remote.plugins.module_utils._ddns.httpclient import (  # noqa: F401 - the package interface
    HttpClient,
    HttpResponse,
    http_status_error,
    parse_retry_after,
)
from ansible_collections.homelab.jellyfin_remote.plugins.module_utils._ddns.provider import (  # noqa: F401 - the package interface
    REGISTRY,
    Provider,
    _load_providers,
    make_provider,
    provider_class,
    register,
)
from ansible_collections.homelab.jellyfin_remote.plugins.module_utils._ddns.runner import (  # noqa: F401 - the package interface
    desired_addresses,
    removal_line,
    run,
    run_delete,
)
