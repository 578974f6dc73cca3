"""Golden tables under tests/golden/: each case's expectation is written in the data file,
with its source or its hand computation."""

from __future__ import annotations

from typing import Any

import pytest

import graders
from graders.errors import FormulaParseError, GradingError
from graders.formula import compile_formula
from graders.results import ERROR_FLAGS
from tests.conftest import golden


def _check(response: graders.RunResponse, case: dict[str, Any]) -> None:
    assert response.reward == pytest.approx(case["reward"], abs=1e-9), case.get("why", case["name"])
    set_flags = response.metadata.errors.flags_set()
    assert set_flags == sorted(case.get("flags", []), key=ERROR_FLAGS.index)
    errors = response.metadata.errors.model_dump()
    for field, fragment in case.get("details", {}).items():
        assert fragment in (errors[field] or ""), (field, errors[field])
    if "sub_rewards" in case:
        assert response.sub_rewards == pytest.approx(case["sub_rewards"], abs=1e-9)


@pytest.mark.parametrize("case", golden("string_check"), ids=lambda c: c["name"])
def test_string_check_and_templates(case: dict[str, Any]) -> None:
    response = graders.run(case["grader"], case["model_sample"], case.get("item"))
    _check(response, case)
    assert response.metadata.type == "string_check"
    assert response.metadata.name == case["grader"]["name"]


@pytest.mark.parametrize("case", golden("text_similarity"), ids=lambda c: c["name"])
def test_text_similarity(case: dict[str, Any]) -> None:
    grader = {
        "type": "text_similarity",
        "name": "sim",
        "input": "{{ sample.output_text }}",
        "reference": "{{ item.reference }}",
        "evaluation_metric": case["metric"],
    }
    response = graders.run(grader, case["input"], {"reference": case["reference"]})
    _check(response, case)


@pytest.mark.parametrize("case", golden("multi"), ids=lambda c: c["name"])
def test_multi(case: dict[str, Any]) -> None:
    response = graders.run(case["grader"], case["model_sample"], case.get("item"))
    _check(response, case)
    assert response.metadata.type == "multi"
    if "sub_rewards" in case:
        assert response.metadata.scores == pytest.approx(case["sub_rewards"], abs=1e-9)


@pytest.mark.parametrize("case", golden("formulas"), ids=lambda c: c["formula"] or "<empty>")
def test_formulas(case: dict[str, Any]) -> None:
    values = case["values"]
    if "error" not in case:
        formula = compile_formula(case["formula"])
        formula.check_keys(set(values))
        assert formula.evaluate(values) == pytest.approx(case["expect"], abs=1e-12), case["why"]
        return
    with pytest.raises(GradingError) as caught:
        formula = compile_formula(case["formula"])
        formula.check_keys(set(values))
        formula.evaluate(values)
    assert caught.value.flag == case["error"], case["why"]
    if case["error"] == "formula_parse_error":
        assert isinstance(caught.value, FormulaParseError)
        assert caught.value.details  # says where or what
