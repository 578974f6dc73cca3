"""score_model / label_model through real HTTP to the scripted test judge (SEMANTICS §7, §9).

Expected requests and rewards are written out by hand from the rules, never taken
from the code under test.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest

import graders
from graders.backends import Judge
from tests.judge_server import CHAT, JudgeServer, Recorded, Reply


@pytest.fixture
def judge(judge_server: JudgeServer) -> Iterator[Judge]:
    with Judge(base_url=judge_server.base_url, api_key="test-key", cache=False, backoff=0.01, max_retries=2) as j:
        yield j


def score_grader(**extra: Any) -> dict[str, Any]:
    grader = {
        "type": "score_model",
        "name": "judge",
        "model": "gpt-4o-mini",
        "input": [{"role": "user", "content": "Grade {{ sample.output_text }} against {{ item.answer }}"}],
    }
    grader.update(extra)
    return grader


def label_multi(labels: list[str], passing: list[str]) -> dict[str, Any]:
    label = {
        "type": "label_model",
        "name": "tone",
        "model": "gpt-4o-mini",
        "input": [{"role": "user", "content": "Tone of {{ sample.output_text }}?"}],
        "labels": labels,
        "passing_labels": passing,
    }
    return {"type": "multi", "name": "m", "graders": {"tone": label}, "calculate_output": "tone"}


def run(grader: dict[str, Any], judge: Judge, sample: str = "Paris", item: Any = None) -> graders.RunResponse:
    return graders.run(grader, sample, item or {"answer": "Paris"}, options=graders.RunOptions(judge=judge))


def flags(response: graders.RunResponse) -> list[str]:
    return response.metadata.errors.flags_set()


# ---------------------------------------------------------------- what is sent


def test_request_renders_every_message_and_content_part(judge_server: JudgeServer, judge: Judge) -> None:
    grader = score_grader(
        input=[
            {"role": "system", "content": "You grade answers about {{ item.topic }}."},
            {"role": "developer", "content": {"type": "input_text", "text": "Be strict on {{ item.topic }}."}},
            {"role": "assistant", "content": [{"type": "output_text", "text": "Earlier: {{ item.answer }}"}]},
            {
                "role": "user",
                "type": "message",
                "content": [
                    "Answer: {{ sample.output_text }}",
                    {"type": "input_text", "text": "Reference: {{ item.answer }}"},
                    {"type": "input_image", "image_url": "https://img.example/{{ item.image }}.png", "detail": "low"},
                    {"type": "input_audio", "input_audio": {"data": "{{ item.audio }}", "format": "wav"}},
                ],
            },
        ],
        sampling_params={
            "max_completions_tokens": 512,
            "reasoning_effort": "low",
            "seed": 7,
            "temperature": 0.2,
            "top_p": 0.9,
        },
    )
    item = {"topic": "capitals", "answer": "Paris", "image": "eiffel", "audio": "UklGRg=="}
    response = run(grader, judge, "It is Paris", item)
    assert response.reward == 1.0 and flags(response) == []

    (sent,) = judge_server.received(CHAT)
    assert sent.headers["authorization"] == "Bearer test-key"
    body = sent.body
    assert body["model"] == "gpt-4o-mini"
    assert body["messages"] == [
        {"role": "system", "content": "You grade answers about capitals."},
        {"role": "developer", "content": [{"type": "text", "text": "Be strict on capitals."}]},
        {"role": "assistant", "content": [{"type": "text", "text": "Earlier: Paris"}]},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "Answer: It is Paris"},
                {"type": "text", "text": "Reference: Paris"},
                {"type": "image_url", "image_url": {"url": "https://img.example/eiffel.png", "detail": "low"}},
                {"type": "input_audio", "input_audio": {"data": "UklGRg==", "format": "wav"}},
            ],
        },
    ]
    # The grader's max_completions_tokens is the API's max_completion_tokens.
    assert body["max_completion_tokens"] == 512
    assert "max_completions_tokens" not in body
    assert (body["reasoning_effort"], body["seed"], body["temperature"], body["top_p"]) == ("low", 7, 0.2, 0.9)
    assert body["response_format"] == {
        "type": "json_schema",
        "json_schema": {
            "name": "score_model_output",
            "strict": True,
            "schema": {
                "type": "object",
                "properties": {
                    "steps": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {"description": {"type": "string"}, "conclusion": {"type": "string"}},
                            "required": ["description", "conclusion"],
                            "additionalProperties": False,
                        },
                    },
                    "result": {"type": "number"},
                },
                "required": ["steps", "result"],
                "additionalProperties": False,
            },
        },
    }


def test_no_sampling_params_sends_none(judge_server: JudgeServer, judge: Judge) -> None:
    run(score_grader(), judge)
    body = judge_server.received(CHAT)[0].body
    assert set(body) == {"model", "messages", "response_format"}


def test_label_model_schema_constrains_result_to_labels(judge_server: JudgeServer, judge: Judge) -> None:
    judge_server.default = Reply.answer("positive")
    run(label_multi(["positive", "neutral", "negative"], ["positive"]), judge)
    body = judge_server.received(CHAT)[0].body
    schema = body["response_format"]["json_schema"]
    assert schema["name"] == "label_model_output" and schema["strict"] is True
    assert schema["schema"]["properties"]["result"] == {"type": "string", "enum": ["positive", "neutral", "negative"]}


def test_missing_template_variable_sends_nothing(judge_server: JudgeServer, judge: Judge) -> None:
    response = run(score_grader(), judge, item={"other": 1})
    assert flags(response) == ["invalid_variable_error"] and response.reward == 0.0
    assert judge_server.received(CHAT) == []


# ---------------------------------------------------------------- the reward


@pytest.mark.parametrize(
    ("range_", "result", "reward"),
    [
        (None, 0.25, 0.25),
        (None, 1.7, 1.0),  # default range [0, 1]
        (None, -0.5, 0.0),
        ([0, 10], 12, 10.0),
        ([0, 10], 7.5, 7.5),
        ([-5, -1], 0, -1.0),  # a negative range clips from above ...
        ([-5, -1], -7, -5.0),  # ... and from below
        ([-5, -1], -2.5, -2.5),
    ],
)
def test_score_is_result_clipped_to_range(
    judge_server: JudgeServer, judge: Judge, range_: list[float] | None, result: float, reward: float
) -> None:
    judge_server.default = Reply.answer(result)
    extra = {} if range_ is None else {"range": range_}
    response = run(score_grader(**extra), judge)
    assert flags(response) == []
    assert response.reward == reward


@pytest.mark.parametrize("bad", [[1, 0], [0, 0], [0, 1, 2]])
def test_bad_range_is_other_error_without_a_request(judge_server: JudgeServer, judge: Judge, bad: list[float]) -> None:
    response = run(score_grader(range=bad), judge)
    assert flags(response) == ["other_error"] and response.reward == 0.0
    assert "range" in (response.metadata.errors.other_error_details or "")
    assert judge_server.received(CHAT) == []


@pytest.mark.parametrize(("answer", "reward"), [("positive", 1.0), ("neutral", 1.0), ("negative", 0.0)])
def test_label_reward_is_membership_of_passing_labels(
    judge_server: JudgeServer, judge: Judge, answer: str, reward: float
) -> None:
    judge_server.default = Reply.answer(answer)
    response = run(label_multi(["positive", "neutral", "negative"], ["positive", "neutral"]), judge)
    assert flags(response) == []
    assert response.reward == reward and response.sub_rewards == {"tone": reward}


def test_label_outside_labels_is_a_parse_error(judge_server: JudgeServer, judge: Judge) -> None:
    judge_server.default = Reply.answer("sarcastic")
    response = run(label_multi(["positive", "negative"], ["positive"]), judge)
    assert flags(response) == ["model_grader_parse_error"] and response.reward == 0.0
    assert "sarcastic" in (response.metadata.errors.other_error_details or "")


def test_passing_labels_not_in_labels_is_other_error(judge_server: JudgeServer, judge: Judge) -> None:
    response = run(label_multi(["positive", "negative"], ["great"]), judge)
    assert flags(response) == ["other_error"]
    assert "great" in (response.metadata.errors.other_error_details or "")
    assert judge_server.received(CHAT) == []


def test_code_fenced_answer_is_read(judge_server: JudgeServer, judge: Judge) -> None:
    judge_server.default = Reply.text('```json\n{"steps": [], "result": 0.4}\n```')
    response = run(score_grader(), judge)
    assert flags(response) == [] and response.reward == 0.4


# ---------------------------------------------------------------- each flag


@pytest.mark.parametrize(
    ("reply", "flag"),
    [
        (Reply.refuse("I will not grade this."), "model_grader_refusal_error"),
        (Reply.text("The score is 0.8"), "model_grader_parse_error"),
        (Reply.text('{"steps": [], "result": "high"}'), "model_grader_parse_error"),
        (Reply.text('{"steps": [], "result": true}'), "model_grader_parse_error"),
        (Reply.text('{"steps": []}'), "model_grader_parse_error"),
        (Reply.text(""), "model_grader_parse_error"),
        (Reply.truncated(), "model_grader_exceeded_max_tokens_error"),
        (Reply.text('{"result": 1}', finish_reason="content_filter"), "model_grader_refusal_error"),
    ],
)
def test_each_failure_sets_its_own_flag(judge_server: JudgeServer, judge: Judge, reply: Reply, flag: str) -> None:
    judge_server.default = reply
    response = run(score_grader(), judge)
    assert flags(response) == [flag]
    assert response.reward == 0.0
    assert response.metadata.errors.other_error_details  # says why, never a silent 0


def test_server_error_after_retries_has_details(judge_server: JudgeServer, judge: Judge) -> None:
    judge_server.default = Reply.error(500, "judge exploded")
    response = run(score_grader(), judge)
    assert flags(response) == ["model_grader_server_error"] and response.reward == 0.0
    details = response.metadata.errors.model_grader_server_error_details or ""
    assert "HTTP 500" in details and "judge exploded" in details and "3 attempts" in details
    assert len(judge_server.received(CHAT)) == 3  # max_retries=2


def test_retried_429_then_success_is_a_clean_grade(judge_server: JudgeServer, judge: Judge) -> None:
    judge_server.queue(Reply.error(429, "slow down", retry_after="0"), Reply.error(503), Reply.answer(0.6))
    response = run(score_grader(), judge)
    assert flags(response) == [] and response.reward == 0.6
    assert len(judge_server.received(CHAT)) == 3


def test_no_judge_configured_is_a_server_error_not_a_crash(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    response = graders.run(score_grader(), "Paris", {"answer": "Paris"})
    assert flags(response) == ["model_grader_server_error"]
    assert "no judge is configured" in (response.metadata.errors.model_grader_server_error_details or "")


# ---------------------------------------------------------------- usage and model name


def test_token_usage_summed_per_model_across_a_multi(judge_server: JudgeServer, judge: Judge) -> None:
    def usage(p: int, c: int, cached: int) -> dict[str, Any]:
        return {"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c, "prompt_tokens_details": {"cached_tokens": cached}}

    def responder(request: Recorded) -> Reply:
        text = json.dumps(request.body["messages"])
        if "first" in text:
            return Reply.answer(0.5, usage=usage(100, 20, 10), model="judge-a-2025")
        if "second" in text:
            return Reply.answer(1.0, usage=usage(50, 5, 0), model="judge-a-2025")
        return Reply.answer("yes", usage=usage(30, 3, 1), model="judge-b-2025")

    judge_server.responder = responder

    def sub(kind: str, word: str) -> dict[str, Any]:
        grader: dict[str, Any] = {
            "type": kind,
            "name": word,
            "model": "judge-b" if kind == "label_model" else "judge-a",
            "input": [{"role": "user", "content": f"{word}: {{{{ sample.output_text }}}}"}],
        }
        if kind == "label_model":
            grader.update(labels=["yes", "no"], passing_labels=["yes"])
        return grader

    grader = {
        "type": "multi",
        "name": "all",
        "graders": {"a": sub("score_model", "first"), "b": sub("score_model", "second"), "c": sub("label_model", "third")},
        "calculate_output": "a + b + c",
    }
    response = run(grader, judge)
    assert flags(response) == []
    assert response.reward == 2.5 and response.sub_rewards == {"a": 0.5, "b": 1.0, "c": 1.0}
    # By hand: judge-a answered first (100/20/120/10) and second (50/5/55/0).
    assert response.model_grader_token_usage_per_model == {
        "judge-a-2025": {"prompt_tokens": 150, "completion_tokens": 25, "total_tokens": 175, "cached_tokens": 10},
        "judge-b-2025": {"prompt_tokens": 30, "completion_tokens": 3, "total_tokens": 33, "cached_tokens": 1},
    }
    assert response.metadata.token_usage == {
        "prompt_tokens": 180,
        "completion_tokens": 28,
        "total_tokens": 208,
        "cached_tokens": 11,
    }
    assert response.metadata.sampled_model_name in {"judge-a-2025", "judge-b-2025"}


def test_usage_is_recorded_even_when_the_answer_is_flagged(judge_server: JudgeServer, judge: Judge) -> None:
    judge_server.default = Reply.refuse(model="judge-x")
    response = run(score_grader(), judge)
    assert flags(response) == ["model_grader_refusal_error"]
    assert response.metadata.sampled_model_name == "judge-x"
    assert response.model_grader_token_usage_per_model == {
        "judge-x": {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18, "cached_tokens": 2}
    }


def test_sampled_model_name_falls_back_to_the_grader_model(judge_server: JudgeServer, judge: Judge) -> None:
    judge_server.default = Reply(body={"choices": [{"message": {"content": '{"steps": [], "result": 1}'}, "finish_reason": "stop"}]})
    response = run(score_grader(), judge)
    assert flags(response) == [] and response.metadata.sampled_model_name == "gpt-4o-mini"
    assert response.metadata.token_usage is None


# ---------------------------------------------------------------- loops


def test_one_judge_serves_successive_sync_runs(judge_server: JudgeServer, judge: Judge) -> None:
    # engine.run starts a new event loop per call; the judge must not keep a dead loop's client.
    for expected in (0.1, 0.2, 0.3):
        judge_server.queue(Reply.answer(expected))
        assert run(score_grader(), judge).reward == expected


def test_run_inside_a_running_loop(judge_server: JudgeServer, judge: Judge) -> None:
    judge_server.queue(Reply.answer(0.9), Reply.answer(0.8))

    async def main() -> tuple[float, float]:
        inner = run(score_grader(), judge)  # engine.run uses a private loop in a thread here
        outer = await graders.arun(score_grader(), "Paris", {"answer": "Paris"}, options=graders.RunOptions(judge=judge))
        return inner.reward, outer.reward

    assert asyncio.run(main()) == (0.9, 0.8)
