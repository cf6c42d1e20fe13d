"""Property tests: the EventBridge schedule `to_aws` produces fires exactly when croniter says the unix
cron fires, over a full year, in five time zones, across DST transitions.

croniter is the reference for unix cron semantics; `AwsSchedule` evaluates the AWS expression with
its own parser. The only allowed differences are the two documented DST cases (docs/cron.md,
"DST"): EventBridge Scheduler does not run a wall-clock time skipped by spring-forward (croniter
may run it at the end of the gap), and runs a wall-clock time repeated by fall-back once, at its
first occurrence (croniter runs both). `expected_aws_fires` removes exactly those croniter fires,
and checks each removal against the rule before removing it.

How a year is compared without iterating half a million every-minute fires through croniter: a
unix schedule fires at (day, hour, minute) for every matching day x hour x minute, so the year is
compared factor by factor (the set of days of 2028 from croniter against the AWS evaluator, then
hours, then minutes), and end to end (in the schedule's zone) over a window around every DST
transition plus the whole year when it has at most FULL_YEAR_LIMIT fires, else its first fires.

Deterministic (`derandomize=True`, no example database). Run just these with
`.venv/bin/pytest tests/unit/test_cron_properties.py -q`; set FERRY_CRON_EXAMPLES to scale the
number of examples (e.g. 10 for a 10x longer run).
"""

from __future__ import annotations

import functools
import os
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from croniter import croniter
from croniter.croniter import CroniterBadDateError
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from ferry.domain.cron import UnixCron, parse_cron
from ferry.domain.cron_aws import SCHEDULED_TIME, AwsSchedule, is_duplicate_firing, to_aws
from ferry.domain.errors import InvalidInput

ZONES = ("UTC", "Europe/Berlin", "America/New_York", "Australia/Sydney", "Asia/Kolkata")
YEAR_START = datetime(2028, 1, 1, tzinfo=UTC)  # 2028 is a leap year
YEAR_END = datetime(2029, 1, 1, tzinfo=UTC)
FULL_YEAR_LIMIT = 600
FIRST_FIRES = 40
DST_WINDOW = timedelta(hours=2)

_SCALE = float(os.environ.get("FERRY_CRON_EXAMPLES", "1"))
SETTINGS = {
    "deadline": None,
    "derandomize": True,
    "database": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
}

# The refusal `parse_cron` gives a syntactically valid unix cron that never fires. `to_aws` refuses
# none: both day fields restricted (unix OR) becomes two Scheduler expressions.
NEVER_FIRES_REFUSAL = "never fire"


# --- generating valid unix cron expressions -----------------------------------------------------------

MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
WEEKDAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
FIELDS = {  # name: (low, high, names); high is the highest accepted input (7 = Sunday in day-of-week)
    "minute": (0, 59, ()),
    "hour": (0, 23, ()),
    "dom": (1, 31, ()),
    "month": (1, 12, MONTHS),
    "dow": (0, 7, WEEKDAYS),
}


# Forms where unix cron implementations disagree or conversions go wrong, drawn more often than chance.
TRICKY = {
    "minute": ("0-59", "*/1", "59/15", "*/60", "58-59/2"),
    "hour": ("0-23", "*/1", "23/5", "*/24", "1-3", "2"),
    "dom": ("1-31", "*/1", "*/2", "2/2", "31", "29-31", "30/2"),
    "month": ("1-12", "JAN-DEC", "*/1", "2", "FEB", "*/2", "12/3"),
    "dow": ("7", "SUN", "0-7", "SUN-SAT", "5-7", "FRI-SUN", "1-7/2", "*/1", "6/2", "0-6"),
}
NUMBER, UPPER, LOWER, TITLE = range(4)


def spell(field: str, value: int, style: int) -> str:
    """`value` as a number, or as a name (in some letter case) where the field has names."""
    low, _, names = FIELDS[field]
    if not names or style == NUMBER:
        return str(value)
    name = names[value - low if field == "month" else value % 7]
    return (str.upper, str.lower, str.title)[style - 1](name)


def spell_range(field: str, bounds: list[int], start_style: int, end_style: int) -> str:
    a, b = bounds
    if (field, a, b) == ("dow", 0, 7):
        end_style = NUMBER  # "SUN" ends a range as 7 ("FRI-SUN"), but "0-SUN" has equal ends: refused
    return f"{spell(field, a, start_style)}-{spell(field, b, end_style)}"


def field_texts(field: str, high: int | None = None) -> st.SearchStrategy[str]:
    """Valid unix cron text for one field: "*" or a list of 1-3 items of every form (values up to
    `high` when given)."""
    low, field_high, names = FIELDS[field]
    high = field_high if high is None else high
    span = high - low + 1
    style = st.integers(NUMBER, TITLE) if names else st.just(NUMBER)
    steps = st.integers(1, span)
    value = st.builds(functools.partial(spell, field), st.integers(low, high), style)
    star_step = st.integers(1, span + 2).map("*/{}".format)
    start_high = 6 if field == "dow" else high  # "7/n" is refused on purpose
    start_step = st.builds(
        "{}/{}".format, st.builds(functools.partial(spell, field), st.integers(low, start_high), style), steps
    )
    bounds = st.lists(st.integers(low, high), min_size=2, max_size=2, unique=True).map(sorted)
    range_ = st.builds(functools.partial(spell_range, field), bounds, style, style)
    range_step = st.builds("{}/{}".format, range_, steps)
    tricky = st.sampled_from(TRICKY[field])
    item = st.one_of(value, range_, star_step, range_step, start_step, tricky)
    items = st.lists(item, min_size=1, max_size=3).map(",".join)
    return st.one_of(items, items, items, st.just("*"))


FIELD_TEXTS = tuple(field_texts(name) for name in FIELDS)
SEPARATORS = st.sampled_from((" ", " ", "  ", "\t"))
PADDING = st.sampled_from(("", "", " ", "\t", " \n"))


def join_fields(parts: tuple[str, ...]) -> str:
    *fields, separators = parts
    return "".join(f + s for f, s in zip(fields, [*separators, ""], strict=True))


def join_text(padding: str, zone: str | None, separator: str, body: str, trailer: str) -> str:
    prefix = "" if zone is None else f"CRON_TZ={zone}{separator}"
    return padding + prefix + body + trailer


BODIES = st.tuples(*FIELD_TEXTS, st.lists(SEPARATORS, min_size=4, max_size=4)).map(join_fields)
CRON_TEXTS = st.builds(join_text, PADDING, st.sampled_from((None, *ZONES)), SEPARATORS, BODIES, PADDING)
# For the year-long test: hours near the DST transitions (01:00-03:00 local in the zones with DST)
# half of the time, and the zones with DST more often.
NEAR_DST_HOURS = st.one_of(FIELD_TEXTS[1], field_texts("hour", high=4))
# Both day fields restricted (two Scheduler expressions, unix OR) a third of the time.
DAY_FIELDS = st.one_of(
    st.tuples(FIELD_TEXTS[2], st.just("*")),
    st.tuples(st.just("*"), FIELD_TEXTS[4]),
    st.tuples(FIELD_TEXTS[2], FIELD_TEXTS[4]),
)
NEAR_DST_BODIES = st.builds(
    lambda minute, hour, days, month, separators: join_fields(
        (minute, hour, days[0], month, days[1], separators)
    ),
    FIELD_TEXTS[0],
    NEAR_DST_HOURS,
    DAY_FIELDS,
    FIELD_TEXTS[3],
    st.lists(SEPARATORS, min_size=4, max_size=4),
)
DST_ZONES = st.sampled_from((*ZONES, "Europe/Berlin", "America/New_York", "Australia/Sydney"))
YEAR_TEXTS = st.builds(join_text, PADDING, DST_ZONES, SEPARATORS, NEAR_DST_BODIES, PADDING)


# --- the reference, and the documented DST differences -------------------------------------------------


def croniter_fires(expression: str, zone: ZoneInfo, start: datetime, end: datetime) -> list[datetime]:
    """croniter's fires in [start, end) for `expression` evaluated in `zone`, as UTC instants."""
    iterator = croniter(expression, (start - timedelta(minutes=1)).astimezone(zone), ret_type=datetime)
    fires = []
    while True:
        try:
            instant = iterator.get_next().astimezone(UTC)
        except CroniterBadDateError:
            return fires
        if instant >= end:
            return fires
        if instant >= start:
            fires.append(instant)


def croniter_naive(expression: str, start: datetime, end: datetime) -> list[datetime]:
    """croniter's fires in [start, end) on a naive wall clock (no time zone, no DST)."""
    iterator = croniter(expression, start - timedelta(minutes=1), ret_type=datetime)
    fires = []
    while (moment := iterator.get_next()) < end:
        if moment >= start:
            fires.append(moment)
    return fires


def is_gap_end(instant: datetime, zone: ZoneInfo) -> bool:
    """True for the first instant after a spring-forward transition (e.g. 03:00 CEST)."""
    before = (instant - timedelta(minutes=1)).astimezone(zone).utcoffset()
    after = instant.astimezone(zone).utcoffset()
    assert before is not None and after is not None
    return after > before


def is_second_occurrence(instant: datetime, zone: ZoneInfo) -> bool:
    """True when `instant`'s wall-clock time is repeated by fall-back and this is its later run."""
    local = instant.astimezone(zone)
    return local.fold == 1 and local.replace(fold=0).utcoffset() != local.utcoffset()


def expected_aws_fires(expression: str, zone: ZoneInfo, fires: list[datetime]) -> set[datetime]:
    """croniter's fires minus the two documented DST differences, each checked to be one."""
    expected = set()
    for instant in fires:
        local = instant.astimezone(zone)
        if is_second_occurrence(instant, zone):
            # Documented difference 1: a repeated wall-clock time runs once on AWS. The first
            # occurrence must be among croniter's fires too.
            first = local.replace(fold=0).astimezone(UTC)
            assert first in fires or first < fires[0], f"{expression}: {local} has no first occurrence"
            event("DST difference: croniter also fires at the second occurrence")
            continue
        if is_gap_end(instant, zone) and not croniter.match(expression, local.replace(tzinfo=None)):
            # Documented difference 2: croniter moved a wall-clock time skipped by spring-forward to
            # the end of the gap; AWS skips it.
            event("DST difference: croniter fires at the end of a spring-forward gap")
            continue
        expected.add(instant)
    return expected


@functools.cache
def transitions(zone_name: str) -> tuple[datetime, ...]:
    """The UTC offset changes of `zone_name` during the test year, to the minute."""
    zone = ZoneInfo(zone_name)
    found = []
    moment = YEAR_START
    offset = moment.astimezone(zone).utcoffset()
    while moment < YEAR_END:
        later = moment + timedelta(hours=1)
        if later.astimezone(zone).utcoffset() != offset:
            minute = moment
            while minute.astimezone(zone).utcoffset() == offset:
                minute += timedelta(minutes=1)
            found.append(minute)
            offset = later.astimezone(zone).utcoffset()
        moment = later
    return tuple(found)


def aws_fields(expression: str) -> list[str]:
    assert expression.startswith("cron(") and expression.endswith(")")
    return expression[len("cron(") : -1].split(" ")


def assert_shape_of_conversion(cron: UnixCron, schedule: AwsSchedule) -> None:
    """Two expressions exactly when both day fields are restricted (unless the day-of-month values
    never occur), differing only in which day field is `?`."""
    both = cron.day_of_month_restricted and cron.day_of_week_restricted
    if schedule.second_expression is None:
        return
    event("two Scheduler expressions: day-of-month OR day-of-week")
    assert both
    first, second = aws_fields(schedule.expression), aws_fields(schedule.second_expression)
    assert first[4] == "?" and second[2] == "?" and first[2] != "?" and second[4] != "?"
    assert first[:2] + first[3:4] + first[5:] == second[:2] + second[3:4] + second[5:]


def dispatched_fires(schedule: AwsSchedule, start: datetime, end: datetime) -> list[datetime]:
    """What reaches destinations: every firing of the first expression, and those of the second
    that the dispatcher does not drop as duplicates (`is_duplicate_firing`, given the instant as
    EventBridge substitutes SCHEDULED_TIME)."""
    fires = list(AwsSchedule(schedule.expression, schedule.timezone).fire_times(start, end))
    if schedule.second_expression is not None:
        assert SCHEDULED_TIME.startswith("<aws.scheduler.")
        for instant in AwsSchedule(schedule.second_expression, schedule.timezone).fire_times(start, end):
            substituted = instant.strftime("%Y-%m-%dT%H:%M:%SZ")
            if not is_duplicate_firing(substituted, schedule.expression, schedule.timezone):
                fires.append(instant)
    return sorted(fires)


def assert_restriction_flags_match_croniter(cron: UnixCron) -> None:
    """croniter applies OR to the day fields when neither expands to its wildcard."""
    expanded, _ = croniter.expand(cron.expression)
    assert cron.day_of_month_restricted == (expanded[2][0] != "*")
    assert cron.day_of_week_restricted == (expanded[4][0] != "*")


def parse_or_check_never_fires(text: str) -> UnixCron | None:
    try:
        return parse_cron(text)
    except InvalidInput as refusal:
        assert NEVER_FIRES_REFUSAL in refusal.message, (text, refusal.message)
        zone = ZoneInfo("UTC")
        expression = " ".join(text.split()[-5:])
        try:
            croniter(expression, datetime(2028, 1, 1, tzinfo=zone)).get_next()
        except CroniterBadDateError:
            event("refused: never fires")
            return None
        raise AssertionError(f"{text!r} was refused as never firing, but croniter finds a fire") from None


# --- the properties -----------------------------------------------------------------------------------


@settings(max_examples=int(1000 * _SCALE), **SETTINGS)
@given(text=CRON_TEXTS, start_offset_minutes=st.integers(0, 366 * 24 * 60))
def test_aws_schedule_matches_croniter_on_the_next_fires_from_any_moment(
    text: str, start_offset_minutes: int
) -> None:
    """Many expressions, a short comparison each: the fires after a random moment of the year."""
    cron = parse_or_check_never_fires(text)
    if cron is None:
        return
    assert cron.text == text.strip()
    assert_restriction_flags_match_croniter(cron)
    schedule = to_aws(cron)
    assert_shape_of_conversion(cron, schedule)
    assert schedule.timezone == cron.timezone

    zone = ZoneInfo(cron.timezone)
    start = YEAR_START + timedelta(minutes=start_offset_minutes)
    iterator = croniter(cron.expression, start.astimezone(zone), ret_type=datetime)
    reference = [iterator.get_next().astimezone(UTC) for _ in range(12)]
    end = reference[-1] + timedelta(seconds=1)
    reference = [t for t in reference if t > start]
    actual = [t for t in schedule.fire_times(start, end) if t > start]
    assert set(actual) == expected_aws_fires(cron.expression, zone, reference), text
    assert actual == sorted(actual)
    assert schedule.next_fire_times(start, len(actual)) == actual


@settings(max_examples=int(200 * _SCALE), **SETTINGS)
@given(text=YEAR_TEXTS)
def test_aws_schedule_matches_croniter_over_a_full_year_across_dst(text: str) -> None:
    cron = parse_or_check_never_fires(text)
    if cron is None:
        return
    schedule = to_aws(cron)
    assert_shape_of_conversion(cron, schedule)
    minute, hour, dom, month, dow = cron.fields
    aws_minute, aws_hour, aws_dom, aws_month, aws_dow, aws_year = aws_fields(schedule.expression)
    assert aws_year == "*"
    second_days = None
    if schedule.second_expression is not None:
        _, _, second_dom, _, second_dow, _ = aws_fields(schedule.second_expression)
        second_days = f"cron(0 0 {second_dom} {aws_month} {second_dow} *)"
    naive_start, naive_end = YEAR_START.replace(tzinfo=None), YEAR_END.replace(tzinfo=None)

    # Factor 1: the days of the year (UTC, the time of day fixed at 00:00).
    unix_days = croniter_naive(f"0 0 {dom} {month} {dow}", naive_start, naive_end)
    aws_days = AwsSchedule(f"cron(0 0 {aws_dom} {aws_month} {aws_dow} *)", "UTC", second_days).fire_times(
        YEAR_START, YEAR_END
    )
    assert [d.date() for d in aws_days] == [d.date() for d in unix_days], text

    # Factors 2 and 3: the hours of a day and the minutes of an hour.
    day_end = naive_start + timedelta(days=1)
    unix_hours = [t.hour for t in croniter_naive(f"0 {hour} * * *", naive_start, day_end)]
    aws_hours = AwsSchedule(f"cron(0 {aws_hour} * * ? *)").fire_times(
        YEAR_START, YEAR_START + timedelta(days=1)
    )
    assert [t.hour for t in aws_hours] == unix_hours, text
    hour_end = naive_start + timedelta(hours=1)
    unix_minutes = [t.minute for t in croniter_naive(f"{minute} 0 * * *", naive_start, hour_end)]
    aws_minutes = AwsSchedule(f"cron({aws_minute} 0 * * ? *)").fire_times(
        YEAR_START, YEAR_START + timedelta(hours=1)
    )
    assert [t.minute for t in aws_minutes] == unix_minutes, text

    # End to end in the schedule's zone: windows around the DST transitions, and the whole year when
    # it is small enough, else the first fires of the year.
    zone = ZoneInfo(cron.timezone)
    windows = [(t - DST_WINDOW, t + DST_WINDOW) for t in transitions(cron.timezone)]
    event(f"zone: {cron.timezone}")
    if len(unix_days) * len(unix_hours) * len(unix_minutes) <= FULL_YEAR_LIMIT:
        event("compared end to end over the whole year")
        windows.append((YEAR_START, YEAR_END))
    else:
        iterator = croniter(
            cron.expression, (YEAR_START - timedelta(minutes=1)).astimezone(zone), ret_type=datetime
        )
        first = [iterator.get_next().astimezone(UTC) for _ in range(FIRST_FIRES)]
        windows.append((YEAR_START, first[-1] + timedelta(seconds=1)))
    for start, end in windows:
        reference = croniter_fires(cron.expression, zone, start, end)
        actual = list(schedule.fire_times(start, end))
        assert actual == sorted(set(actual)), text
        assert set(actual) == expected_aws_fires(cron.expression, zone, reference), (text, start, end)
        assert dispatched_fires(schedule, start, end) == actual, (text, start, end)


@settings(max_examples=int(1500 * _SCALE), **SETTINGS)
@given(text=st.text(alphabet="0123456789*/-,? \tLW#HJANMONSUCRTZ=@/ly", max_size=40))
def test_any_text_is_either_accepted_or_refused_with_invalid_input(text: str) -> None:
    """No input crashes the parser or the converter; anything accepted converts and evaluates."""
    try:
        cron = parse_cron(text)
        schedule = to_aws(cron)
    except InvalidInput as refusal:
        assert refusal.field == "Upstash-Cron"
        assert refusal.message.startswith("Upstash-Cron: ")
        return
    assert len(schedule.expression) <= 256
    schedule.next_fire_times(YEAR_START, 3)
