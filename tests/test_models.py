"""Grader models: JSON in → model → JSON out is the same JSON; the schema refuses what OpenAI refuses."""

from __future__ import annotations

import copy
from typing import Any

import pytest

import graders
from graders.errors import GraderInvalid
from graders.validation import parse_grader

FULL_SCORE_MODEL: dict[str, Any] = {
    "type": "score_model",
    "name": "judge",
    "model": "gpt-4o-mini",
    "input": [
        {"role": "system", "content": "You grade answers.", "type": "message"},
        {"role": "user", "content": {"type": "input_text", "text": "Q: {{ item.q }}"}},
        {
            "role": "user",
            "content": [
                "A: {{ sample.output_text }}",
                {"type": "output_text", "text": "prior"},
                {"type": "input_image", "image_url": "{{ item.url }}", "detail": "low"},
                {"type": "input_audio", "input_audio": {"data": "{{ item.audio }}", "format": "wav"}},
            ],
        },
        {"role": "developer", "content": "be strict"},
        {"role": "assistant", "content": "ok"},
    ],
    "range": [-1, 1],
    "sampling_params": {
        "seed": 7,
        "top_p": 0.9,
        "temperature": 0.2,
        "max_completions_tokens": 512,
        "reasoning_effort": "low",
    },
    "pass_threshold": 0.5,
}

EXAMPLES: list[dict[str, Any]] = [
    {"type": "string_check", "name": "s", "input": "{{ sample.output_text }}", "reference": "x", "operation": "ilike"},
    {"type": "text_similarity", "name": "t", "input": "a", "reference": "b", "evaluation_metric": "rouge_5"},
    {"type": "text_similarity", "name": "t", "input": "a", "reference": "b", "evaluation_metric": "cosine", "pass_threshold": 0.8},
    {"type": "python", "name": "p", "source": "def grade(sample, item):\n    return 1.0\n", "image_tag": "2025-05-08"},
    {"type": "python", "source": "def grade(sample, item):\n    return 1.0\n"},
    FULL_SCORE_MODEL,
    {
        "type": "multi",
        "name": "m",
        "graders": {
            "a": {"type": "string_check", "name": "s", "input": "a", "reference": "a", "operation": "eq"},
            "b": {
                "type": "label_model",
                "name": "l",
                "model": "gpt-4o-mini",
                "input": [{"role": "user", "content": "{{ sample.output_text }}"}],
                "labels": ["good", "bad"],
                "passing_labels": ["good"],
            },
        },
        "calculate_output": "a * b",
    },
]


@pytest.mark.parametrize("grader", EXAMPLES, ids=lambda g: g["type"])
def test_round_trip_gives_back_the_same_json(grader: dict[str, Any]) -> None:
    original = copy.deepcopy(grader)
    model = parse_grader(grader)
    assert model.to_json() == original
    assert grader == original  # input untouched


def test_validate_fills_only_the_python_name() -> None:
    accepted = graders.validate({"type": "python", "source": "def grade(s, i):\n    return 0\n"}).to_json()
    assert set(accepted) == {"type", "source", "name"}
    assert accepted["name"].startswith("grader-") and len(accepted["name"]) == len("grader-") + 12
    assert accepted["name"][7:].isalnum()


def test_validate_fills_python_name_inside_multi() -> None:
    grader = {
        "type": "multi",
        "name": "m",
        "graders": {"p": {"type": "python", "source": "def grade(s, i):\n    return 0\n"}},
        "calculate_output": "p",
    }
    accepted = graders.validate(grader).to_json()
    assert accepted["graders"]["p"]["name"].startswith("grader-")


def _problems(grader: Any) -> list[tuple[str, str]]:
    with pytest.raises(GraderInvalid) as caught:
        parse_grader(grader)
    return [(p.path, p.message) for p in caught.value.problems]


def test_unknown_type_is_one_clear_problem() -> None:
    [(path, message)] = _problems({"type": "regex_check", "name": "x"})
    assert path == "type" and "regex_check" in message and "string_check" in message


def test_missing_type() -> None:
    [(path, message)] = _problems({"name": "x"})
    assert path == "type" and "required" in message


def test_missing_field_names_its_path() -> None:
    [(path, message)] = _problems({"type": "string_check", "name": "x", "input": "a", "reference": "b"})
    assert path == "operation" and message == "field required"


def test_bad_enum_value_names_its_path_and_the_allowed_values() -> None:
    [(path, message)] = _problems(
        {"type": "string_check", "name": "x", "input": "a", "reference": "b", "operation": "contains"}
    )
    assert path == "operation" and "'eq'" in message and "'ilike'" in message


def test_wrong_field_type() -> None:
    [(path, message)] = _problems({"type": "string_check", "name": "x", "input": 5, "reference": "b", "operation": "eq"})
    assert path == "input" and "string" in message


def test_unknown_field_is_refused() -> None:
    [(path, message)] = _problems(
        {"type": "string_check", "name": "x", "input": "a", "reference": "b", "operation": "eq", "opration": "eq"}
    )
    assert path == "opration" and "unknown field" in message


def test_nested_problem_inside_multi_names_the_key_path() -> None:
    problems = _problems(
        {
            "type": "multi",
            "name": "m",
            "calculate_output": "a",
            # A key equal to a type name must not confuse the path.
            "graders": {"string_check": {"type": "string_check", "name": "n", "input": "i", "reference": "r", "operation": "xx"}},
        }
    )
    assert problems[0][0] == "graders.string_check.operation"


def test_message_content_problem_path() -> None:
    bad = copy.deepcopy(FULL_SCORE_MODEL)
    bad["input"][2]["content"][3]["input_audio"]["format"] = "ogg"
    bad["input"][0]["role"] = "robot"
    paths = [p for p, _ in _problems(bad)]
    assert "input[2].content[3].input_audio.format" in paths
    assert "input[0].role" in paths


def test_multi_inside_multi_is_refused() -> None:
    inner = {"type": "multi", "name": "i", "graders": {}, "calculate_output": "1"}
    [(path, message)] = _problems({"type": "multi", "name": "m", "graders": {"x": inner}, "calculate_output": "x"})
    assert path == "graders.x.type" and "'multi'" in message


def test_label_model_is_not_a_top_level_grader() -> None:
    grader = EXAMPLES[-1]["graders"]["b"]
    [(path, message)] = _problems(grader)
    assert path == "type" and "top-level" in message


def test_grader_must_be_an_object() -> None:
    [(path, message)] = _problems(["not", "a", "grader"])
    assert path == "" and "array" in message


def test_every_problem_is_listed() -> None:
    problems = _problems({"type": "string_check", "name": 1, "operation": "nope"})
    paths = sorted(p for p, _ in problems)
    assert paths == ["input", "name", "operation", "reference"]


def test_python_source_at_256k_is_refused_by_the_schema() -> None:
    source = "def grade(s, i):\n    return 0\n#" + "x" * (256 * 1024)
    [(path, message)] = _problems({"type": "python", "source": source})
    assert path == "source" and "256 kB" in message
