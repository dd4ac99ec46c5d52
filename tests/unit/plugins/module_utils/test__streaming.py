from __future__ import annotations

import pytest

from ansible_collections.homelab.jellyfin_remote.plugins.module_utils import _streaming
from ansible_collections.homelab.jellyfin_remote.plugins.module_utils._streaming import (
    FLOOR_720P,
    INT32_MAX,
    StreamingError,
    streaming,
)


@pytest.mark.parametrize("upload, streams, limit", [
    (20, 2, 7_000_000),            # the line: 14 Mbit/s for two streams
    (20, 1, 14_000_000),
    (30.5, 2, 10_675_000),         # fractional Mbit/s, exact (no float rounding)
    ("100", 3, 23_333_333),        # floor, not round (23 333 333.3)
    (10, 1, 7_000_000),
    (1000, 4, 175_000_000),
])
def test_limit_is_the_floor_of_70_percent_over_the_streams(upload, streams, limit):
    result = streaming(upload, streams)
    assert result["limit"] == limit
    assert result["warnings"] == []


def test_boundary_at_the_720p_floor():
    # 0.7 * 11.428572 Mbit/s / 2 = 4 000 000.2 -> exactly the floor: no warning.
    at = streaming(11.428572, 2)
    assert (at["limit"], at["warnings"]) == (FLOOR_720P, [])
    # One bit/s under the floor: raised to the floor, with the warning.
    under = streaming(11.428570, 2)
    assert under["budget_bits"] // 2 == FLOOR_720P - 1
    assert under["limit"] == FLOOR_720P
    assert len(under["warnings"]) == 1


def test_a_line_too_slow_for_the_streams_is_floored_and_says_how_many_fit():
    result = streaming(10, 3)  # 7 Mbit/s for three: 2.33 each
    assert result["limit"] == FLOOR_720P
    [warning] = result["warnings"]
    assert "cannot carry 3 remote streams (jellyfin_remote_remote_streams)" in warning
    assert "2.33 Mbit/s a stream, below the 4 Mbit/s 720p needs" in warning
    assert "set jellyfin_remote_remote_streams to 1" in warning
    assert "(the 720p floor)" in result["lines"][1]


def test_a_line_too_slow_for_one_720p_stream_says_so():
    result = streaming(5, 1)  # 3.5 Mbit/s in all
    assert result["limit"] == FLOOR_720P
    [warning] = result["warnings"]
    assert warning.startswith("The upload cannot carry even one 720p stream: 70% of 5 Mbit/s")


def test_the_limit_never_exceeds_what_jellyfin_stores():
    result = streaming(10_000, 1)  # 7 Gbit/s a stream: over Int32
    assert result["limit"] == INT32_MAX
    assert "(the most Jellyfin stores)" in result["lines"][1]


@pytest.mark.parametrize("upload, fit_1080p, fit_4k", [
    (20, 1, 0),
    (14.28, 0, 0),      # 9.996 Mbit/s: not one 1080p stream
    (14.3, 1, 0),       # 10.01
    (57.15, 4, 1),      # 40.005: exactly one 4K
    (57.14, 3, 0),      # 39.998
    (1000, 70, 17),
])
def test_how_many_streams_fit(upload, fit_1080p, fit_4k):
    result = streaming(upload, 1)
    assert (result["fit_1080p"], result["fit_4k"]) == (fit_1080p, fit_4k)
    assert "%d at 4K (40 Mbit/s each)" % fit_4k in result["lines"][2]


def test_no_upload_sets_no_limit_and_says_so():
    for value in (None, "", "  "):
        result = streaming(value, 2)
        assert result["limit"] is None and result["fit_1080p"] is None
        assert result["lines"] == [
            "No upload is declared (jellyfin_remote_upload_mbps): no remote bitrate limit is set, Jellyfin's own "
            "RemoteClientBitrateLimit is left as it is, and nothing says how many streams fit."]
        assert result["vpn_clients_local"] is True
        assert "no upload is declared" in result["vpn_why"]


@pytest.mark.parametrize("upload, given, local, says", [
    (57.14, None, False, "does not carry one 40 Mbit/s remux"),   # 39.998 Mbit/s
    (57.15, None, True, "carries one 40 Mbit/s remux"),           # 40.005 Mbit/s
    (20, True, True, "set jellyfin_remote_vpn_clients_local: false to limit them"),
    (1000, True, True, "Jellyfin never limits them."),
    (1000, False, False, "jellyfin_remote_vpn_clients_local: false"),
    (20, "false", False, "count as remote"),
    (20, "yes", True, "count as local"),
])
def test_vpn_viewers_follow_the_upload_unless_the_owner_chose(upload, given, local, says):
    result = streaming(upload, 1, given)
    assert result["vpn_clients_local"] is local
    assert says in result["vpn_why"]


def test_the_owners_true_on_a_fast_line_adds_no_advice():
    assert "does not carry" not in streaming(1000, 1, True)["vpn_why"]


@pytest.mark.parametrize("kwargs, message", [
    ({"upload_mbps": 0}, "jellyfin_remote_upload_mbps must be the upload in Mbit/s (a number above 0, for example 20)"),
    ({"upload_mbps": -3}, "got -3"),
    ({"upload_mbps": "fast"}, "jellyfin_remote_upload_mbps must be the upload in Mbit/s"),
    ({"upload_mbps": True}, "jellyfin_remote_upload_mbps must be the upload in Mbit/s"),
    ({"upload_mbps": "nan"}, "jellyfin_remote_upload_mbps"),
    ({"upload_mbps": 20, "streams": 0}, "jellyfin_remote_remote_streams must be how many remote streams play at the "
                                        "same time, a whole number of 1 or more"),
    ({"upload_mbps": 20, "streams": 1.5}, "jellyfin_remote_remote_streams"),
    ({"upload_mbps": 20, "streams": "two"}, "got 'two'"),
    ({"upload_mbps": 20, "streams": True}, "jellyfin_remote_remote_streams"),
    ({"upload_mbps": 20, "vpn_clients_local": "maybe"}, "jellyfin_remote_vpn_clients_local must be true, false, or unset"),
    ({"upload_mbps": "x", "upload_option": "jellyfin_remote_preferences.upload_mbps"},
     "jellyfin_remote_preferences.upload_mbps must be"),
])
def test_bad_input_names_the_option(kwargs, message):
    with pytest.raises(StreamingError) as err:
        streaming(**kwargs)
    assert message in str(err.value)


def test_streams_default_to_one_and_accept_whole_numbers_as_text():
    assert streaming(20)["streams"] == 1
    assert streaming(20, "2")["limit"] == 7_000_000
    assert streaming(20, 2.0)["limit"] == 7_000_000


def test_summary_lines():
    result = streaming(20, 2)
    assert result["lines"] == [
        "Upload: 20 Mbit/s (declared, jellyfin_remote_upload_mbps); 70% of it, 14 Mbit/s, is for remote streams.",
        "Each remote stream is limited to 7 Mbit/s (Jellyfin's RemoteClientBitrateLimit 7000000) for 2 at the same time.",
        "At the same time fit: 1 stream at 1080p (10 Mbit/s each), 0 at 4K (40 Mbit/s each).",
    ]


MEASURED = {"mbps": 19.12, "server": "vps.example.org", "runs_mbps": [19.0, 19.12, 19.3], "measured_at": "2026-12-07T12:00:00Z"}


def test_the_lower_of_declared_and_measured_is_used_and_said():
    result = _streaming.streaming(30, 2, measured=MEASURED)
    assert (result["upload_source"], result["upload_bits"], result["declared_mbps"]) == ("measured", 19_120_000, 30)
    assert result["limit"] == 19_120_000 * 70 // 100 // 2
    assert result["lines"][0] == (
        "Upload: 19.12 Mbit/s (measured with iperf3 against vps.example.org on 2026-12-07, median of 3 runs; below the "
        "30 Mbit/s declared in jellyfin_remote_upload_mbps, so the measured figure is used); 70% of it, 13.38 Mbit/s, "
        "is for remote streams.")
    declared = _streaming.streaming(10, 2, measured=MEASURED)
    assert (declared["upload_source"], declared["upload_bits"], declared["measured_mbps"]) == ("declared", 10_000_000, 19.12)
    assert "the measurement (19.12 Mbit/s, measured with iperf3 against vps.example.org" in declared["lines"][0]


def test_a_measurement_alone_sets_the_limit():
    result = _streaming.streaming(None, 1, measured=dict(MEASURED, runs_mbps=[19.12], measured_at=None))
    assert (result["upload_source"], result["limit"]) == ("measured", 19_120_000 * 70 // 100)
    assert "(measured with iperf3 against vps.example.org, median of 1 run)" in result["lines"][0]


def test_a_measurement_of_nothing_is_refused():
    with pytest.raises(_streaming.StreamingError, match="found no upload"):
        _streaming.streaming(20, 1, measured={"mbps": 0})


# Issue 22: the vps_relay method's tunnel, measured home -> relay, bounds the relay's viewers too.
CEILING = {"mbps": 12.5, "server": "10.87.0.1", "port": 5201, "runs_mbps": [12.0, 12.5, 13.1],
           "measured_at": "2026-12-07T22:10:00Z"}


def test_the_relay_ceiling_is_used_when_it_is_the_lowest_figure():
    result = _streaming.streaming(30, 1, measured=MEASURED, ceiling=CEILING)
    assert (result["upload_source"], result["upload_bits"], result["limit"]) == ("measured", 12_500_000, 8_750_000)
    assert result["lines"][0].startswith(
        "Upload: 12.5 Mbit/s (the relay tunnel's ceiling, measured with iperf3 home -> relay (10.87.0.1) on 2026-12-07, "
        "median of 3 runs; below the 30 Mbit/s declared")
    alone = _streaming.streaming(None, 1, ceiling=CEILING)
    assert (alone["upload_source"], alone["limit"]) == ("measured", 8_750_000)


def test_a_higher_relay_ceiling_changes_nothing():
    assert _streaming.streaming(30, 2, measured=MEASURED, ceiling=dict(CEILING, mbps=400)) == \
        _streaming.streaming(30, 2, measured=MEASURED)
    assert _streaming.streaming(10, 2, ceiling=dict(CEILING, mbps=400))["upload_source"] == "declared"


def test_a_ceiling_of_nothing_is_refused_by_name():
    with pytest.raises(_streaming.StreamingError, match="relay's ceiling .*jellyfin_remote_relay_measure_ceiling"):
        _streaming.streaming(20, 1, ceiling={"mbps": 0})
