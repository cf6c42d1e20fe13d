"""QStash durations (`Upstash-Delay`, `Upstash-Timeout`, ...) and Go durations (Retry-After values)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ferry.domain.durations import MAX_DURATION_SECONDS, parse_duration, parse_go_duration
from ferry.domain.errors import InvalidInput

FIELD = "Upstash-Delay"


# --- parse_duration: accepted ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("50s", 50),
        ("5m", 300),
        ("2h", 7_200),
        ("7d", 604_800),
        ("0s", 0),
        ("0", 0),
        ("007s", 7),
        ("000000000000000030s", 30),
    ],
)
def test_single_unit_duration(text: str, seconds: int) -> None:
    assert parse_duration(text, field=FIELD) == seconds


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("1h30m", 5_400), ("1d10h30m", 124_200), ("1d1h30m", 91_800), ("2m30s", 150), ("1d1h1m1s", 90_061)],
)
def test_compound_duration_adds_units(text: str, seconds: int) -> None:
    assert parse_duration(text, field=FIELD) == seconds


def test_bare_integer_means_seconds() -> None:
    assert parse_duration("30", field=FIELD) == 30
    assert parse_duration("86400", field=FIELD) == 86_400


def test_surrounding_whitespace_is_stripped() -> None:
    assert parse_duration("  1h30m\t", field=FIELD) == 5_400
    assert parse_duration(" 30 ", field=FIELD) == 30


def test_repeated_and_misordered_units_are_summed_like_go() -> None:
    assert parse_duration("30m1h", field=FIELD) == 5_400
    assert parse_duration("1m1m", field=FIELD) == 120


def test_ten_years_is_the_largest_duration() -> None:
    assert parse_duration(f"{MAX_DURATION_SECONDS}s", field=FIELD) == MAX_DURATION_SECONDS
    assert parse_duration("3650d", field=FIELD) == MAX_DURATION_SECONDS


# --- parse_duration: refused ----------------------------------------------------------------------


def _refusal(text: str, field: str = FIELD) -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        parse_duration(text, field=field)
    return caught.value


@pytest.mark.parametrize("text", ["", "   "])
def test_empty_duration_is_refused(text: str) -> None:
    error = _refusal(text)
    assert error.field == FIELD
    assert "empty" in error.message


@pytest.mark.parametrize("text", ["5x", "5ms", "2w", "1y", "10sec"])
def test_unknown_unit_is_refused_naming_the_field(text: str) -> None:
    error = _refusal(text, field="Upstash-Timeout")
    assert error.field == "Upstash-Timeout"
    assert error.status == 400
    assert error.message.startswith("Upstash-Timeout: ")
    assert repr(text) in error.message  # names the bad value
    assert "s, m, h or d" in error.message  # and the accepted syntax


def test_upper_case_unit_is_refused_with_a_hint() -> None:
    error = _refusal("1H")
    assert "lower-case" in error.message


@pytest.mark.parametrize("text", ["-5s", "-30", "+5s"])
def test_signed_duration_is_refused(text: str) -> None:
    assert "no sign" in _refusal(text).message


def test_fraction_is_refused_with_a_hint() -> None:
    assert "fractions" in _refusal("1.5h").message


@pytest.mark.parametrize("text", ["1h30", "h", "s5", "1h 30m", "abc", "5 s", "1_000s", "٣s", "0x10s", "1e3s"])
def test_garbage_is_refused(text: str) -> None:
    error = _refusal(text)
    assert error.field == FIELD
    assert "e.g." in error.message


def test_missing_unit_after_a_number_is_explained() -> None:
    assert "needs a unit" in _refusal("1h30").message


@pytest.mark.parametrize(
    "text", ["3651d", f"{MAX_DURATION_SECONDS + 1}", "99999999999999999999s", "9" * 5000]
)
def test_absurdly_large_duration_is_refused(text: str) -> None:
    error = _refusal(text)
    assert "10 years" in error.message
    assert len(error.message) < 200  # a huge value is not echoed in full


@given(
    st.lists(
        st.tuples(st.integers(min_value=0, max_value=10_000), st.sampled_from("smhd")), min_size=1, max_size=4
    )
)
def test_any_sequence_of_pairs_sums_its_parts(pairs: list[tuple[int, str]]) -> None:
    text = "".join(f"{n}{u}" for n, u in pairs)
    expected = sum(n * {"s": 1, "m": 60, "h": 3_600, "d": 86_400}[u] for n, u in pairs)
    if expected <= MAX_DURATION_SECONDS:
        assert parse_duration(text, field=FIELD) == expected
    else:
        with pytest.raises(InvalidInput):
            parse_duration(text, field=FIELD)


@given(st.text(max_size=30))
def test_any_text_parses_or_is_refused_as_invalid_input(text: str) -> None:
    try:
        seconds = parse_duration(text, field=FIELD)
    except InvalidInput as error:
        assert error.field == FIELD
        assert error.message.startswith(FIELD + ": ")
    else:
        assert 0 <= seconds <= MAX_DURATION_SECONDS


# --- parse_go_duration ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("6m5s", 365.0),
        ("1.5h", 5_400.0),
        ("300ms", 0.3),
        ("2h45m", 9_900.0),
        ("1s", 1.0),
        ("0", 0.0),
        ("-0", 0.0),
        ("0s", 0.0),
        ("-1.5h", -5_400.0),
        ("+2s", 2.0),
        ("1500us", 0.0015),
        ("1500µs", 0.0015),  # micro sign
        ("1500μs", 0.0015),  # greek mu
        ("10ns", 1e-8),
        (".5s", 0.5),
        ("1.s", 1.0),
        ("1h1h", 7_200.0),
        (" 5s ", 5.0),
    ],
)
def test_go_duration_syntax(text: str, seconds: float) -> None:
    assert math.isclose(parse_go_duration(text), seconds, rel_tol=1e-12, abs_tol=1e-15)


@pytest.mark.parametrize(
    "text", ["", "5", "1.5", "s", ".s", "5x", "5d", "1e3s", "1 s", "--1s", "inf", "nan", "1h-5m"]
)
def test_go_duration_garbage_raises_value_error(text: str) -> None:
    with pytest.raises(ValueError):
        parse_go_duration(text)


def test_go_duration_beyond_int64_nanoseconds_raises_value_error() -> None:
    with pytest.raises(ValueError):
        parse_go_duration("3000000h")  # ~342 years, past Go's ~292
    with pytest.raises(ValueError):
        parse_go_duration("9" * 400 + "s")


@given(st.text(max_size=20))
def test_go_duration_raises_only_value_error(text: str) -> None:
    try:
        seconds = parse_go_duration(text)
    except ValueError:
        return
    assert math.isfinite(seconds)
