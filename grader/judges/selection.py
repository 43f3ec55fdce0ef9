"""`-k` for rubric checks: a pytest-style expression over what a check is.

Names are problem ids, check ids, check kinds and the homework (`p4b`, `variance`, `module`,
`hw6`), combined with `and`, `or`, `not` and parentheses. A typo is a usage error, never an empty
grade.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from grader.errors import UsageError

_TOKEN = re.compile(r"\s*(\(|\)|[^\s()]+)")


def compile_selection(select: str) -> Callable[[Iterable[str]], bool]:
    """A `-k` expression in pytest's grammar (`p4b`, `not p5`, `(p2 or p3) and not manual`) as
    a test on a check's keywords: a name matches any keyword it is part of, ignoring case, as
    in pytest. Parsed here rather than by pytest's private parser, whose interface changes
    between versions. Raises UsageError for an expression pytest would refuse too."""
    tokens = _TOKEN.findall(select)
    test, rest = _or(tokens, select)
    if rest:
        raise UsageError(f"-k {select!r} is not a valid selection: unexpected {rest[0]!r}")

    def matches(keywords: Iterable[str]) -> bool:
        lowered = [k.lower() for k in keywords]
        return test(lambda name: any(name.lower() in k for k in lowered))

    return matches


_Test = Callable[[Callable[[str], bool]], bool]


def _or(tokens: list[str], select: str) -> tuple[_Test, list[str]]:
    return _chain(tokens, select, "or", _and)


def _and(tokens: list[str], select: str) -> tuple[_Test, list[str]]:
    return _chain(tokens, select, "and", _not)


def _chain(
    tokens: list[str],
    select: str,
    word: str,
    operand: Callable[[list[str], str], tuple[_Test, list[str]]],
) -> tuple[_Test, list[str]]:
    """`operand (word operand)*`: one test that all (and) or any (or) of them pass."""
    tests = []
    test, tokens = operand(tokens, select)
    tests.append(test)
    while tokens[:1] == [word]:
        test, tokens = operand(tokens[1:], select)
        tests.append(test)
    combine = all if word == "and" else any
    return (lambda has: combine(t(has) for t in tests)), tokens


def _not(tokens: list[str], select: str) -> tuple[_Test, list[str]]:
    if not tokens:
        raise UsageError(f"-k {select!r} is not a valid selection: it ends too early")
    first, rest = tokens[0], tokens[1:]
    if first == "not":
        inner, rest = _not(rest, select)
        return (lambda a: lambda has: not a(has))(inner), rest
    if first == "(":
        inner, rest = _or(rest, select)
        if rest[:1] != [")"]:
            raise UsageError(f"-k {select!r} is not a valid selection: a '(' is not closed")
        return inner, rest[1:]
    if first in ("and", "or", ")"):
        raise UsageError(f"-k {select!r} is not a valid selection: unexpected {first!r}")
    return (lambda name: lambda has: has(name))(first), rest
