"""The period a report covers, its time-series buckets and business hours. Pure: datetimes in, values out.

All datetimes here are timezone-aware; the period is UTC, business hours are local to an IANA zone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from handler.errors import ConfigError

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class Period:
    """[since, until): since inclusive, until exclusive, both UTC."""

    since: datetime
    until: datetime

    def previous(self) -> Period:
        """The period of equal length just before this one (for clients seen for the first time)."""
        return Period(self.since - (self.until - self.since), self.since)

    def as_dict(self) -> dict[str, str]:
        return {"since": iso(self.since), "until": iso(self.until)}


def iso(moment: datetime) -> str:
    """UTC ISO 8601 with a Z; microseconds only when there are some."""
    moment = moment.astimezone(UTC)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    return f"{text}.{moment.microsecond:06d}Z" if moment.microsecond else f"{text}Z"


def parse_time(text: str) -> datetime:
    """A date or date-time in ISO 8601; without a zone it is UTC."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ConfigError(f"not an ISO 8601 date or time: {text!r}") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def parse_timestamp(text: str) -> datetime:
    """A stored `@timestamp` (date_nanos as written by the forwarder: up to 9 fraction digits, Z)."""
    head, _, fraction = text.rstrip("Z").partition(".")
    moment = datetime.fromisoformat(head).replace(tzinfo=UTC)
    return moment.replace(microsecond=int((fraction + "000000")[:6])) if fraction else moment


def make_period(since: str, until: str) -> Period:
    period = Period(parse_time(since), parse_time(until))
    if period.until <= period.since:
        raise ConfigError(f"--until ({iso(period.until)}) must be after --since ({iso(period.since)})")
    return period


# Time series: one bucket per hour, day, week (ISO, Monday) or month, so a chart has between ~24 and ~200 bars.
def series_interval(period: Period) -> str:
    days = (period.until - period.since) / timedelta(days=1)
    if days <= 3:
        return "hour"
    if days <= 200:
        return "day"
    if days <= 3 * 366:
        return "week"
    return "month"


def bucket_floor(moment: datetime, interval: str) -> datetime:
    moment = moment.astimezone(UTC)
    if interval == "hour":
        return moment.replace(minute=0, second=0, microsecond=0)
    day = datetime.combine(moment.date(), time(), UTC)
    if interval == "day":
        return day
    if interval == "week":
        return day - timedelta(days=day.weekday())
    if interval == "month":
        return day.replace(day=1)
    raise ValueError(f"unknown interval {interval!r}")


def bucket_after(start: datetime, interval: str) -> datetime:
    if interval == "hour":
        return start + timedelta(hours=1)
    if interval == "day":
        return start + timedelta(days=1)
    if interval == "week":
        return start + timedelta(days=7)
    year, month = divmod(start.month, 12)
    return start.replace(year=start.year + year, month=month + 1)


def bucket_starts(period: Period, interval: str) -> list[datetime]:
    """Every bucket overlapping the period, empty ones included (the engine leaves those out)."""
    starts, current = [], bucket_floor(period.since, interval)
    while current < period.until:
        starts.append(current)
        current = bucket_after(current, interval)
    return starts


@dataclass(frozen=True)
class BusinessHours:
    """Local whole hours [start, end) on the given weekdays (0 = Monday) in an IANA zone."""

    start: int
    end: int
    days: frozenset[int]
    zone: str

    def tz(self) -> ZoneInfo:
        return load_zone(self.zone)

    def contains_local(self, local: datetime) -> bool:
        return local.weekday() in self.days and self.start <= local.hour < self.end

    def contains(self, moment: datetime) -> bool:
        return self.contains_local(moment.astimezone(self.tz()))

    def describe(self) -> str:
        return f"{self.start:02d}:00–{self.end:02d}:00 {days_label(self.days)}, {self.zone}"


def load_zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"unknown time zone {name!r}: use an IANA name such as Europe/Paris "
            "(without a system zone database, install rdsaudit[report])"
        ) from None


def parse_hours(text: str) -> tuple[int, int]:
    match = re.fullmatch(r"(\d{1,2})-(\d{1,2})", text.strip())
    if not match or not 0 <= int(match[1]) < int(match[2]) <= 24:
        raise ConfigError(f"business hours must be START-END in whole hours, 0 <= START < END <= 24; got {text!r}")
    return int(match[1]), int(match[2])


def parse_days(text: str) -> frozenset[int]:
    """`mon-fri`, `sun-thu` (wrapping), or a list such as `mon,wed,fri`."""
    days: set[int] = set()
    for part in text.lower().replace(" ", "").split(","):
        first, _, last = part.partition("-")
        if first not in DAY_NAMES or (last and last not in DAY_NAMES):
            raise ConfigError(f"business days must be day names like mon-fri or mon,tue,wed; got {text!r}")
        a = DAY_NAMES.index(first)
        b = DAY_NAMES.index(last) if last else a
        days.update((a + i) % 7 for i in range((b - a) % 7 + 1))
    return frozenset(days)


def days_label(days: frozenset[int]) -> str:
    ordered = sorted(days)
    if ordered == list(range(ordered[0], ordered[-1] + 1)) and len(ordered) > 2:
        return f"{DAY_NAMES[ordered[0]].title()}–{DAY_NAMES[ordered[-1]].title()}"
    return ", ".join(DAY_NAMES[d].title() for d in ordered)


def outside_intervals(period: Period, hours: BusinessHours) -> list[tuple[datetime, datetime]]:
    """The UTC intervals of the period outside business hours, in order and disjoint (queries can OR them)."""
    tz = hours.tz()
    inside: list[tuple[datetime, datetime]] = []
    day: date = period.since.astimezone(tz).date() - timedelta(days=1)
    while datetime.combine(day, time(), tz) < period.until:
        if day.weekday() in hours.days:
            start = datetime.combine(day, time(hours.start), tz).astimezone(UTC)
            end_day = day + timedelta(days=1) if hours.end == 24 else day
            end = datetime.combine(end_day, time(hours.end % 24), tz).astimezone(UTC)
            inside.append((max(start, period.since), min(end, period.until)))
        day += timedelta(days=1)
    outside, cursor = [], period.since
    for start, end in inside:
        if start >= end:
            continue
        if start > cursor:
            outside.append((cursor, start))
        cursor = max(cursor, end)
    if cursor < period.until:
        outside.append((cursor, period.until))
    return outside
