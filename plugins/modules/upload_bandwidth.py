#!/usr/bin/python
# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: upload_bandwidth
short_description: Measure the home's upload with iperf3 against a server you control
version_added: 0.1.0
description:
  - Runs the iperf3 client (Debian's C(iperf3) package) on the target host against an iperf3 server, sending,
    O(runs) times, and returns the median of what the server received (Mbit/s). The client sends, so the
    figure is the upload of the target's line, the most remote viewers of a home server can get.
  - Each run lasts O(seconds); the first second is left out of its figure (TCP's slow start).
  - Use a server you control outside the home (a VPS, a relay, a friend's host), never a public iperf3
    server; those are shared and rate-limited, and what they measure is their own load.
  - The module changes nothing; it sends test traffic for O(runs) times O(seconds) seconds, also in check mode.
author:
  - jellyfin_remote developers (!UNKNOWN)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    description: Measures as in a normal run (a measurement changes nothing).
  diff_mode:
    support: none
  platform:
    support: full
    platforms: posix
options:
  server:
    description: Host name or address of the iperf3 server (C(iperf3 --server) running there).
    type: str
    required: true
  port:
    description: The server's TCP port.
    type: int
    default: 5201
  runs:
    description: How many runs; the median is returned (1 to 9).
    type: int
    default: 3
  seconds:
    description: Each run's length in seconds (2 to 60), the first of them left out of the figure.
    type: int
    default: 5
requirements:
  - iperf3 (Debian package C(iperf3)) on the target host
seealso:
  - module: homelab.jellyfin_remote.jellyfin_system
"""

EXAMPLES = r"""
- name: Measure the upload to the VPS (an iperf3 server runs there)
  homelab.jellyfin_remote.upload_bandwidth:
    server: vps.example.org
  register: upload

- name: Show it
  ansible.builtin.debug:
    msg: "Upload: {{ upload.mbps }} Mbit/s (runs: {{ upload.runs_mbps | join(', ') }})"
"""

RETURN = r"""
mbps:
  description: The median of the runs, Mbit/s received by the server (two decimals).
  returned: success
  type: float
  sample: 19.12
runs_mbps:
  description: Each run's figure, Mbit/s, in the order they ran.
  returned: success
  type: list
  elements: float
  sample: [19.1, 19.12, 19.2]
server:
  description: The server measured against.
  returned: success
  type: str
port:
  description: Its port.
  returned: success
  type: int
"""

from ansible_collections.homelab.jellyfin_remote.plugins.module_utils import _upload
from ansible_collections.homelab.jellyfin_remote.plugins.module_utils._module import AnsibleModule


def main():
    module = AnsibleModule(
        argument_spec=dict(
            server=dict(type="str", required=True),
            port=dict(type="int", default=5201),
            runs=dict(type="int", default=3),
            seconds=dict(type="int", default=5),
        ),
        supports_check_mode=True,
    )
    p = module.params
    try:
        _upload.check_settings(p["server"], p["port"], p["runs"], p["seconds"])
    except _upload.UploadError as exc:
        module.fail_json(msg=str(exc))
    iperf3 = module.get_bin_path("iperf3")
    if not iperf3:
        module.fail_json(msg="iperf3 is not installed on this host (Debian: apt-get install iperf3)")

    def run(argv, timeout):
        # coreutils timeout bounds a run whose server stops answering mid-test.
        return module.run_command(["timeout", "--kill-after=5", str(timeout)] + argv, environ_update={"LC_ALL": "C"})

    try:
        median, figures = _upload.measure(run, iperf3, p["server"], p["port"], p["runs"], p["seconds"])
    except _upload.UploadError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(changed=False, mbps=_upload.mbps(median), runs_mbps=[_upload.mbps(f) for f in figures],
                     server=p["server"], port=p["port"])


if __name__ == "__main__":
    main()
