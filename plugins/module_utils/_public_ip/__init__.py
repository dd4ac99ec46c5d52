# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Find the internet-visible addresses of this host and tell whether it sits behind CGNAT.

Plain Python, no AnsibleModule: the public_ip module feeds options in and turns the result
into exit_json. Everything here is unit-tested against loopback stand-ins.

Pieces:
- Source: one way to ask "what is my address" (a DNS query to a resolver, or an HTTP(S)
  echo URL).
- race(): asks every source at once in daemon threads and settles each address family as
  soon as enough sources agree, inside one overall time budget. Daemon threads matter: a
  source that never answers must not keep the module process alive after exit_json.
- validate_answer(): an answer counts only when it is an address of the right family that
  is globally routable (labs can widen that with allow_ranges).
- parse_ip_json_addr() / host_addresses(): the host's own addresses from `ip -j addr`,
  minus VPN and container interfaces (Tailscale and Cloudflare WARP use 100.64.0.0/10).
- upnp_external_address(): the router's WAN address over UPnP IGD, when miniupnpc exists.
- classify(): public, nat, cgnat, double_nat, unknown or offline, with one sentence of
  explanation.

Sections, one module each: sources (Source, the defaults), dnswire (DNS client), echo (HTTP(S)
echo), answers (which answers count), racing (the race), host (interfaces, UPnP WAN
address), verdict (classification). The names below are the package's interface; the
public_ip module and the tests use them from here.
"""

from __future__ import annotations

from ansible_collections.homelab.jellyfin_remote.plugins.module_utils._public_ip.sources import (  # noqa: F401 - the package interface
    DEFAULT_DNS_SOURCES,
    DEFAULT_HTTP_SOURCES,
    DEFAULT_TIMEOUT,
    FAMILY_OF_RDTYPE,
    RDTYPES,
    RETRY_INTERVAL,
    Source,
    SourceError,
    build_sources,
    dns_source,
    http_source,
)
from ansible_collections.homelab.jellyfin_remote.plugins.module_utils._public_ip.dnswire import (  # noqa: F401 - the package interface
    HAS_DNSPYTHON,
    decode_dns_response,
    dns_client_name,
    encode_dns_query,
    query_dns,
)
from ansible_collections.homelab.jellyfin_remote.plugins.module_utils._public_ip.echo import (  # noqa: F401 - the package interface
    query_http,
)
from ansible_collections.homelab.jellyfin_remote.plugins.module_utils._addresses import (  # noqa: F401 - the package interface
    DOCUMENTATION_RANGES,
    RFC1918,
    SHARED_ADDRESS_SPACE,
    ULA,
    non_global_reason,
    parse_ranges,
)
from ansible_collections.homelab.jellyfin_remote.plugins.module_utils._public_ip.answers import (  # noqa: F401 - the package interface
    validate_answer,
)
from ansible_collections.homelab.jellyfin_remote.plugins.module_utils._public_ip.racing import (  # noqa: F401 - the package interface
    Job,
    RaceResult,
    race,
    run_daemon,
)
from ansible_collections.homelab.jellyfin_remote.plugins.module_utils._public_ip.host import (  # noqa: F401 - the package interface
    HostAddresses,
    IGNORED_INTERFACES,
    NO_EXTERNAL_ADDRESS,
    host_addresses,
    import_miniupnpc,
    interface_ignored,
    parse_ip_json_addr,
    upnp_external_address,
)
from ansible_collections.homelab.jellyfin_remote.plugins.module_utils._public_ip.verdict import (  # noqa: F401 - the package interface
    CLASSIFICATIONS,
    WAN_SOURCES,
    choose_wan,
    classify,
)
