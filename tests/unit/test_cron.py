"""`Upstash-Cron` parsing, conversion to EventBridge Scheduler cron, and the AWS cron evaluator.

The exhaustive comparison with croniter lives in test_cron_properties.py; these are the readable
cases, one rule per test.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from croniter import croniter

from ferry.domain.cron import parse_cron
from ferry.domain.cron_aws import SCHEDULED_TIME, AwsSchedule, is_duplicate_firing, to_aws
from ferry.domain.cron_aws_evaluator import AwsCronError
from ferry.domain.errors import InvalidInput
from tests.support.cron_reference import unix_fire_times

FIELD = "Upstash-Cron"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def local(zone: str, *args: int, fold: int = 0) -> datetime:
    return datetime(*args, tzinfo=ZoneInfo(zone), fold=fold)


def refusal(text: str) -> str:
    with pytest.raises(InvalidInput) as caught:
        to_aws(parse_cron(text))
    assert caught.value.field == FIELD
    assert caught.value.status == 400
    assert caught.value.message.startswith("Upstash-Cron: ")
    return caught.value.message


def aws(text: str) -> str:
    return to_aws(parse_cron(text)).expression


# --- parse_cron: what is accepted -----------------------------------------------------------------------


def test_trailing_whitespace_is_trimmed() -> None:
    cron = parse_cron("*/10 * * * * ")
    assert cron.text == "*/10 * * * *"
    assert cron.expression == "*/10 * * * *"


def test_surrounding_whitespace_and_tabs_between_fields_are_accepted() -> None:
    cron = parse_cron("  \t0  9\t* *   1-5\n")
    assert cron.text == "0  9\t* *   1-5"
    assert cron.expression == "0 9 * * 1-5"


def test_default_timezone_is_utc() -> None:
    schedule = to_aws(parse_cron("0 9 * * *"))
    assert schedule.timezone == "UTC"


def test_cron_tz_prefix_sets_timezone() -> None:
    cron = parse_cron("CRON_TZ=Europe/Berlin 0 9 * * 1-5")
    assert cron.timezone == "Europe/Berlin"
    assert cron.text == "CRON_TZ=Europe/Berlin 0 9 * * 1-5"
    assert cron.expression == "0 9 * * 1-5"
    assert to_aws(cron) == AwsSchedule("cron(0 9 ? * 2-6 *)", "Europe/Berlin")


@pytest.mark.parametrize("zone", ["America/New_York", "Australia/Sydney", "Asia/Kolkata", "UTC", "Etc/GMT+5"])
def test_any_iana_zone_is_accepted(zone: str) -> None:
    assert parse_cron(f"CRON_TZ={zone}\t0 0 * * *").timezone == zone


@pytest.mark.parametrize(
    "zone", ["Mars/Olympus", "europe/berlin", "localtime", "posix/Europe/Berlin", "../x", ""]
)
def test_unknown_timezone_is_refused(zone: str) -> None:
    message = refusal(f"CRON_TZ={zone} 0 0 * * *")
    assert "time zone" in message


def test_tz_prefix_must_be_spelled_cron_tz() -> None:
    assert 'write the time zone prefix as "CRON_TZ=UTC"' in refusal("TZ=UTC 0 0 * * *")


def test_cron_tz_prefix_alone_is_refused() -> None:
    assert "nothing follows the time zone prefix" in refusal("CRON_TZ=UTC ")


@pytest.mark.parametrize(
    ("text", "minutes", "hours", "days", "months", "weekdays"),
    [
        ("* * * * *", range(60), range(24), range(1, 32), range(1, 13), range(7)),
        ("5 4 3 2 1", [5], [4], [3], [2], [1]),
        ("*/15 */6 */10 */4 */3", [0, 15, 30, 45], [0, 6, 12, 18], [1, 11, 21, 31], [1, 5, 9], [0, 3, 6]),
        ("10-20/5 1-5 1-3 1-3 1-3", [10, 15, 20], [1, 2, 3, 4, 5], [1, 2, 3], [1, 2, 3], [1, 2, 3]),
        ("50/3 20/2 28/2 11/1 5/1", [50, 53, 56, 59], [20, 22], [28, 30], [11, 12], [5, 6]),
        ("59/15 23/5 31/2 12/3 6/2", [59], [23], [31], [12], [6]),
        ("1,2,3 4,5 6,7 8,9 0,6", [1, 2, 3], [4, 5], [6, 7], [8, 9], [0, 6]),
        ("*/100 * * * *", [0], range(24), range(1, 32), range(1, 13), range(7)),
    ],
)
def test_field_forms_select_the_unix_values(text, minutes, hours, days, months, weekdays) -> None:
    cron = parse_cron(text)
    assert cron.minutes == frozenset(minutes)
    assert cron.hours == frozenset(hours)
    assert cron.days_of_month == frozenset(days)
    assert cron.months == frozenset(months)
    assert cron.days_of_week == frozenset(weekdays)


def test_month_and_weekday_names_are_case_insensitive() -> None:
    for text in ("0 0 * jan-Mar,DEC mon,Wed,FRI", "0 0 * JAN-MAR,dec MON,wed,fri", "0 0 * 1-3,12 1,3,5"):
        cron = parse_cron(text)
        assert cron.months == {1, 2, 3, 12}
        assert cron.days_of_week == {1, 3, 5}


def test_sunday_is_0_or_7_or_sun() -> None:
    for text in ("0 0 * * 0", "0 0 * * 7", "0 0 * * SUN", "0 0 * * sun"):
        assert parse_cron(text).days_of_week == {0}


def test_day_of_week_range_may_end_on_sunday() -> None:
    assert parse_cron("0 0 * * 5-7").days_of_week == {5, 6, 0}
    assert parse_cron("0 0 * * FRI-SUN").days_of_week == {5, 6, 0}
    assert parse_cron("0 0 * * 1-7/2").days_of_week == {1, 3, 5, 0}
    assert parse_cron("0 0 * * 0-7").days_of_week == set(range(7))


@pytest.mark.parametrize(
    ("macro", "expression"),
    [
        ("@yearly", "0 0 1 1 *"),
        ("@annually", "0 0 1 1 *"),
        ("@monthly", "0 0 1 * *"),
        ("@weekly", "0 0 * * 0"),
        ("@daily", "0 0 * * *"),
        ("@midnight", "0 0 * * *"),
        ("@hourly", "0 * * * *"),
        ("@DAILY", "0 0 * * *"),
    ],
)
def test_macros_stand_for_their_five_field_form(macro: str, expression: str) -> None:
    cron = parse_cron(f"CRON_TZ=Asia/Kolkata {macro} ")
    assert cron.expression == expression
    assert cron.text == f"CRON_TZ=Asia/Kolkata {macro}"
    start, end = utc(2028, 1, 1), utc(2029, 3, 1)
    unix = list(itertools.islice(unix_fire_times(cron, start, end), 20))
    assert unix == list(itertools.islice(to_aws(cron).fire_times(start, end), 20))


# --- parse_cron: what is refused, and how the message says it ---------------------------------------------


def test_out_of_range_minute_is_refused_naming_the_field() -> None:
    assert refusal("61 * * * *") == 'Upstash-Cron: minute field "61" is out of range 0-59'


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("0 24 * * *", 'hour field "24" is out of range 0-23'),
        ("0 0 0 * *", 'day-of-month field "0" is out of range 1-31'),
        ("0 0 32 * *", 'day-of-month field "32" is out of range 1-31'),
        ("0 0 * 0 *", 'month field "0" is out of range 1-12'),
        ("0 0 * 13 *", 'month field "13" is out of range 1-12'),
        ("0 0 * * 8", 'day-of-week field "8" is out of range 0-7'),
        ("5,61 * * * *", 'minute field "5,61": 61 is out of range 0-59'),
        ("0-60 * * * *", 'minute field "0-60": 60 is out of range 0-59'),
        ("00000000000001 * * * *", "out of range 0-59"),
    ],
)
def test_out_of_range_values_are_refused_naming_field_and_range(text: str, message: str) -> None:
    assert message in refusal(text)


@pytest.mark.parametrize(
    ("text", "count"), [("* * * *", 4), ("0 * * * * *", 6), ("0 0 * * * * 2030", 7), ("0", 1)]
)
def test_wrong_number_of_fields_is_refused(text: str, count: int) -> None:
    assert f"has {count} fields, expected 5" in refusal(text)


@pytest.mark.parametrize("text", ["", "   ", "\t\n"])
def test_empty_value_is_refused(text: str) -> None:
    assert "empty" in refusal(text)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("0 0 ? * *", '"?" is not unix cron syntax; use "*"'),
        ("0 0 * * ?", '"?" is not unix cron syntax'),
        ("0 0 L * *", '"L" (last day) is not supported'),
        ("0 0 * * 5L", '"L" (last day) is not supported'),
        ("0 0 LW * *", '"L" (last day) is not supported'),
        ("0 0 15W * *", '"W" (nearest weekday) is not supported'),
        ("0 0 * * 5#3", '"#" (nth weekday of the month) is not supported'),
        ("H * * * *", '"H" (hashed or random values) is not supported'),
        ("H/15 * * * *", '"H" (hashed or random values) is not supported'),
        ("@reboot", '"@reboot" is not supported'),
        ("@every 5m", '"@every" is not supported'),
    ],
)
def test_quartz_jenkins_and_vixie_extensions_are_refused_with_the_reason(text: str, reason: str) -> None:
    assert reason in refusal(text)


def test_a_cron_over_512_characters_is_refused_not_cut() -> None:
    long = "0 0 * * " + ",".join(["1"] * 252)  # 8 + 503 = 511 characters: accepted
    assert parse_cron(long).text == long
    longer = long + ",1"
    assert "at most 512" in refusal(longer)


def test_descending_range_is_refused_with_a_rewrite() -> None:
    message = refusal("0 22-2 * * *")
    assert 'hour field "22-2": the range "22-2" runs backwards' in message
    assert '"22-23,0-2"' in message
    assert "runs backwards" in refusal("0 0 * NOV-FEB *")
    assert "runs backwards" in refusal("0 0 * * SAT-MON")


def test_range_with_equal_ends_is_refused() -> None:
    # croniter reads "5-5" as every minute and "SUN-SUN" as every day; a user means the one value.
    assert 'the range "5-5" has equal ends; write the single value "5"' in refusal("5-5 * * * *")
    assert "equal ends" in refusal("0 0 * * SUN-SUN")
    assert "equal ends" in refusal("0 0 * * 0-SUN")
    assert "equal ends" in refusal("0 0 * * 7-7")


def test_zero_step_is_refused() -> None:
    assert 'the step in "*/0" must be a whole number from 1' in refusal("*/0 * * * *")


def test_step_starting_at_7_in_day_of_week_is_refused() -> None:
    # croniter reads "7/2" as 0,2,4,6 (Sunday, Tuesday, ...); other crons read it as Sunday only.
    assert "use 0 for Sunday" in refusal("0 0 * * 7/2")


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("*,5 * * * *", '"*" cannot be combined with other values in a list'),
        ("1,,2 * * * *", "empty list item"),
        ("*-5 * * * *", "write a range as a-b or a step as */n"),
        ("0 0 MON * *", '"MON" is not a number; day-of-month takes 1-31'),
        ("0 0 * * FOO", '"FOO" is not a day-of-week name (SUN-SAT)'),
        ("0 0 * JANUARY *", '"JANUARY" is not a month name (JAN-DEC)'),
        ("-5 * * * *", "is not valid"),
        ("1.5 * * * *", "is not valid"),
        ("\uff15 * * * *", "is not valid"),  # a full-width digit,
    ],
)
def test_malformed_fields_are_refused(text: str, reason: str) -> None:
    assert reason in refusal(text)


@pytest.mark.parametrize("text", ["0 0 30 2 *", "0 0 31 4,6,9,11 *", "0 0 30-31 FEB *"])
def test_a_day_that_never_occurs_is_refused(text: str) -> None:
    assert "so the schedule would never fire" in refusal(text)


def test_february_29th_is_accepted_and_fires_in_leap_years() -> None:
    schedule = to_aws(parse_cron("0 12 29 2 *"))
    assert schedule.expression == "cron(0 12 29 2 ? *)"
    assert schedule.next_fire_times(utc(2025, 1, 1), 2) == [utc(2028, 2, 29, 12), utc(2032, 2, 29, 12)]


# --- the day-of-month / day-of-week rule -------------------------------------------------------------


def test_both_day_fields_restricted_become_two_scheduler_expressions() -> None:
    # Unix cron fires on days matching EITHER field; one EventBridge expression has one day field.
    schedule = to_aws(parse_cron("0 9 1 * MON"))
    assert schedule.expression == "cron(0 9 1 * ? *)"
    assert schedule.second_expression == "cron(0 9 ? * 2 *)"
    assert schedule.expressions == ("cron(0 9 1 * ? *)", "cron(0 9 ? * 2 *)")


def test_two_expressions_fire_on_the_union_of_the_days_each_instant_once() -> None:
    # 2029-01-01 is a Monday: both fields match, and it fires once.
    schedule = to_aws(parse_cron("0 9 1 * MON"))
    assert schedule.next_fire_times(utc(2028, 12, 31), 4) == [
        utc(2029, 1, 1, 9),
        utc(2029, 1, 8, 9),
        utc(2029, 1, 15, 9),
        utc(2029, 1, 22, 9),
    ]
    assert schedule.next_fire_times(utc(2029, 1, 22, 9), 3) == [
        utc(2029, 1, 29, 9),
        utc(2029, 2, 1, 9),
        utc(2029, 2, 5, 9),
    ]


def test_the_suites_one_one_one_one_one_is_expressed() -> None:
    # The qstash-py suite's "1 1 1 1 1": 01:01 on January 1st and on every Monday in January.
    schedule = to_aws(parse_cron("1 1 1 1 1"))
    assert schedule.expressions == ("cron(1 1 1 1 ? *)", "cron(1 1 ? 1 2 *)")


def test_a_second_firing_on_an_instant_the_first_also_fires_is_a_duplicate() -> None:
    schedule = to_aws(parse_cron("0 9 1 * MON"))
    assert is_duplicate_firing("2029-01-01T09:00:00Z", schedule.expression, schedule.timezone)
    assert not is_duplicate_firing("2029-01-08T09:00:00Z", schedule.expression, schedule.timezone)
    # An unsubstituted placeholder fires rather than being lost.
    assert not is_duplicate_firing(SCHEDULED_TIME, schedule.expression, schedule.timezone)


def test_duplicates_follow_the_schedules_time_zone() -> None:
    # 09:00 on the 1st in Tokyo is 00:00 UTC on the 1st; a Monday the 1st fires once there.
    schedule = to_aws(parse_cron("CRON_TZ=Asia/Tokyo 0 9 1 * MON"))
    assert is_duplicate_firing("2029-01-01T00:00:00Z", schedule.expression, schedule.timezone)
    assert not is_duplicate_firing("2029-01-01T09:00:00Z", schedule.expression, schedule.timezone)


def test_a_star_step_day_field_counts_as_restricted_like_croniter() -> None:
    # Vixie cron would AND these ("*/2" starts with "*"); croniter, our reference, ORs them.
    assert to_aws(parse_cron("0 0 */2 * 1-5")).expressions == ("cron(0 0 1/2 * ? *)", "cron(0 0 ? * 2-6 *)")


def test_a_full_day_of_month_next_to_a_starless_day_of_week_counts_as_restricted() -> None:
    # croniter: "1-31" is restricted beside "MON-FRI" (no "*"), so it ORs: every day fires.
    schedule = to_aws(parse_cron("0 0 1-31 * MON-FRI"))
    assert schedule.expressions == ("cron(0 0 * * ? *)", "cron(0 0 ? * 2-6 *)")
    assert schedule.next_fire_times(utc(2028, 1, 1), 3) == [utc(2028, 1, 2), utc(2028, 1, 3), utc(2028, 1, 4)]


def test_a_day_of_month_that_never_occurs_leaves_only_the_day_of_week_expression() -> None:
    assert to_aws(parse_cron("0 0 30 2 MON")) == AwsSchedule("cron(0 0 ? 2 2 *)", "UTC")


@pytest.mark.parametrize(
    "text",
    [
        "0 0 * * *",
        "0 0 1 * *",
        "0 0 * * 1",
        "0 0 */2 * *",
        "0 0 * * */2",
        "0 0 1-31 * */2",
        "0 0 */2 * 0-6",
        "0 0 */1 * *",
        "0 0 */2 * */2",
        "0 0 1 * 1",
        "0 0 1-31 * 0-6",
        "0 0 */1 * 1-5",
        "0 0 * * 0-7",
    ],
)
def test_restriction_flags_follow_croniter(text: str) -> None:
    cron = parse_cron(text)
    expanded, _ = croniter.expand(text)
    assert cron.day_of_month_restricted == (expanded[2][0] != "*")
    assert cron.day_of_week_restricted == (expanded[4][0] != "*")


# --- to_aws --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expression"),
    [
        ("*/5 * * * *", "cron(0/5 * * * ? *)"),
        ("* * * * *", "cron(* * * * ? *)"),
        ("0 * * * *", "cron(0 * * * ? *)"),
        ("30 2 * * *", "cron(30 2 * * ? *)"),
        ("5/15 */2 * * *", "cron(5/15 0/2 * * ? *)"),
        ("0-30/10 * * * *", "cron(0,10,20,30 * * * ? *)"),  # stops before the end: a list, not 0/10
        ("10-59/10 * * * *", "cron(10/10 * * * ? *)"),
        ("0,30 9-17 * * *", "cron(0,30 9-17 * * ? *)"),
        ("0 8,9,10,12 * * *", "cron(0 8-10,12 * * ? *)"),
        ("0 0 1 * *", "cron(0 0 1 * ? *)"),
        ("0 0 */10 * *", "cron(0 0 1/10 * ? *)"),
        ("0 0 15 * *", "cron(0 0 15 * ? *)"),
        ("0 0 1 JAN,jul *", "cron(0 0 1 1,7 ? *)"),
        ("0 0 1 */3 *", "cron(0 0 1 1/3 ? *)"),
        ("0 0 1-31 * *", "cron(0 0 * * ? *)"),
        ("0 0 * 1-12 *", "cron(0 0 * * ? *)"),
        ("0 0 1-31 * */2", "cron(0 0 ? * 1,3,5,7 *)"),
        ("0 0 */2 * 0-6", "cron(0 0 1/2 * ? *)"),
        ("0 0 * * 0-6", "cron(0 0 * * ? *)"),
    ],
)
def test_conversion_table(text: str, expression: str) -> None:
    assert aws(text) == expression


def test_every_five_minutes_converts_to_an_aws_increment() -> None:
    assert to_aws(parse_cron("*/5 * * * *")) == AwsSchedule("cron(0/5 * * * ? *)", "UTC")


def test_weekday_names_convert_to_aws_numbering() -> None:
    # unix 0-6 = SUN-SAT, AWS 1-7 = SUN-SAT
    assert aws("0 9 * * MON-FRI") == "cron(0 9 ? * 2-6 *)"
    assert aws("0 9 * * 1-5") == "cron(0 9 ? * 2-6 *)"
    assert aws("0 9 * * SAT,SUN") == "cron(0 9 ? * 1,7 *)"


def test_sunday_as_0_or_7_converts_to_aws_1() -> None:
    assert aws("0 9 * * 0") == aws("0 9 * * 7") == aws("0 9 * * sun") == "cron(0 9 ? * 1 *)"


def test_day_of_week_steps_become_lists() -> None:
    # AWS documents no "/" for day-of-week; unix */2 is SUN,TUE,THU,SAT = AWS 1,3,5,7.
    assert aws("0 0 * * */2") == "cron(0 0 ? * 1,3,5,7 *)"
    assert aws("0 0 * * 1/2") == "cron(0 0 ? * 2,4,6 *)"
    assert aws("0 0 * * 5-7/2") == "cron(0 0 ? * 1,6 *)"


def test_day_of_week_range_ending_on_sunday_becomes_a_list() -> None:
    assert aws("0 0 * * FRI-SUN") == "cron(0 0 ? * 1,6,7 *)"
    assert aws("0 0 * * 4-7") == "cron(0 0 ? * 1,5-7 *)"


def test_restricted_day_of_month_puts_question_mark_in_day_of_week_and_vice_versa() -> None:
    assert aws("0 0 15 * *") == "cron(0 0 15 * ? *)"
    assert aws("0 0 * * 3") == "cron(0 0 ? * 4 *)"
    assert aws("0 0 * * *") == "cron(0 0 * * ? *)"


def test_the_longest_possible_expression_fits_eventbridges_limit() -> None:
    # Lists without runs of three compress worst; they still stay under 256 characters.
    minutes = ",".join(str(v) for v in range(60) if v % 3 != 2)
    hours = ",".join(str(v) for v in range(24) if v % 3 != 2)
    days = ",".join(str(v) for v in range(1, 32) if v % 3 != 0)
    months = ",".join(str(v) for v in range(1, 13) if v % 3 != 0)
    expression = aws(f"{minutes} {hours} {days} {months} *")
    assert 230 < len(expression) <= 256


# --- the AWS evaluator -------------------------------------------------------------------------------------


def fires(expression: str, after: datetime, count: int, zone: str = "UTC") -> list[datetime]:
    return AwsSchedule(expression, zone).next_fire_times(after, count)


@pytest.mark.parametrize(
    ("expression", "after", "expected"),
    [
        # The examples in the EventBridge cron reference.
        ("cron(0 10 * * ? *)", utc(2028, 1, 1), [utc(2028, 1, 1, 10), utc(2028, 1, 2, 10)]),
        ("cron(15 12 * * ? *)", utc(2028, 1, 1, 12, 15), [utc(2028, 1, 2, 12, 15), utc(2028, 1, 3, 12, 15)]),
        # 2028-01-01 is a Saturday
        ("cron(0 18 ? * MON-FRI *)", utc(2028, 1, 1), [utc(2028, 1, 3, 18), utc(2028, 1, 4, 18)]),
        ("cron(0 8 1 * ? *)", utc(2028, 1, 1, 9), [utc(2028, 2, 1, 8), utc(2028, 3, 1, 8)]),
        ("cron(0/15 * * * ? *)", utc(2028, 1, 1, 0, 7), [utc(2028, 1, 1, 0, 15), utc(2028, 1, 1, 0, 30)]),
        (
            "cron(0/10 * ? * MON-FRI *)",
            utc(2028, 1, 2, 23, 55),
            [utc(2028, 1, 3, 0, 0), utc(2028, 1, 3, 0, 10)],
        ),
        (
            "cron(0/5 8-17 ? * MON-FRI *)",
            utc(2028, 1, 3, 17, 55),
            [utc(2028, 1, 4, 8, 0), utc(2028, 1, 4, 8, 5)],
        ),
        # Increments start at the given value and run to the field's end.
        ("cron(1/10 * * * ? *)", utc(2028, 1, 1, 0, 45), [utc(2028, 1, 1, 0, 51), utc(2028, 1, 1, 1, 1)]),
        ("cron(0 0 1/10 * ? *)", utc(2028, 1, 21), [utc(2028, 1, 31), utc(2028, 2, 1), utc(2028, 2, 11)]),
        ("cron(0 0 ? * SUN,sat *)", utc(2028, 1, 1), [utc(2028, 1, 2), utc(2028, 1, 8), utc(2028, 1, 9)]),
        ("cron(0 0 1 JAN-FEB,12 ? *)", utc(2028, 1, 1), [utc(2028, 2, 1), utc(2028, 12, 1), utc(2029, 1, 1)]),
    ],
)
def test_aws_evaluator_on_documented_examples(expression, after, expected) -> None:
    assert fires(expression, after, len(expected)) == expected


def test_aws_year_field_limits_the_schedule() -> None:
    schedule = AwsSchedule("cron(0 0 1 1 ? 2029-2030)")
    assert schedule.next_fire_times(utc(2028, 1, 1), 5) == [utc(2029, 1, 1), utc(2030, 1, 1)]
    assert schedule.next_fire_times(utc(2031, 1, 1), 1) == []
    assert fires("cron(0 0 1 1 ? 2030/10)", utc(2028, 1, 1), 2) == [utc(2030, 1, 1), utc(2040, 1, 1)]


def test_next_fire_times_are_strictly_after_and_fire_times_are_half_open() -> None:
    schedule = AwsSchedule("cron(0 * * * ? *)")
    assert schedule.next_fire_times(utc(2028, 1, 1, 1), 1) == [utc(2028, 1, 1, 2)]
    assert list(schedule.fire_times(utc(2028, 1, 1, 1), utc(2028, 1, 1, 3))) == [
        utc(2028, 1, 1, 1),
        utc(2028, 1, 1, 2),
    ]
    assert schedule.next_fire_times(utc(2028, 1, 1), 0) == []


def test_results_are_utc_whatever_the_zone_of_the_input() -> None:
    schedule = AwsSchedule("cron(0 9 * * ? *)", "Europe/Berlin")
    [first] = schedule.next_fire_times(local("America/New_York", 2028, 1, 1), 1)
    assert first == utc(2028, 1, 1, 8)
    assert first.tzinfo is UTC


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        AwsSchedule("cron(0 9 * * ? *)").next_fire_times(datetime(2028, 1, 1), 1)


@pytest.mark.parametrize(
    "expression",
    [
        "0 9 * * ? *",
        "cron(0 9 * * ?)",
        "cron(0 9 * * * *)",
        "cron(0 9 ? * ? *)",
        "cron(60 9 * * ? *)",
        "cron(0 22-2 * * ? *)",
        "cron(0 9 ? * 2#1,3#2 *)",
        "cron(0 9 ? * 2#6 *)",
        "cron(0 9 ? * */2 *)",
        "cron(0 9 * FOO ? *)",
        "cron(0 9 * * ? 1969)",
        "cron(0/0 9 * * ? *)",
    ],
)
def test_aws_evaluator_refuses_malformed_or_undocumented_syntax(expression: str) -> None:
    with pytest.raises(AwsCronError):
        AwsSchedule(expression).next_fire_times(utc(2028, 1, 1), 1)


# --- DST: EventBridge Scheduler's rule -------------------------------------------------------------------


def test_spring_forward_skips_a_time_that_does_not_exist() -> None:
    # Berlin, 2028-03-26: 02:00 CET jumps to 03:00 CEST, so 02:30 does not exist that day.
    schedule = to_aws(parse_cron("CRON_TZ=Europe/Berlin 30 2 * * *"))
    assert schedule.next_fire_times(utc(2028, 3, 25), 2) == [
        local("Europe/Berlin", 2028, 3, 25, 2, 30).astimezone(UTC),
        local("Europe/Berlin", 2028, 3, 27, 2, 30).astimezone(UTC),
    ]


def test_fall_back_runs_a_repeated_time_once_at_its_first_occurrence() -> None:
    # Berlin, 2028-10-29: 03:00 CEST falls back to 02:00 CET, so 02:30 happens twice.
    schedule = to_aws(parse_cron("CRON_TZ=Europe/Berlin 30 2 * * *"))
    assert schedule.next_fire_times(utc(2028, 10, 28, 12), 2) == [
        utc(2028, 10, 29, 0, 30),  # 02:30 CEST, the first occurrence
        utc(2028, 10, 30, 1, 30),  # 02:30 CET the next day
    ]


def test_every_fifteen_minutes_pauses_during_the_repeated_hour() -> None:
    # New York, 2028-11-05: 02:00 EDT falls back to 01:00 EST; the 01:xx times ran already.
    schedule = to_aws(parse_cron("CRON_TZ=America/New_York */15 * * * *"))
    got = list(schedule.fire_times(utc(2028, 11, 5, 5, 0), utc(2028, 11, 5, 7, 1)))
    assert got == [
        utc(2028, 11, 5, 5, 0),  # 01:00 EDT
        utc(2028, 11, 5, 5, 15),
        utc(2028, 11, 5, 5, 30),
        utc(2028, 11, 5, 5, 45),  # 01:45 EDT; 01:00-01:45 EST do not run again
        utc(2028, 11, 5, 7, 0),  # 02:00 EST
    ]


def test_every_fifteen_minutes_skips_the_missing_hour() -> None:
    # New York, 2028-03-12: 02:00 EST jumps to 03:00 EDT.
    schedule = to_aws(parse_cron("CRON_TZ=America/New_York */15 * * * *"))
    got = list(schedule.fire_times(utc(2028, 3, 12, 6, 30), utc(2028, 3, 12, 7, 20)))
    assert got == [
        utc(2028, 3, 12, 6, 30),
        utc(2028, 3, 12, 6, 45),
        utc(2028, 3, 12, 7, 0),
        utc(2028, 3, 12, 7, 15),
    ]


def test_southern_hemisphere_transitions_run_the_other_way_round() -> None:
    # Sydney falls back on 2028-04-02 (03:00 AEDT -> 02:00 AEST) and springs forward on
    # 2028-10-01 (02:00 AEST -> 03:00 AEDT).
    schedule = to_aws(parse_cron("CRON_TZ=Australia/Sydney 30 2 * * *"))
    april = schedule.next_fire_times(local("Australia/Sydney", 2028, 4, 1, 12), 2)
    assert april == [
        local("Australia/Sydney", 2028, 4, 2, 2, 30, fold=0).astimezone(UTC),  # 02:30 AEDT only
        local("Australia/Sydney", 2028, 4, 3, 2, 30).astimezone(UTC),
    ]
    assert april[0] == utc(2028, 4, 1, 15, 30)
    october = schedule.next_fire_times(local("Australia/Sydney", 2028, 9, 30, 12), 2)
    assert october == [
        local("Australia/Sydney", 2028, 10, 2, 2, 30).astimezone(UTC),  # none on 10-01
        local("Australia/Sydney", 2028, 10, 3, 2, 30).astimezone(UTC),
    ]


def test_half_hour_offset_zone() -> None:
    schedule = to_aws(parse_cron("CRON_TZ=Asia/Kolkata 0 9 * * MON-FRI"))
    assert schedule == AwsSchedule("cron(0 9 ? * 2-6 *)", "Asia/Kolkata")
    assert schedule.next_fire_times(utc(2028, 1, 1), 2) == [utc(2028, 1, 3, 3, 30), utc(2028, 1, 4, 3, 30)]


def test_transitions_at_midnight_follow_the_same_rule() -> None:
    # Santiago falls back at 24:00 on 2028-04-01 (23:xx happens twice) and springs forward at
    # 00:00 on 2028-09-03 (00:xx does not exist).
    late = to_aws(parse_cron("CRON_TZ=America/Santiago 30 23 * * *"))
    assert late.next_fire_times(utc(2028, 4, 1, 12), 2) == [utc(2028, 4, 2, 2, 30), utc(2028, 4, 3, 3, 30)]
    early = to_aws(parse_cron("CRON_TZ=America/Santiago 30 0 * * *"))
    assert early.next_fire_times(utc(2028, 9, 2), 2) == [utc(2028, 9, 2, 4, 30), utc(2028, 9, 4, 3, 30)]


def test_times_away_from_the_transition_keep_their_wall_clock_time() -> None:
    schedule = to_aws(parse_cron("CRON_TZ=Europe/Berlin 0 4 * * *"))
    assert schedule.next_fire_times(utc(2028, 3, 25), 3) == [
        utc(2028, 3, 25, 3),  # 04:00 CET
        utc(2028, 3, 26, 2),  # 04:00 CEST
        utc(2028, 3, 27, 2),
    ]


# --- unix_fire_times (croniter) ---------------------------------------------------------------------------


def test_unix_fire_times_lists_croniter_fires_in_utc() -> None:
    cron = parse_cron("CRON_TZ=America/New_York 0 9 * * 1-5")
    got = list(unix_fire_times(cron, utc(2028, 1, 1), utc(2028, 1, 6)))
    assert got == [utc(2028, 1, 3, 14), utc(2028, 1, 4, 14), utc(2028, 1, 5, 14)]
    assert all(t.tzinfo is UTC for t in got)


def test_unix_fire_times_is_half_open() -> None:
    cron = parse_cron("0 * * * *")
    assert list(unix_fire_times(cron, utc(2028, 1, 1, 1), utc(2028, 1, 1, 3))) == [
        utc(2028, 1, 1, 1),
        utc(2028, 1, 1, 2),
    ]


def test_unix_and_aws_fire_times_agree_away_from_dst() -> None:
    cron = parse_cron("CRON_TZ=Europe/Berlin 7,37 */3 1-10 * *")
    start, end = utc(2028, 5, 1), utc(2028, 8, 1)
    assert list(unix_fire_times(cron, start, end)) == list(to_aws(cron).fire_times(start, end))


def test_croniter_differs_from_eventbridge_only_in_the_documented_dst_cases() -> None:
    cron = parse_cron("CRON_TZ=Europe/Berlin 30 2 * * *")
    schedule = to_aws(cron)
    spring = (utc(2028, 3, 25, 12), utc(2028, 3, 26, 12))
    # croniter runs the missing 02:30 at the end of the gap (03:00 CEST); EventBridge skips it.
    assert list(unix_fire_times(cron, *spring)) == [utc(2028, 3, 26, 1, 0)]
    assert list(schedule.fire_times(*spring)) == []
    autumn = (utc(2028, 10, 28, 12), utc(2028, 10, 29, 12))
    # croniter runs the repeated 02:30 twice; EventBridge once, at the first occurrence.
    assert list(unix_fire_times(cron, *autumn)) == [utc(2028, 10, 29, 0, 30), utc(2028, 10, 29, 1, 30)]
    assert list(schedule.fire_times(*autumn)) == [utc(2028, 10, 29, 0, 30)]


def test_unix_fire_times_of_a_leap_day_schedule() -> None:
    cron = parse_cron("0 0 29 2 *")
    assert list(unix_fire_times(cron, utc(2025, 1, 1), utc(2033, 1, 1))) == [
        utc(2028, 2, 29),
        utc(2032, 2, 29),
    ]


def test_a_macro_is_read_in_ascii_only() -> None:
    # A Kelvin sign lower-cases to "k": "@wee\u212aly" would have been @weekly.
    assert parse_cron("@WEEKLY").expression == parse_cron("@weekly").expression
    with pytest.raises(InvalidInput):
        parse_cron("@wee\u212aly")
