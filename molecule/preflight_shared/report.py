"""Read the preflight report the scenario's converge saved on the controller."""

from __future__ import annotations

import json
import os


def load_report(host="server"):
    path = os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "reports", "%s.json" % host)
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)
