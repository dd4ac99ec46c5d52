# Copyright: contributors to homelab.jellyfin_remote
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Remote streaming that fits the home upload: the arithmetic the site playbook uses.

Plain Python, no AnsibleModule; _site.summary() and the filter site_streaming call it.

- streaming(): from the declared upload and the number of remote streams at the same time,
  Jellyfin's RemoteClientBitrateLimit (bits/s, per stream), how many streams fit at 1080p and
  at 4K, whether VPN viewers count as local, the warnings and the summary's lines.

Figures and where they come from:
- 70 % of the upload for remote streaming: Jellyfin's hardware guide (the rest is for the
  household and for the protocol's own overhead).
- 720p floor, 4 Mbit/s: Jellyfin's transcoder picks the output width from the bitrate
  (MediaBrowser.Model/Dlna/ResolutionNormalizer.cs, jellyfin/jellyfin v10.11.11: up to 3 Mbit/s
  it scales to 960 wide, from there to 6 Mbit/s it keeps 1280, i.e. 720p; H.264 at 30 fps).
  4 Mbit/s is inside the 720p band with room for the audio track (Jellyfin takes the audio
  bitrate from the same budget); jellyfin-web's quality menu (src/components/qualityOptions)
  lists 4 Mbps as a 720p choice.
- 1080p at 10 Mbit/s and 4K at 40 Mbit/s a stream (assumed, for the counts): inside the
  normalizer's 1920-wide band (6 to 13.5 Mbit/s) and 3840-wide band (28 to 50 Mbit/s).
- One remux: 40 Mbit/s, the Blu-ray format's highest video bitrate (a 1080p disc copied as it
  is). VPN viewers that count as local are never limited and play such originals as they are:
  when 70 % of the upload does not carry one, they count as remote unless the owner says so.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

SHARE_PERCENT = 70
FLOOR_720P = 4_000_000
BITRATE_1080P = 10_000_000
BITRATE_4K = 40_000_000
REMUX = 40_000_000
# RemoteClientBitrateLimit is an Int32 in ServerConfiguration.
INT32_MAX = 2**31 - 1

UPLOAD_OPTION = "jellyfin_remote_upload_mbps"
STREAMS_OPTION = "jellyfin_remote_remote_streams"
VPN_OPTION = "jellyfin_remote_vpn_clients_local"

_TRUE = ("true", "yes", "on", "1")
_FALSE = ("false", "no", "off", "0")


class StreamingError(ValueError):
    """Bad input; the message names the option and what to give instead."""


def mbit(bits):
    """Bits per second as Mbit/s for a sentence: 7 for 7000000, 2.33 for 2333333."""
    text = "%.2f" % (bits / 1_000_000)
    return text.rstrip("0").rstrip(".")


def _upload_bits(value, option):
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise StreamingError("%s must be the upload in Mbit/s (a number above 0, for example 20), or unset when "
                             "it is not known; got %r" % (option, value))
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        number = None
    if number is None or not number.is_finite() or number <= 0:
        raise StreamingError("%s must be the upload in Mbit/s (a number above 0, for example 20), or unset when "
                             "it is not known; got %r" % (option, value))
    return int(number * 1_000_000)


def _streams(value, option):
    if value is None or (isinstance(value, str) and not value.strip()):
        return 1
    if isinstance(value, bool):
        number = None
    elif isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and value.strip().isdigit():
        number = int(value.strip())
    else:
        number = None
    if number is None or number < 1:
        raise StreamingError("%s must be how many remote streams play at the same time, a whole number of 1 or "
                             "more (for example 2); got %r" % (option, value))
    return number


def _flag(value, option):
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        word = value.strip().lower()
        if word == "":
            return None
        if word in _TRUE:
            return True
        if word in _FALSE:
            return False
    raise StreamingError("%s must be true, false, or unset (then it follows the upload); got %r" % (option, value))


def _vpn(given, budget):
    """(local, why) for VPN viewers."""
    remux = "one %s Mbit/s remux" % mbit(REMUX)
    if given is True:
        why = "VPN viewers count as local (%s: true): Jellyfin never limits them." % VPN_OPTION
        if budget is not None and budget < REMUX:
            why += (" %s%% of the upload (%s Mbit/s) does not carry %s: a VPN viewer playing an original can stall "
                    "every stream; set %s: false to limit them like other remote viewers."
                    % (SHARE_PERCENT, mbit(budget), remux, VPN_OPTION))
        return True, why
    if given is False:
        return False, ("VPN viewers count as remote (%s: false): each of their streams is limited like any remote "
                       "viewer's." % VPN_OPTION)
    if budget is None:
        return True, ("VPN viewers count as local, so Jellyfin does not limit them: no upload is declared that says "
                      "they would not fit (set %s, or %s: false to limit them)." % (UPLOAD_OPTION, VPN_OPTION))
    if budget < REMUX:
        return False, ("VPN viewers count as remote, so their streams are limited too: %s%% of the upload (%s Mbit/s) "
                       "does not carry %s, which an unlimited (local) viewer would play as it is. Set %s: true to "
                       "treat them as local anyway." % (SHARE_PERCENT, mbit(budget), remux, VPN_OPTION))
    return True, ("VPN viewers count as local, so Jellyfin does not limit them: %s%% of the upload (%s Mbit/s) carries "
                  "%s. Set %s: false to limit them too." % (SHARE_PERCENT, mbit(budget), remux, VPN_OPTION))


def _measured_bits(measured, what="the upload measurement", nothing="found no upload",
                   fix="check the iperf3 server and the line, or leave jellyfin_remote_upload_iperf3_server unset"):
    """Bits/s of a measurement (upload_bandwidth's result, or the host record's copy), or None."""
    if not measured:
        return None
    try:
        bits = int(Decimal(str(measured["mbps"])) * 1_000_000)
    except (KeyError, TypeError, InvalidOperation):
        raise StreamingError("%s has no Mbit/s figure (mbps); got %r" % (what, measured)) from None
    if bits <= 0:
        raise StreamingError("%s %s (%r Mbit/s): %s" % (what, nothing, measured["mbps"], fix))
    return bits


def _lowest(measured, ceiling):
    """(bits, record, is_ceiling) of the lower of the upload measurement and the relay's ceiling.

    Both bound what a remote stream gets: the relay's viewers are served over the home's upload
    and then the tunnel (whose measurement crosses that upload too), so the lower one counts."""
    measured_bits = _measured_bits(measured)
    ceiling_bits = _measured_bits(ceiling, "the relay's ceiling (host record section relay_ceiling)",
                                  "found nothing through the tunnel",
                                  "check the tunnel, or set jellyfin_remote_relay_measure_ceiling: false")
    if ceiling_bits is not None and (measured_bits is None or ceiling_bits < measured_bits):
        return ceiling_bits, ceiling, True
    return measured_bits, measured or {}, False


def _upload_words(declared, measured_bits, measured, upload_option, is_ceiling=False):
    """(bits used, the words the summary gives for where the figure comes from)."""
    if measured_bits is None:
        return declared, "declared, %s" % upload_option
    runs = len(measured.get("runs_mbps") or [0])
    how = "%s%s, median of %d run%s" % (
        "the relay tunnel's ceiling, measured with iperf3 home -> relay (%s)" % measured.get("server", "?")
        if is_ceiling else "measured with iperf3 against %s" % measured.get("server", "?"),
        " on %s" % measured["measured_at"][:10] if measured.get("measured_at") else "", runs, "" if runs == 1 else "s")
    if declared is None:
        return measured_bits, how
    if measured_bits < declared:
        return measured_bits, "%s; below the %s Mbit/s declared in %s, so the measured figure is used" % (
            how, mbit(declared), upload_option)
    return declared, "declared, %s; the measurement (%s Mbit/s, %s) is not lower" % (upload_option, mbit(measured_bits), how)


def streaming(upload_mbps=None, streams=None, vpn_clients_local=None, upload_option=UPLOAD_OPTION,
              streams_option=STREAMS_OPTION, measured=None, ceiling=None):
    """The remote streaming settings for the upload: the declared one, the measured one
    (measured: upload_bandwidth's result with server, runs_mbps and measured_at), or the lower
    of the two when both are known. ceiling: the vps_relay method's tunnel measured the same
    way (home -> relay); the lowest of the three known figures is used.

    upload_mbps: the home's upload in Mbit/s (None or "" when not known); streams: remote streams
    at the same time (None: 1); vpn_clients_local: the owner's choice (True/False) or None to
    follow the upload. upload_option/streams_option: the variable names errors and lines use.
    Returns dict upload_mbps (the figure used, None when unknown), upload_source (declared,
    measured or None), declared_mbps, measured_mbps, upload_bits, budget_bits (70 %),
    streams, limit (RemoteClientBitrateLimit to set; None: leave Jellyfin's setting alone),
    fit_1080p, fit_4k (None when unknown), vpn_clients_local (bool), vpn_why, warnings, lines.
    Raises StreamingError naming the option on bad input.
    """
    declared = _upload_bits(upload_mbps, upload_option)
    measured_bits, measured, is_ceiling = _lowest(measured, ceiling)
    bits, source_words = _upload_words(declared, measured_bits, measured, upload_option, is_ceiling)
    count = _streams(streams, streams_option)
    known = {"declared_mbps": None if declared is None else declared / 1_000_000,
             "measured_mbps": None if measured_bits is None else measured_bits / 1_000_000,
             "upload_source": None if bits is None else "measured" if bits == measured_bits and bits != declared
             else "declared"}
    given = _flag(vpn_clients_local, VPN_OPTION)
    warnings, lines = [], []
    if bits is None:
        local, why = _vpn(given, None)
        lines.append("No upload is declared (%s): no remote bitrate limit is set, Jellyfin's own "
                     "RemoteClientBitrateLimit is left as it is, and nothing says how many streams fit." % upload_option)
        return dict(known, upload_mbps=None, upload_bits=None, budget_bits=None, streams=count, limit=None,
                    fit_1080p=None, fit_4k=None, vpn_clients_local=local, vpn_why=why, warnings=warnings, lines=lines)
    budget = bits * SHARE_PERCENT // 100
    share = budget // count
    limit = max(share, FLOOR_720P)
    fits_720p = budget // FLOOR_720P
    if share < FLOOR_720P:
        if fits_720p == 0:
            warnings.append(
                "The upload cannot carry even one 720p stream: %s%% of %s Mbit/s (%s, %s Mbit/s) is below the "
                "%s Mbit/s one needs. Remote streams are limited to %s Mbit/s anyway and will stall; a faster "
                "upload, or playing at home, is the fix." % (
                    SHARE_PERCENT, mbit(bits), upload_option, mbit(budget), mbit(FLOOR_720P), mbit(FLOOR_720P)))
        else:
            warnings.append(
                "The upload cannot carry %d remote streams (%s): %s%% of %s Mbit/s is %s Mbit/s a stream, below the "
                "%s Mbit/s 720p needs. Each remote stream is limited to %s Mbit/s instead, so %d at the same time "
                "play smoothly and more stall: set %s to %d, or get a faster upload." % (
                    count, streams_option, SHARE_PERCENT, mbit(bits), mbit(share), mbit(FLOOR_720P), mbit(FLOOR_720P),
                    fits_720p, streams_option, fits_720p))
    clamped = limit > INT32_MAX
    limit = min(limit, INT32_MAX)
    local, why = _vpn(given, budget)
    lines.append("Upload: %s Mbit/s (%s); %s%% of it, %s Mbit/s, is for remote streams." % (
        mbit(bits), source_words, SHARE_PERCENT, mbit(budget)))
    lines.append("Each remote stream is limited to %s Mbit/s (Jellyfin's RemoteClientBitrateLimit %d) for %d at the "
                 "same time%s." % (mbit(limit), limit, count,
                                   " (the 720p floor)" if share < FLOOR_720P else
                                   " (the most Jellyfin stores)" if clamped else ""))
    lines.append("At the same time fit: %d stream%s at 1080p (%s Mbit/s each), %d at 4K (%s Mbit/s each)." % (
        budget // BITRATE_1080P, "" if budget // BITRATE_1080P == 1 else "s", mbit(BITRATE_1080P),
        budget // BITRATE_4K, mbit(BITRATE_4K)))
    return dict(known, upload_mbps=bits / 1_000_000, upload_bits=bits, budget_bits=budget, streams=count, limit=limit,
                fit_1080p=budget // BITRATE_1080P, fit_4k=budget // BITRATE_4K,
                vpn_clients_local=local, vpn_why=why, warnings=warnings, lines=lines)
