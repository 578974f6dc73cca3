"""validate(): every semantic problem listed with its JSON path (SEMANTICS §9)."""

from __future__ import annotations

from typing import Any

import pytest

import graders
from graders.errors import GraderInvalid


def _label(**overrides: Any) -> dict[str, Any]:
    grader = {
        "type": "label_model",
        "name": "l",
        "model": "gpt-4o-mini",
        "input": [{"role": "user", "content": "{{ sample.output_text }}"}],
        "labels": ["good", "bad"],
        "passing_labels": ["good"],
    }
    grader.update(overrides)
    return grader


def _multi(graders_: dict[str, Any], formula: str) -> dict[str, Any]:
    return {"type": "multi", "name": "m", "graders": graders_, "calculate_output": formula}


def _problems(grader: Any) -> list[tuple[str, str]]:
    with pytest.raises(GraderInvalid) as caught:
        graders.validate(grader)
    return [(p.path, p.message) for p in caught.value.problems]


def test_passing_labels_not_in_labels() -> None:
    [(path, message)] = _problems(_multi({"l": _label(passing_labels=["good", "great"])}, "l"))
    assert path == "graders.l.passing_labels" and "great" in message


def test_formula_parse_error_and_unknown_key_are_listed_with_other_problems() -> None:
    problems = _problems(_multi({"l": _label(passing_labels=["meh"])}, "l + nope"))
    paths = [p for p, _ in problems]
    assert sorted(paths) == ["calculate_output", "graders.l.passing_labels"]
    assert "nope" in dict(problems)["calculate_output"]


def test_formula_syntax_error() -> None:
    [(path, message)] = _problems(_multi({"a": {"type": "string_check", "name": "a", "input": "a", "reference": "a", "operation": "eq"}}, "a +"))
    assert path == "calculate_output" and "position" in message


@pytest.mark.parametrize("bad_range", [[1, 0], [0, 0], [0], [0, 1, 2]])
def test_bad_range(bad_range: list[float]) -> None:
    grader = {"type": "score_model", "name": "s", "model": "m", "input": [{"role": "user", "content": "x"}], "range": bad_range}
    [(path, _)] = _problems(grader)
    assert path == "range"


def test_negative_increasing_range_is_fine() -> None:
    grader = {"type": "score_model", "name": "s", "model": "m", "input": [{"role": "user", "content": "x"}], "range": [-10, -2]}
    assert graders.validate(grader).range == [-10, -2]


@pytest.mark.parametrize(
    ("source", "fragment"),
    [
        ("def grade(sample, item)\n    return 1", "does not compile"),
        ("def score(sample, item):\n    return 1", "no top-level function grade"),
        ("def grade(sample):\n    return 1", "two positional"),
        ("def grade(sample, item, extra):\n    return 1", "two positional"),
        ("def grade(sample, item, *, k):\n    return 1", "two positional"),
        ("async def grade(sample, item):\n    return 1", "not async"),
    ],
)
def test_python_source_problems(source: str, fragment: str) -> None:
    [(path, message)] = _problems({"type": "python", "name": "p", "source": source})
    assert path == "source" and fragment in message


@pytest.mark.parametrize(
    "source",
    [
        "def grade(sample, item):\n    return 1",
        "def grade(sample, item, extra=1):\n    return 1",
        "def grade(*args):\n    return 1",
        "import math\n\ndef grade(s, i, /):\n    return math.pi",
    ],
)
def test_python_sources_accepted(source: str) -> None:
    assert graders.validate({"type": "python", "name": "p", "source": source}).source == source


def test_unknown_template_namespace() -> None:
    grader = {"type": "string_check", "name": "s", "input": "{{ output.text }}", "reference": "x", "operation": "eq"}
    [(path, message)] = _problems(grader)
    assert path == "input" and "output" in message


def test_unknown_namespace_inside_model_content() -> None:
    grader = {"type": "score_model", "name": "s", "model": "m", "input": [{"role": "user", "content": ["ok", {"type": "input_text", "text": "{{ data.x }}"}]}]}
    [(path, _)] = _problems(grader)
    assert path == "input[0].content[1].text"


def test_schema_problems_are_schema_only_and_semantic_ones_are_not() -> None:
    with pytest.raises(GraderInvalid) as schema:
        graders.validate({"type": "string_check"})
    assert schema.value.schema_only
    with pytest.raises(GraderInvalid) as semantic:
        graders.validate(_multi({"a": {"type": "string_check", "name": "a", "input": "a", "reference": "a", "operation": "eq"}}, "b"))
    assert not semantic.value.schema_only


def test_openai_error_shape() -> None:
    with pytest.raises(GraderInvalid) as caught:
        graders.validate({"type": "string_check", "name": "x", "input": "a", "reference": "b", "operation": "like%"})
    error = caught.value.to_openai_error()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["type"] == "invalid_request_error"
    assert error["param"] == "grader.operation"
    assert "operation" in error["message"]


def test_run_refuses_only_what_the_schema_refuses() -> None:
    # passes the schema, fails validate, runs with a flag
    grader = _multi({"a": {"type": "string_check", "name": "a", "input": "a", "reference": "a", "operation": "eq"}}, "a +")
    response = graders.run(grader, "x")
    assert response.metadata.errors.formula_parse_error and response.reward == 0
    with pytest.raises(GraderInvalid):
        graders.run({"type": "string_check", "name": "x"}, "x")
