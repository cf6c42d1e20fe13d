"""Retry waits: default backoff, `Upstash-Retry-Delay` expressions, Retry-After family, precedence."""

from __future__ import annotations

import ast
import builtins
import math
import pathlib
from email.utils import formatdate

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ferry.domain import backoff, default_backoff, retry_after, retry_delay_expression
from ferry.domain.backoff import (
    MAX_BACKOFF_SECONDS,
    RetryDelayExpression,
    default_backoff_seconds,
    next_retry_delay_seconds,
    retry_after_seconds,
)
from ferry.domain.errors import InvalidInput

NOW = 1_700_000_000.0
MAX_MS = MAX_BACKOFF_SECONDS * 1000.0


# --- default backoff ------------------------------------------------------------------------------


def test_default_backoff_matches_qstash_table() -> None:
    # QStash docs: 12 s, 2 m 28 s, 30 m 8 s, 6 h 7 m, then 24 h.
    assert default_backoff_seconds(0) == pytest.approx(12.18, abs=0.01)
    assert default_backoff_seconds(1) == pytest.approx(148.41, abs=0.01)
    assert default_backoff_seconds(2) == pytest.approx(1808.04, abs=0.01)
    assert default_backoff_seconds(3) == pytest.approx(22026.47, abs=0.01)
    assert default_backoff_seconds(4) == MAX_BACKOFF_SECONDS
    assert default_backoff_seconds(5) == MAX_BACKOFF_SECONDS


def test_default_backoff_is_capped_at_a_day_for_any_retry_count() -> None:
    assert default_backoff_seconds(10_000) == MAX_BACKOFF_SECONDS
    assert default_backoff_seconds(10**30) == MAX_BACKOFF_SECONDS


def test_default_backoff_refuses_negative_retry_count() -> None:
    with pytest.raises(ValueError):
        default_backoff_seconds(-1)


# --- Upstash-Retry-Delay: evaluation --------------------------------------------------------------


def delays(text: str, upto: int = 4) -> list[float]:
    expression = RetryDelayExpression.parse(text)
    return [expression.delay_ms(retried) for retried in range(upto)]


def test_expression_uses_retried_variable() -> None:
    assert delays("1000 * pow(2, retried)") == [1000.0, 2000.0, 4000.0, 8000.0]
    assert delays("retried") == [0.0, 1.0, 2.0, 3.0]


def test_constant_expression() -> None:
    assert delays("3000") == [3000.0] * 4
    assert delays("1.5") == [1.5] * 4
    assert delays(".5 * 4") == [2.0] * 4


def test_operator_precedence_and_parentheses() -> None:
    assert delays("1 + 2 * 3", 1) == [7.0]
    assert delays("(1 + 2) * 3", 1) == [9.0]
    assert delays("10 - 4 - 3", 1) == [3.0]  # left associative
    assert delays("64 / 4 / 2", 1) == [8.0]
    assert delays("7 / 2", 1) == [3.5]  # true division


def test_unary_minus_and_plus() -> None:
    assert delays("-retried + 10", 3) == [10.0, 9.0, 8.0]
    assert delays("10 - -2", 1) == [12.0]
    assert delays("+5", 1) == [5.0]
    assert delays("--5", 1) == [5.0]
    assert delays("2 * -3 + 10", 1) == [4.0]


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("pow(2, 10)", 1024.0),
        ("exp(1)", math.e),
        ("sqrt(16)", 4.0),
        ("abs(-5)", 5.0),
        ("floor(2.7)", 2.0),
        ("ceil(2.1)", 3.0),
        ("round(2.5)", 3.0),  # halves away from zero, not banker's rounding
        ("round(3.5)", 4.0),
        ("round(2.4)", 2.0),
        ("round(-2.5) + 10", 7.0),
        ("min(3, 9)", 3.0),
        ("max(3, 9)", 9.0),
    ],
)
def test_expression_functions(text: str, value: float) -> None:
    assert RetryDelayExpression.parse(text).delay_ms(0) == pytest.approx(value)


def test_function_names_and_variable_are_case_insensitive() -> None:
    assert delays("POW(2, Retried) * 1000", 3) == [1000.0, 2000.0, 4000.0]
    assert delays("Max(1, MIN(retried, 2))", 4) == [1.0, 1.0, 2.0, 2.0]


def test_whitespace_is_ignored() -> None:
    assert delays("  pow ( 2 ,\tretried )  ", 2) == [1.0, 2.0]


def test_nested_function_calls() -> None:
    assert delays("min(86400000, 1000 * exp(2.5 * (retried + 1)))", 1)[0] == pytest.approx(12182.49, abs=0.01)


def test_result_is_clamped_to_zero_and_one_day() -> None:
    assert delays("-1000", 1) == [0.0]
    assert delays("pow(10, 12)", 1) == [MAX_MS]
    assert delays("1000 * pow(10, retried * 2)", 4) == [1000.0, 1e5, 1e7, MAX_MS]


def test_division_by_zero_raises_arithmetic_error_at_evaluation() -> None:
    expression = RetryDelayExpression.parse("1000 / (retried - 1)")  # parses: evaluation is deferred
    assert expression.delay_ms(0) == 0.0  # -1000, clamped
    with pytest.raises(ZeroDivisionError):
        expression.delay_ms(1)


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("exp(100000)", OverflowError),
        ("pow(10, 400)", OverflowError),
        ("pow(10, 300) * pow(10, 300)", OverflowError),
        ("sqrt(retried - 1)", ValueError),
        ("pow(-8, 0.5)", ValueError),
        ("pow(0, -1)", ValueError),
    ],
)
def test_math_errors_raise_at_evaluation(text: str, error: type[Exception]) -> None:
    expression = RetryDelayExpression.parse(text)
    with pytest.raises(error):
        expression.delay_ms(0)


def test_expression_keeps_its_text_and_compares_by_it() -> None:
    expression = RetryDelayExpression.parse("1000 * retried")
    assert expression.text == "1000 * retried"
    assert expression == RetryDelayExpression("1000 * retried")
    assert hash(expression) == hash(RetryDelayExpression.parse("1000 * retried"))
    assert expression != RetryDelayExpression.parse("1000*retried")
    assert "1000 * retried" in repr(expression)


# --- Upstash-Retry-Delay: refusals ----------------------------------------------------------------


def refusal(text: str, field: str = "Upstash-Retry-Delay") -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        RetryDelayExpression.parse(text, field=field)
    assert caught.value.field == field
    assert caught.value.message.startswith(field + ": ")
    return caught.value


def test_expression_never_calls_eval(monkeypatch: pytest.MonkeyPatch) -> None:
    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("eval/exec/compile must never be called")

    for name in ("eval", "exec", "compile"):
        monkeypatch.setattr(builtins, name, forbidden)
    error = refusal("__import__('os').system('true')")
    assert "unknown name '__import__'" in error.message
    assert "position 1" in error.message
    assert delays("1000 * pow(2, retried)", 2) == [1000.0, 2000.0]


EVALUATORS = {"eval", "exec", "compile", "literal_eval", "__import__"}


def _is_regex_compile(node: ast.Attribute) -> bool:
    return node.attr == "compile" and isinstance(node.value, ast.Name) and node.value.id == "re"


def evaluator_uses(source: str) -> list[str]:
    """Every call, name or import in `source` that could evaluate text as code."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Name) and node.id in EVALUATORS:
            found.append(f"line {node.lineno}: {node.id}")
        elif isinstance(node, ast.Attribute) and node.attr in EVALUATORS and not _is_regex_compile(node):
            found.append(f"line {node.lineno}: .{node.attr}")
        elif isinstance(node, ast.Import | ast.ImportFrom):
            modules = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            found.extend(f"line {node.lineno}: import {m}" for m in modules if m.split(".")[0] == "ast")
    return sorted(found)


def test_the_retry_delay_modules_never_evaluate_text_as_code() -> None:
    for module in (backoff, retry_delay_expression, retry_after, default_backoff):
        source = pathlib.Path(module.__file__).read_text()
        assert evaluator_uses(source) == [], module.__name__


def test_the_evaluator_scan_finds_a_planted_eval() -> None:
    planted = "def delay(text):\n    return builtins.eval(text) + eval(text)\nimport ast\nre.compile('x')\n"
    assert evaluator_uses(planted) == ["line 2: .eval", "line 2: eval", "line 3: import ast"]


@pytest.mark.parametrize("text", ["foo", "retries * 2", "os", "x + 1", "pi", "e", "log(2)", "system(1)"])
def test_unknown_identifier_is_refused(text: str) -> None:
    assert "unknown name" in refusal(text).message


@pytest.mark.parametrize(
    ("text", "arity"),
    [
        ("pow(2)", "2 arguments"),
        ("pow(1, 2, 3)", "2 arguments"),
        ("exp()", "1 argument"),
        ("min(1)", "2 arguments"),
    ],
)
def test_wrong_arity_is_refused(text: str, arity: str) -> None:
    message = refusal(text).message
    assert arity in message
    assert "position 1" in message


@pytest.mark.parametrize("text", ["", "   "])
def test_empty_expression_is_refused(text: str) -> None:
    assert "empty" in refusal(text).message


def test_over_long_expression_is_refused() -> None:
    text = "1+" * 300 + "1"
    assert len(text) > 512
    assert "512" in refusal(text).message
    RetryDelayExpression.parse("1+" * 255 + "1")  # 511 characters is fine


def test_too_deep_nesting_is_refused() -> None:
    assert "nesting" in refusal("(" * 40 + "1" + ")" * 40).message
    assert "nesting" in refusal("-" * 40 + "1").message
    assert "nesting" in refusal("abs(" * 40 + "1" + ")" * 40).message
    assert delays("(" * 20 + "1" + ")" * 20, 1) == [1.0]


@pytest.mark.parametrize(
    ("text", "position", "expected"),
    [
        ("1 +", "at the end", "expected a number"),
        ("(1 + 2", "at the end", "expected ')'"),
        ("1 + 2)", "position 6", "no matching '('"),
        ("1 2", "position 3", "expected an operator"),
        ("2 ^ 3", "position 3", "pow(x, y)"),
        ("2 ** 3", "position 3", "pow(x, y)"),
        ("5 % 2", "position 3", "'%'"),
        ("1 + $", "position 5", "unexpected character '$'"),
        ("pow", "at the end", "expected '('"),
        ("retried(1)", "position 1", "variable, not a function"),
        ("min(1,)", "position 7", "expected a number"),
        ("*2", "position 1", "expected a number"),
    ],
)
def test_syntax_errors_name_the_position_and_what_was_expected(
    text: str, position: str, expected: str
) -> None:
    message = refusal(text).message
    assert position in message
    assert expected in message
    assert "e.g." in message  # and says what a valid expression looks like


def test_refusal_names_a_callback_field() -> None:
    refusal("nope", field="Upstash-Callback-Retry-Delay")


def test_huge_number_literal_is_refused() -> None:
    assert "too large" in refusal("9" * 400).message


# --- property: parse and evaluate never fail in unexpected ways -------------------------------------

_atoms = st.one_of(
    st.integers(min_value=0, max_value=10**6).map(str),
    st.floats(min_value=0, max_value=1e6, allow_nan=False).map(lambda f: f"{f:.3f}"),
    st.just("retried"),
)


def _grow(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.tuples(children, st.sampled_from(["+", "-", "*", "/"]), children).map(
            lambda t: f"{t[0]} {t[1]} {t[2]}"
        ),
        children.map(lambda c: f"-{c}"),
        children.map(lambda c: f"({c})"),
        st.tuples(st.sampled_from(["exp", "sqrt", "abs", "floor", "ceil", "round"]), children).map(
            lambda t: f"{t[0]}({t[1]})"
        ),
        st.tuples(st.sampled_from(["pow", "min", "max"]), children, children).map(
            lambda t: f"{t[0]}({t[1]}, {t[2]})"
        ),
    )


_expressions = st.recursive(_atoms, _grow, max_leaves=12)
# Random mixtures of the expression alphabet and a little else: mostly invalid text.
_noise = st.text(alphabet="0123456789.+-*/(), retriedpowexpsqrtminax^%_'\"x", max_size=60)


@settings(max_examples=300, deadline=None)
@given(st.one_of(_expressions, _noise), st.integers(min_value=0, max_value=30))
def test_random_expressions_parse_to_a_clamped_number_or_raise_invalid_input(text: str, retried: int) -> None:
    try:
        expression = RetryDelayExpression.parse(text)
    except InvalidInput as error:
        assert error.field == "Upstash-Retry-Delay"
        return
    try:
        value = expression.delay_ms(retried)
    except (ArithmeticError, ValueError):
        pass  # a math error for this `retried` (division by zero, overflow, domain)
    else:
        assert math.isfinite(value)
        assert 0.0 <= value <= MAX_MS
    # Whatever the expression does, the decision itself never fails.
    seconds = next_retry_delay_seconds(retried=retried, expression=expression, response_headers=None, now=NOW)
    assert 0.0 <= seconds <= MAX_BACKOFF_SECONDS


# --- Retry-After family ---------------------------------------------------------------------------


def test_retry_after_integer_seconds() -> None:
    assert retry_after_seconds({"Retry-After": "120"}, NOW) == 120.0


def test_retry_after_zero_means_retry_now() -> None:
    assert retry_after_seconds({"Retry-After": "0"}, NOW) == 0.0


def test_retry_after_decimal_seconds() -> None:
    assert retry_after_seconds({"Retry-After": "1.5"}, NOW) == 1.5


def test_retry_after_http_date() -> None:
    assert retry_after_seconds({"Retry-After": formatdate(NOW + 90, usegmt=True)}, NOW) == pytest.approx(90.0)
    # RFC 1123 spelled out, and "+0000" instead of GMT
    assert retry_after_seconds({"Retry-After": "Tue, 14 Nov 2023 22:15:00 GMT"}, NOW) == pytest.approx(100.0)
    assert retry_after_seconds({"Retry-After": "Tue, 14 Nov 2023 22:15:00 +0000"}, NOW) == pytest.approx(
        100.0
    )


def test_retry_after_http_date_in_the_past_means_retry_now() -> None:
    assert retry_after_seconds({"Retry-After": formatdate(NOW - 3600, usegmt=True)}, NOW) == 0.0


def test_retry_after_go_duration() -> None:
    assert retry_after_seconds({"Retry-After": "6m5s"}, NOW) == 365.0
    assert retry_after_seconds({"X-RateLimit-Reset-Requests": "300ms"}, NOW) == pytest.approx(0.3)
    assert retry_after_seconds({"X-RateLimit-Reset-Tokens": "1.5s"}, NOW) == 1.5


def test_retry_after_over_one_day_is_ignored() -> None:
    assert retry_after_seconds({"Retry-After": "86401"}, NOW) is None
    assert retry_after_seconds({"Retry-After": "25h"}, NOW) is None
    assert retry_after_seconds({"Retry-After": formatdate(NOW + 2 * 86_400, usegmt=True)}, NOW) is None
    assert retry_after_seconds({"Retry-After": "86400"}, NOW) == 86_400.0  # exactly a day is honoured


def test_retry_after_over_one_day_falls_through_to_the_next_header() -> None:
    headers = {"Retry-After": "100000", "X-RateLimit-Reset": "30"}
    assert retry_after_seconds(headers, NOW) == 30.0


@pytest.mark.parametrize("value", ["-5", "-5s", "soon", "", "  ", "1e3", "inf", "NaN", "5 seconds", "0x10"])
def test_retry_after_negative_or_garbage_is_ignored(value: str) -> None:
    assert retry_after_seconds({"Retry-After": value}, NOW) is None
    assert retry_after_seconds({"Retry-After": value, "X-RateLimit-Reset-Tokens": "7"}, NOW) == 7.0


def test_retry_after_header_names_are_case_insensitive() -> None:
    assert retry_after_seconds({"retry-after": "5"}, NOW) == 5.0
    assert retry_after_seconds({"X-RATELIMIT-RESET": "6"}, NOW) == 6.0


def test_retry_after_headers_are_checked_in_order() -> None:
    headers = {
        "X-RateLimit-Reset-Tokens": "4",
        "X-RateLimit-Reset-Requests": "3",
        "X-RateLimit-Reset": "2",
        "Retry-After": "1",
    }
    assert retry_after_seconds(headers, NOW) == 1.0
    del headers["Retry-After"]
    assert retry_after_seconds(headers, NOW) == 2.0
    del headers["X-RateLimit-Reset"]
    assert retry_after_seconds(headers, NOW) == 3.0
    del headers["X-RateLimit-Reset-Requests"]
    assert retry_after_seconds(headers, NOW) == 4.0


def test_rate_limit_reset_epoch_timestamp_is_relative_to_now() -> None:
    assert retry_after_seconds({"X-RateLimit-Reset": str(int(NOW) + 42)}, NOW) == 42.0
    assert retry_after_seconds({"X-RateLimit-Reset": str(int(NOW) - 10)}, NOW) == 0.0  # already reset
    assert retry_after_seconds({"X-RateLimit-Reset": str(int(NOW) + 2 * 86_400)}, NOW) is None


def test_no_retry_after_headers_gives_none() -> None:
    assert retry_after_seconds({}, NOW) is None
    assert retry_after_seconds({"Content-Type": "text/plain"}, NOW) is None


@given(st.dictionaries(st.sampled_from(backoff.RETRY_AFTER_HEADERS), st.text(max_size=40), max_size=4))
def test_retry_after_is_none_or_within_a_day(headers: dict[str, str]) -> None:
    seconds = retry_after_seconds(headers, NOW)
    assert seconds is None or 0.0 <= seconds <= 86_400.0


# --- the decision ---------------------------------------------------------------------------------


def test_retry_after_wins_over_expression_and_default() -> None:
    expression = RetryDelayExpression.parse("5000")
    seconds = next_retry_delay_seconds(
        retried=0, expression=expression, response_headers={"Retry-After": "7"}, now=NOW
    )
    assert seconds == 7.0


def test_expression_wins_over_default_backoff() -> None:
    expression = RetryDelayExpression.parse("1000 * (retried + 1)")
    for retried in range(3):
        seconds = next_retry_delay_seconds(
            retried=retried, expression=expression, response_headers={}, now=NOW
        )
        assert seconds == retried + 1.0


def test_default_backoff_when_nothing_else_applies() -> None:
    for retried in range(6):
        seconds = next_retry_delay_seconds(retried=retried, expression=None, response_headers=None, now=NOW)
        assert seconds == default_backoff_seconds(retried)


def test_unusable_retry_after_falls_back_to_expression() -> None:
    expression = RetryDelayExpression.parse("2000")
    seconds = next_retry_delay_seconds(
        retried=0, expression=expression, response_headers={"Retry-After": "2d"}, now=NOW
    )
    assert seconds == 2.0


def test_expression_evaluation_error_falls_back_to_default_backoff() -> None:
    expression = RetryDelayExpression.parse("1000 / (retried - 1)")
    assert next_retry_delay_seconds(retried=1, expression=expression, response_headers=None, now=NOW) == (
        default_backoff_seconds(1)
    )
    overflow = RetryDelayExpression.parse("exp(retried * 1000)")
    assert next_retry_delay_seconds(retried=2, expression=overflow, response_headers=None, now=NOW) == (
        default_backoff_seconds(2)
    )
