"""What a formula can never do: the language has numbers, keys, + - * / ^, parentheses and
eight functions. Everything else is refused at parse time, before anything is evaluated."""

from __future__ import annotations

import pytest

from graders.errors import FormulaParseError
from graders.formula import compile_formula

REFUSED = [
    "__import__('os').system('echo hi')",
    "open('/etc/passwd')",
    "a.__class__",
    "(lambda: 1)()",
    "[a for a in b]",
    "a if b else 1",
    "a ** 2",
    "a // 2",
    "a % 2",
    "a == b",
    "a < b",
    "a and b",
    "not a",
    "a; b",
    "a = 1",
    "eval('1')",
    "exec('1')",
    "getattr(a, 'x')",
    "round(a)",
    "pow(a, 2)",
    "'string'",
    "a[0]",
    "{a: 1}",
    "1 +",
    "max(a,)",
    "max a",
    "#comment",
    "a\\\nb",
]


@pytest.mark.parametrize("text", REFUSED)
def test_refused(text: str) -> None:
    with pytest.raises(FormulaParseError):
        compile_formula(text).check_keys({"a", "b"})
