"""Formula parser properties; golden values are in tests/golden/formulas.json."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from graders.errors import FormulaParseError, OtherError
from graders.formula import compile_formula

ALPHABET = "ab0123456789.+-*/^(), minaxbsflorcepqt_e"


@settings(max_examples=500, deadline=None)
@given(text=st.text(alphabet=ALPHABET, max_size=40) | st.text(max_size=40))
def test_arbitrary_text_raises_only_documented_errors(text: str) -> None:
    try:
        formula = compile_formula(text)
        formula.check_keys({"a", "b"})
        result = formula.evaluate({"a": 0.5, "b": 2.0})
    except (FormulaParseError, OtherError):
        return
    assert isinstance(result, float) and math.isfinite(result)


@settings(max_examples=200, deadline=None)
@given(a=st.floats(-1e6, 1e6), b=st.floats(-1e6, 1e6))
def test_arithmetic_matches_python(a: float, b: float) -> None:
    values = {"a": a, "b": b}
    assert compile_formula("a + b * 2 - b").evaluate(values) == a + b * 2 - b
    assert compile_formula("min(a, b) - max(a, b)").evaluate(values) == min(a, b) - max(a, b)
    assert compile_formula("abs(a) - -b").evaluate(values) == abs(a) + b


def test_deep_nesting_is_a_parse_error_not_a_crash() -> None:
    text = "(" * 5000 + "1" + ")" * 5000
    try:
        compile_formula(text)
    except FormulaParseError as exc:
        assert "deep" in exc.details


def test_names_are_collected_once_at_parse_time() -> None:
    assert compile_formula("a + max(b, c) * -a ^ d").names == frozenset({"a", "b", "c", "d"})
