"""The report's time arithmetic: periods, series buckets, business hours across DST, outside-hours intervals."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from handler.errors import ConfigError
from handler.read.period import (
    BusinessHours,
    Period,
    bucket_starts,
    iso,
    make_period,
    outside_intervals,
    parse_days,
    parse_hours,
    parse_time,
    parse_timestamp,
    series_interval,
)
from tests.profiles import examples

Q3 = Period(datetime(2026, 7, 1, tzinfo=UTC), datetime(2026, 10, 1, tzinfo=UTC))
WEEKDAYS = frozenset(range(5))


def test_period_parsing_and_previous() -> None:
    assert make_period("2026-07-01", "2026-10-01") == Q3
    assert parse_time("2026-07-01T02:00:00+02:00") == datetime(2026, 7, 1, tzinfo=UTC)
    assert Q3.previous() == Period(datetime(2026, 3, 31, tzinfo=UTC), Q3.since)
    assert Q3.as_dict() == {"since": "2026-07-01T00:00:00Z", "until": "2026-10-01T00:00:00Z"}
    with pytest.raises(ConfigError, match="must be after"):
        make_period("2026-10-01", "2026-07-01")
    with pytest.raises(ConfigError, match="ISO 8601"):
        make_period("last quarter", "2026-07-01")


def test_stored_timestamps_keep_microseconds() -> None:
    assert parse_timestamp("2026-07-01T08:00:00.123456Z") == datetime(2026, 7, 1, 8, 0, 0, 123456, UTC)
    assert parse_timestamp("2026-07-01T08:00:00Z") == datetime(2026, 7, 1, 8, tzinfo=UTC)
    assert parse_timestamp("2026-07-01T08:00:00.123456789Z").microsecond == 123456
    assert iso(datetime(2026, 7, 1, 8, 0, 0, 5, UTC)) == "2026-07-01T08:00:00.000005Z"


@pytest.mark.parametrize(
    ("days", "interval", "buckets"),
    [(1, "hour", 24), (92, "day", 92), (365, "week", 53), (4 * 365, "month", 48)],
)
def test_series_interval_keeps_charts_readable(days: int, interval: str, buckets: int) -> None:
    period = Period(datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC) + timedelta(days=days))
    assert series_interval(period) == interval
    starts = bucket_starts(period, interval)
    assert len(starts) in (buckets, buckets + 1)
    assert starts[0] <= period.since < starts[1] and starts[-1] < period.until


def test_weeks_start_on_monday_and_months_on_the_first() -> None:
    period = Period(datetime(2026, 7, 1, tzinfo=UTC), datetime(2027, 7, 1, tzinfo=UTC))
    assert bucket_starts(period, "week")[0] == datetime(2026, 6, 29, tzinfo=UTC)  # a Monday
    assert bucket_starts(period, "month")[-1] == datetime(2027, 6, 1, tzinfo=UTC)


def test_hours_and_days_options() -> None:
    assert parse_hours("08-18") == (8, 18) and parse_hours("0-24") == (0, 24)
    for bad in ("18-08", "8:30-18", "08-25", "nine to five"):
        with pytest.raises(ConfigError):
            parse_hours(bad)
    assert parse_days("mon-fri") == WEEKDAYS
    assert parse_days("sun-thu") == {6, 0, 1, 2, 3}
    assert parse_days("mon, wed,fri") == {0, 2, 4}
    with pytest.raises(ConfigError):
        parse_days("weekdays")


def test_business_hours_are_local_time() -> None:
    paris = BusinessHours(8, 18, WEEKDAYS, "Europe/Paris")
    assert paris.contains(datetime(2026, 7, 1, 6, 0, tzinfo=UTC))  # 08:00 in Paris (UTC+2), a Wednesday
    assert not paris.contains(datetime(2026, 7, 1, 5, 59, tzinfo=UTC))
    assert not paris.contains(datetime(2026, 7, 1, 16, 0, tzinfo=UTC))  # 18:00 in Paris
    assert not paris.contains(datetime(2026, 7, 4, 10, 0, tzinfo=UTC))  # Saturday
    assert paris.describe() == "08:00–18:00 Mon–Fri, Europe/Paris"
    with pytest.raises(ConfigError, match="IANA"):
        BusinessHours(8, 18, WEEKDAYS, "Mars/Olympus").tz()


ZONES = ["UTC", "Europe/Paris", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe", "Asia/Kathmandu"]


@settings(max_examples=examples(300))
@given(
    zone=st.sampled_from(ZONES),
    hours=st.tuples(st.integers(0, 23), st.integers(1, 24)).filter(lambda h: h[0] < h[1]),
    days=st.frozensets(st.integers(0, 6), min_size=1),
    offset=st.integers(0, 396 * 24 * 3600 - 1),  # within YEAR
)
def test_outside_intervals_agree_with_contains(
    zone: str, hours: tuple[int, int], days: frozenset[int], offset: int
) -> None:
    """The intervals the tests turn into `_count` queries say exactly what `contains` says (random moments; the
    DST transitions themselves are the next test's)."""
    bh = BusinessHours(hours[0], hours[1], days, zone)
    moment = YEAR.since + timedelta(seconds=offset)
    assert_agree(outside_intervals(YEAR, bh), bh, [moment])


YEAR = Period(datetime(2026, 1, 1, tzinfo=UTC), datetime(2027, 2, 1, tzinfo=UTC))


def assert_agree(intervals: list[tuple[datetime, datetime]], bh: BusinessHours, moments: list[datetime]) -> None:
    assert all(a < b for a, b in intervals) and all(b1 < a2 for (_, b1), (a2, _) in itertools.pairwise(intervals))
    for moment in moments:
        assert any(a <= moment < b for a, b in intervals) == (not bh.contains(moment)), (bh, moment)


def transitions(zone: str, period: Period) -> list[datetime]:
    """The UTC instants in `period` where the zone's offset changes (found hour by hour, then to the minute)."""
    tz = BusinessHours(0, 24, WEEKDAYS, zone).tz()
    found, t = [], period.since
    while t < period.until:
        after = t + timedelta(hours=1)
        if t.astimezone(tz).utcoffset() != after.astimezone(tz).utcoffset():
            m = t
            while m.astimezone(tz).utcoffset() == t.astimezone(tz).utcoffset():
                m += timedelta(minutes=1)
            found.append(m)
        t = after
    return found


@pytest.mark.parametrize("zone", [z for z in ZONES if transitions(z, YEAR)])
def test_outside_intervals_agree_with_contains_at_every_dst_transition(zone: str) -> None:
    """Around each offset change of 2026 (forward and back, Lord Howe's half hour included): business hours that
    start, end or lie inside the skipped or repeated local hour, every day of the week."""
    changes = transitions(zone, YEAR)
    assert len(changes) == 2, changes  # one change forward, one back
    steps = (-3600, -1800, -60, -1, 0, 1, 60, 1799, 1800, 3599, 3600, 5400, 7200)
    moments = [c + timedelta(seconds=d) for c in changes for d in steps]
    for start, end in [(0, 24), (1, 2), (1, 3), (2, 3), (2, 4), (3, 4), (0, 2), (3, 24), (8, 18)]:
        for days in (frozenset(range(7)), WEEKDAYS, frozenset({6})):
            bh = BusinessHours(start, end, days, zone)
            assert_agree(outside_intervals(YEAR, bh), bh, moments)
