"""`Upstash-Retry-Delay` expressions: user input, so tokenized and parsed by hand into a small
stack program when the message is published; nothing here ever calls `eval`, `exec`, `compile`
or `ast`. Pure standard library."""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable
from typing import NamedTuple

from ferry.domain.default_backoff import MAX_BACKOFF_SECONDS
from ferry.domain.errors import InvalidInput

MAX_EXPRESSION_LENGTH = 512
MAX_EXPRESSION_DEPTH = 32


def _round_half_away(x: float) -> float:
    """Round to the nearest integer, halves away from zero (Go's math.Round, JavaScript-like)."""
    whole = float(math.trunc(x))
    if abs(x - whole) >= 0.5:
        whole += math.copysign(1.0, x)
    return whole


# name (lower case) -> (implementation, number of arguments, how to write it in an error message)
_FUNCTIONS: dict[str, tuple[Callable[..., float], int, str]] = {
    "pow": (math.pow, 2, "pow(x, y)"),
    "exp": (math.exp, 1, "exp(x)"),
    "sqrt": (math.sqrt, 1, "sqrt(x)"),
    "abs": (abs, 1, "abs(x)"),
    "floor": (lambda x: float(math.floor(x)), 1, "floor(x)"),
    "ceil": (lambda x: float(math.ceil(x)), 1, "ceil(x)"),
    "round": (_round_half_away, 1, "round(x)"),
    "min": (min, 2, "min(x, y)"),
    "max": (max, 2, "max(x, y)"),
}
_BINARY: dict[str, Callable[[float, float], float]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,  # float division; raises ZeroDivisionError on a zero divisor
}
_VARIABLE = "retried"
_HELP = (
    "a retry delay is an arithmetic expression giving milliseconds, over the variable `retried` "
    '(0 before the first retry), e.g. "1000 * pow(2, retried)"; it may use numbers, + - * /, '
    "parentheses and the functions " + ", ".join(spec for _, _, spec in _FUNCTIONS.values())
)

_TOKEN = re.compile(
    r"(?P<space>\s+)|(?P<number>[0-9]+(?:\.[0-9]*)?|\.[0-9]+)|(?P<name>[A-Za-z_][A-Za-z0-9_]*)|(?P<punct>[-+*/(),])",
    re.ASCII,
)


class _Token(NamedTuple):
    kind: str  # "number", "name", "punct" or "end"
    text: str
    pos: int  # 0-based offset into the expression


# The compiled program is postfix: each step is (_CONST, value), (_RETRIED, None) or
# (_APPLY, (function, argument count)). Running it needs a stack and no recursion.
_CONST, _RETRIED, _APPLY = 0, 1, 2
_Step = tuple[int, object]


class _Parser:
    """Recursive descent over the grammar

        expr    := term (("+" | "-") term)*
        term    := unary (("*" | "/") unary)*
        unary   := ("+" | "-") unary | primary
        primary := NUMBER | "retried" | NAME "(" [expr ("," expr)*] ")" | "(" expr ")"

    emitting postfix steps. Depth (parentheses, function arguments, unary signs) is bounded, so a
    hostile expression cannot exhaust Python's stack.
    """

    def __init__(self, text: str, field: str) -> None:
        self.text = text
        self.field = field
        self.tokens = self._tokenize()
        self.index = 0
        self.depth = 0
        self.code: list[_Step] = []

    # errors

    def _fail(self, problem: str, pos: int) -> InvalidInput:
        where = "at the end" if pos >= len(self.text) else f"at position {pos + 1}"
        shown = self.text if len(self.text) <= 80 else self.text[:77] + "..."
        return InvalidInput(f"{self.field}: {where} of {shown!r}: {problem}; {_HELP}", field=self.field)

    @staticmethod
    def _describe(token: _Token) -> str:
        return "nothing" if token.kind == "end" else repr(token.text)

    # tokens

    def _tokenize(self) -> list[_Token]:
        """All tokens up to the first character no token can start with, which becomes a "bad"
        token: it is reported only when the parser reaches it, so that an earlier mistake (such as
        the unknown name in `__import__('os')`) is the one named."""
        tokens: list[_Token] = []
        pos = 0
        while pos < len(self.text):
            match = _TOKEN.match(self.text, pos)
            if match is None:
                tokens.append(_Token("bad", self.text[pos], pos))
                break
            kind = match.lastgroup or ""
            if kind != "space":
                tokens.append(_Token(kind, match.group(), pos))
            pos = match.end()
        tokens.append(_Token("end", "", len(self.text)))
        return tokens

    @property
    def _peek(self) -> _Token:
        token = self.tokens[self.index]
        if token.kind == "bad":
            if token.text == "^":
                problem = "'^' is not an operator (use pow(x, y))"
            elif token.text == "%":
                problem = "'%' (remainder) is not supported"
            else:
                problem = f"unexpected character {token.text!r}"
            raise self._fail(problem, token.pos)
        return token

    def _next(self) -> _Token:
        token = self._peek
        if token.kind != "end":
            self.index += 1
        return token

    def _enter(self, pos: int) -> None:
        self.depth += 1
        if self.depth > MAX_EXPRESSION_DEPTH:
            raise self._fail(f"nesting deeper than {MAX_EXPRESSION_DEPTH} levels", pos)

    # grammar

    def parse(self) -> tuple[_Step, ...]:
        if self._peek.kind == "end":
            raise InvalidInput(f"{self.field}: the expression is empty; {_HELP}", field=self.field)
        self._expr()
        token = self._peek
        if token.kind != "end":
            if token.text == ")":
                raise self._fail("this ')' has no matching '('", token.pos)
            raise self._fail(
                f"expected an operator (+ - * /) or the end, found {self._describe(token)}", token.pos
            )
        return tuple(self.code)

    def _expr(self) -> None:
        self._enter(self._peek.pos)
        self._term()
        while self._peek.text in ("+", "-") and self._peek.kind == "punct":
            op = self._next().text
            self._term()
            self.code.append((_APPLY, (_BINARY[op], 2)))
        self.depth -= 1

    def _term(self) -> None:
        self._unary()
        while self._peek.text in ("*", "/") and self._peek.kind == "punct":
            op = self._next()
            if self._peek.text == "*" and op.text == "*":
                raise self._fail("'**' is not an operator (use pow(x, y))", op.pos)
            self._unary()
            self.code.append((_APPLY, (_BINARY[op.text], 2)))

    def _unary(self) -> None:
        token = self._peek
        if token.kind == "punct" and token.text in ("+", "-"):
            self._next()
            self._enter(token.pos)
            self._unary()
            self.depth -= 1
            if token.text == "-":
                self.code.append((_APPLY, (operator.neg, 1)))
            return
        self._primary()

    def _primary(self) -> None:
        token = self._next()
        if token.kind == "number":
            value = float(token.text)
            if not math.isfinite(value):
                raise self._fail(f"the number {token.text[:20]}... is too large", token.pos)
            self.code.append((_CONST, value))
            return
        if token.kind == "name":
            self._name(token)
            return
        if token.text == "(":
            self._expr()
            self._expect_close(token)
            return
        raise self._fail(
            f"expected a number, `retried`, a function call or '(', found {self._describe(token)}", token.pos
        )

    def _name(self, token: _Token) -> None:
        name = token.text.lower()
        calls = self._peek.text == "("
        if name == _VARIABLE:
            if calls:
                raise self._fail(f"{token.text!r} is the variable, not a function", token.pos)
            self.code.append((_RETRIED, None))
            return
        if name not in _FUNCTIONS:
            names = ", ".join(_FUNCTIONS)
            raise self._fail(
                f"unknown name {token.text!r} (the only variable is `retried`; the functions are {names})",
                token.pos,
            )
        function, arity, spelled = _FUNCTIONS[name]
        if not calls:
            raise self._fail(f"expected '(' after the function {token.text!r}", self._peek.pos)
        opening = self._next()
        count = 0
        if self._peek.text != ")":
            self._expr()
            count = 1
            while self._peek.text == ",":
                self._next()
                self._expr()
                count += 1
        self._expect_close(opening)
        if count != arity:
            plural = "argument" if arity == 1 else "arguments"
            raise self._fail(f"{spelled} takes {arity} {plural}, not {count}", token.pos)
        self.code.append((_APPLY, (function, arity)))

    def _expect_close(self, opening: _Token) -> None:
        token = self._peek
        if token.text != ")":
            raise self._fail(
                f"expected ')' to close the '(' at position {opening.pos + 1}, found {self._describe(token)}",
                token.pos,
            )
        self._next()


class RetryDelayExpression:
    """A parsed `Upstash-Retry-Delay` value.

    The value is an arithmetic expression whose result is the wait in **milliseconds**, over the
    variable `retried` (the number of retries made so far: 0 before the first retry).

    * Numbers: `12`, `1.5`, `.5` (no exponents, no signs inside the literal).
    * Operators: `+ - * /` with the usual precedence, parentheses, unary minus and plus. `^`, `**`
      and `%` are refused (`pow(x, y)` is the power function).
    * Functions: `pow(x, y)`, `exp(x)`, `sqrt(x)`, `abs(x)`, `floor(x)`, `ceil(x)`, `round(x)` (halves
      away from zero), `min(x, y)`, `max(x, y)`, each with exactly that many arguments.
    * Function names and `retried` are case-insensitive. Any other name is refused, so
      `__import__('os')` is just an unknown name.

    `parse` (or the constructor) tokenizes and parses the text once, into a small postfix program, and
    raises `InvalidInput` naming the field, the position and what was expected. It also refuses empty
    input, text over 512 characters and nesting deeper than 32 levels. It does **not** evaluate the
    expression: math errors that depend on `retried` (division by zero, `sqrt` of a negative,
    overflow) surface from `delay_ms` at delivery time, where `next_retry_delay_seconds` falls back to
    the default backoff for that attempt.
    """

    __slots__ = ("_code", "text")

    text: str
    _code: tuple[_Step, ...]

    def __init__(self, text: str, *, field: str = "Upstash-Retry-Delay") -> None:
        if not isinstance(text, str):
            raise InvalidInput(f"{field}: the expression must be text; {_HELP}", field=field)
        if len(text) > MAX_EXPRESSION_LENGTH:
            raise InvalidInput(
                f"{field}: the expression is {len(text)} characters long; "
                f"the limit is {MAX_EXPRESSION_LENGTH}; {_HELP}",
                field=field,
            )
        self.text = text
        self._code = _Parser(text, field).parse()

    @classmethod
    def parse(cls, text: str, *, field: str = "Upstash-Retry-Delay") -> RetryDelayExpression:
        """Parse `text`, raising `InvalidInput` (naming `field`) if it is not a valid expression."""
        return cls(text, field=field)

    def delay_ms(self, retried: int) -> float:
        """Evaluate with `retried` and return milliseconds, clamped to [0, MAX_BACKOFF_SECONDS * 1000].

        Raises ArithmeticError (ZeroDivisionError, OverflowError) or ValueError (a math domain error
        such as `sqrt(-1)`, a NaN, or a negative `retried`) when the expression has no finite value.
        """
        if retried < 0:
            raise ValueError(f"retried must be >= 0, not {retried}")
        stack: list[float] = []
        for kind, payload in self._code:
            if kind == _CONST:
                stack.append(payload)  # type: ignore[arg-type]
            elif kind == _RETRIED:
                stack.append(float(retried))
            else:
                function, count = payload  # type: ignore[misc]
                args = stack[-count:]
                del stack[-count:]
                result = float(function(*args))
                if math.isnan(result):
                    raise ValueError(f"{self.text!r} is not a number for retried={retried}")
                if math.isinf(result):
                    raise OverflowError(f"{self.text!r} overflows for retried={retried}")
                stack.append(result)
        (value,) = stack
        return min(max(value, 0.0), MAX_BACKOFF_SECONDS * 1000.0)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RetryDelayExpression) and other.text == self.text

    def __hash__(self) -> int:
        return hash(self.text)

    def __repr__(self) -> str:
        return f"RetryDelayExpression({self.text!r})"
