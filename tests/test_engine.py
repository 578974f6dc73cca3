"""engine.run / arun: the /run response shape (SEMANTICS §9) and the sample (§3)."""

from __future__ import annotations

import asyncio

import pytest

import graders
from graders.context import sample_from_text
from graders.results import ERROR_DEFAULTS

CHECK = {"type": "string_check", "name": "c", "input": "{{ sample.output_text }}", "reference": "a", "operation": "eq"}


def test_every_error_flag_is_present_and_false_by_default() -> None:
    errors = graders.run(CHECK, "a").model_dump(mode="json")["metadata"]["errors"]
    assert errors == ERROR_DEFAULTS
    # SEMANTICS §9 list, written out independently of the code
    for flag in [
        "formula_parse_error", "sample_parse_error", "truncated_observation_error", "unresponsive_reward_error",
        "invalid_variable_error", "other_error", "python_grader_server_error", "python_grader_server_error_type",
        "python_grader_runtime_error", "python_grader_runtime_error_details", "model_grader_server_error",
        "model_grader_server_error_details", "model_grader_refusal_error", "model_grader_parse_error",
        "model_grader_exceeded_max_tokens_error", "invalid_variable_error_details", "other_error_details",
    ]:
        assert flag in errors


def test_response_fields() -> None:
    dumped = graders.run(CHECK, "a").model_dump(mode="json")
    assert set(dumped) == {"reward", "metadata", "sub_rewards", "model_grader_token_usage_per_model"}
    assert set(dumped["metadata"]) >= {"name", "type", "errors", "execution_time", "scores", "token_usage", "sampled_model_name"}
    assert dumped["metadata"]["execution_time"] >= 0


def test_model_instance_is_accepted() -> None:
    model = graders.validate(CHECK)
    assert graders.run(model, "a").reward == 1.0


def test_arun_inside_an_event_loop() -> None:
    async def go() -> float:
        return (await graders.arun(CHECK, "a")).reward

    assert asyncio.run(go()) == 1.0


def test_sample_namespace() -> None:
    assert sample_from_text('{"x": [1]}') == {"output_text": '{"x": [1]}', "output_json": {"x": [1]}, "output_tools": [], "choices": []}
    assert sample_from_text("plain")["output_json"] is None
    assert sample_from_text("{broken")["output_json"] is None


def test_full_sample_object() -> None:
    grader = {**CHECK, "input": "{{ sample.output_tools[0].function.name }}", "reference": "lookup"}
    sample = {"output_text": "", "output_tools": [{"function": {"name": "lookup", "arguments": "{}"}}]}
    assert graders.run(grader, sample=sample).reward == 1.0


def test_bad_sample_object_is_a_sample_parse_error() -> None:
    response = graders.run(CHECK, sample={"output_text": 5})  # type: ignore[dict-item]
    assert response.metadata.errors.sample_parse_error and response.reward == 0


@pytest.mark.parametrize("metric", ["cosine"])
def test_metric_without_backend_is_other_error_never_a_number(metric: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    grader = {"type": "text_similarity", "name": "t", "input": "a", "reference": "a", "evaluation_metric": metric}
    response = graders.run(grader, "a")
    assert response.reward == 0.0
    assert response.metadata.errors.other_error
    assert "no score was produced" in (response.metadata.errors.other_error_details or "")
