"""as_reward_function against a fake TRL-style call (graders/adapters.py)."""

from __future__ import annotations

import asyncio
import math
from typing import Any

import pytest

import graders
from graders.adapters import as_reward_function, completion_text, items_from_columns
from graders.context import RunOptions

EXACT = {
    "type": "string_check",
    "name": "exact_answer",
    "input": "{{ sample.output_text }}",
    "reference": "{{ item.answer }}",
    "operation": "eq",
}


class FakeTrainerState:
    global_step = 7


def fake_trl_call(reward_func: Any, inputs: list[dict[str, Any]], completions: list[Any]) -> list[float]:
    """What TRL's GRPOTrainer does with a reward function, reduced to the calling convention:
    every dataset column except prompt/completion becomes a keyword argument holding one value
    per completion; prompts, completion_ids and the trainer state come along; None becomes NaN."""
    prompts = [x["prompt"] for x in inputs]
    keys = [key for key in inputs[0] if key not in ("prompt", "completion", "completion_ids")]
    reward_kwargs = {key: [example[key] for example in inputs] for key in keys}
    reward_kwargs["trainer_state"] = FakeTrainerState()
    completion_ids = [[1, 2, 3] for _ in completions]
    output = reward_func(prompts=prompts, completions=completions, completion_ids=completion_ids, **reward_kwargs)
    return [reward if reward is not None else math.nan for reward in output]


def test_standard_format_strings() -> None:
    inputs = [
        {"prompt": "Capital of France?", "answer": "Paris"},
        {"prompt": "Capital of Italy?", "answer": "Rome"},
        {"prompt": "Capital of Spain?", "answer": "Madrid"},
    ]
    fn = graders.as_reward_function(EXACT)
    assert fake_trl_call(fn, inputs, ["Paris", "Milan", "Madrid"]) == [1.0, 0.0, 1.0]


def test_conversational_format_uses_the_last_message() -> None:
    inputs = [
        {"prompt": [{"role": "user", "content": "Capital of France?"}], "answer": "Paris"},
        {"prompt": [{"role": "user", "content": "Capital of Italy?"}], "answer": "Rome"},
    ]
    completions = [
        [{"role": "assistant", "content": "Paris"}],
        [{"role": "assistant", "content": "thinking..."}, {"role": "assistant", "content": "Rome"}],
    ]
    assert fake_trl_call(as_reward_function(EXACT), inputs, completions) == [1.0, 1.0]


def test_each_row_item_comes_from_its_own_column_values() -> None:
    grader = {**EXACT, "input": "{{ item.country }}:{{ sample.output_text }}", "reference": "{{ item.key }}"}
    inputs = [
        {"prompt": "p", "country": "FR", "key": "FR:Paris"},
        {"prompt": "p", "country": "IT", "key": "FR:Paris"},  # row 0's key: wrong if the items were mixed up
    ]
    # Row 1 renders "IT:Paris" from its own country; compared with its own key it fails.
    assert fake_trl_call(as_reward_function(grader), inputs, ["Paris", "Paris"]) == [1.0, 0.0]


def test_a_failed_grade_is_none_not_zero() -> None:
    fn = as_reward_function(EXACT)
    # No 'answer' column: {{ item.answer }} does not resolve, the grade sets invalid_variable_error.
    assert fn(["Paris", "Paris"], other=["x", "y"]) == [None, None]
    rewards = fake_trl_call(fn, [{"prompt": "p", "other": "x"}] * 2, ["a", "b"])
    assert all(math.isnan(r) for r in rewards)  # TRL's own None → NaN: the row adds no reward


def test_trainer_kwargs_are_not_item_fields() -> None:
    grader = {**EXACT, "input": "{{ item.prompts }}", "reference": "x"}
    fn = as_reward_function(grader)
    # 'prompts' is TRL's, not a dataset column: the reference does not resolve → None.
    assert fn(["a"], prompts=["x"], completion_ids=[[1]], trainer_state=FakeTrainerState()) == [None]


def test_items_from_columns() -> None:
    assert items_from_columns(2, {"a": [1, 2], "b": ("x", "y"), "scalar": 5, "prompts": ["p", "q"]}) == [
        {"a": 1, "b": "x"},
        {"a": 2, "b": "y"},
    ]
    with pytest.raises(ValueError, match="column 'a' has 1 values for 2 completions"):
        items_from_columns(2, {"a": [1]})


@pytest.mark.parametrize(
    ("completion", "text"),
    [
        ("plain", "plain"),
        ([{"role": "assistant", "content": "last"}], "last"),
        ({"role": "assistant", "content": "one message"}, "one message"),
        ([{"role": "assistant", "content": [{"type": "text", "text": "a"}, {"type": "image"}, {"type": "text", "text": "b"}]}], "ab"),
        ([{"role": "assistant", "content": None, "tool_calls": []}], ""),
    ],
)
def test_completion_text(completion: Any, text: str) -> None:
    assert completion_text(completion) == text


def test_bad_completion_type() -> None:
    with pytest.raises(TypeError):
        completion_text(42)


def test_name_for_trainer_logs_and_invalid_grader() -> None:
    assert as_reward_function(EXACT).__name__ == "exact_answer"
    assert as_reward_function(EXACT, name="acc").__name__ == "acc"
    with pytest.raises(graders.GraderInvalid):
        as_reward_function({**EXACT, "operation": "regex"})
    with pytest.raises(graders.GraderInvalid):  # semantic problems are refused up front too
        as_reward_function({"type": "multi", "name": "m", "graders": {"a": EXACT}, "calculate_output": "a + b"})


class SlowEmbeddings:
    """A stand-in embeddings backend: cosine = 1 when equal else 0.5, after a short wait."""

    def __init__(self) -> None:
        self.in_flight = 0
        self.peak = 0

    async def cosine_similarity(self, a: str, b: str) -> float:
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        await asyncio.sleep(0.01)
        self.in_flight -= 1
        return 1.0 if a == b else 0.5


def test_io_graders_grade_a_batch_concurrently() -> None:
    cosine = {"type": "text_similarity", "name": "cos", "input": "{{ sample.output_text }}", "reference": "{{ item.answer }}", "evaluation_metric": "cosine"}
    backend = SlowEmbeddings()
    fn = as_reward_function(cosine, options=RunOptions(judge=backend))
    assert fn(["a", "b", "c", "d"], answer=["a", "x", "c", "y"]) == [1.0, 0.5, 1.0, 0.5]
    assert backend.peak == 4
    # Without a backend: every grade fails, every reward is None.
    assert as_reward_function(cosine)(["a"], answer=["a"]) == [None]


def test_called_from_inside_an_event_loop() -> None:
    cosine = {"type": "text_similarity", "name": "cos", "input": "{{ sample.output_text }}", "reference": "{{ item.answer }}", "evaluation_metric": "cosine"}
    fn = as_reward_function(cosine, options=RunOptions(judge=SlowEmbeddings()))

    async def inside() -> list[float | None]:
        return fn(["a", "b"], answer=["a", "a"])

    assert asyncio.run(inside()) == [1.0, 0.5]


def test_the_readme_example_runs() -> None:
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    readme = (root / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## The same grader as a reward function") :]
    code = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert code is not None
    import contextlib
    import io
    import os

    out = io.StringIO()
    cwd = os.getcwd()
    os.chdir(root)
    try:
        with contextlib.redirect_stdout(out):
            exec(compile(code.group(1), "README.md", "exec"), {})  # noqa: S102 -- our own README's example
    finally:
        os.chdir(cwd)
    assert out.getvalue() == "[1.0, 0.8, None]\n"
