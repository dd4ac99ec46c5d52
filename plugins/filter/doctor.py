# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""doctor_report, doctor_look and doctor_public_url: the doctor role's findings, what it looks
at, and the URL its observer fetches."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.homelab.jellyfin_remote.plugins.module_utils import _doctor


def doctor_report(facts, fail_on="fail"):
    try:
        return _doctor.report(facts, fail_on)
    except _doctor.DoctorError as exc:
        raise AnsibleFilterError("doctor_report: %s" % exc) from None


def doctor_look(record):
    return _doctor.look(record)


def doctor_public_url(record):
    return _doctor.public_url(record)


class FilterModule:
    def filters(self):
        return {"doctor_report": doctor_report, "doctor_look": doctor_look, "doctor_public_url": doctor_public_url}
