"""graders.summary: every number checked against a hand computation or the statistics module."""

from __future__ import annotations

import math
import statistics
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from graders import summary as summary_mod
from graders.models import MultiGrader
from graders.results import new_errors
from graders.summary import Distribution, Summary, percentile, render_text
from graders.validation import parse_grader

MULTI = parse_grader(
    {
        "type": "multi",
        "name": "m",
        "graders": {
            "a": {"type": "string_check", "name": "a", "input": "x", "reference": "x", "operation": "eq"},
            "b": {"type": "string_check", "name": "b", "input": "x", "reference": "x", "operation": "eq"},
        },
        "calculate_output": "(a + b) / 2",
    }
)


def scored(row: int, reward: float, subs: dict[str, float] | None = None, **flags: Any) -> dict[str, Any]:
    errors = new_errors()
    errors.update(flags)
    return {
        "row": row,
        "reward": reward,
        "metadata": {"errors": errors},
        "sub_rewards": subs or {},
        "model_grader_token_usage_per_model": {},
    }


def test_numbers_by_hand() -> None:
    assert isinstance(MULTI, MultiGrader)
    s = Summary.for_grader(MULTI, threshold=0.5)
    rewards = [0.0, 0.25, 0.5, 1.0]
    for i, r in enumerate(rewards):
        s.add(scored(i, r, {"a": r, "b": 1.0}))
    s.add({"row": 4, "error": {"message": "invalid JSON", "line": 5}})
    s.add(scored(5, 0.0, {"a": 0.0, "b": 0.0}, invalid_variable_error=True, invalid_variable_error_details="x"))
    data = s.to_json()
    assert (data["rows"], data["scored"], data["unreadable"], data["rows_with_error_flags"]) == (6, 5, 1, 1)
    assert data["error_flags"] == {"invalid_variable_error": 1}
    # rewards: 0, .25, .5, 1, 0 → sum 1.75, mean .35
    r = data["reward"]
    assert r["mean"] == pytest.approx(0.35)
    # population variance: (.1225 + .01 + .0225 + .4225 + .1225) / 5 = .7 / 5 = .14
    assert r["std"] == pytest.approx(math.sqrt(0.14))
    assert (r["min"], r["max"]) == (0.0, 1.0)
    # sorted 0, 0, .25, .5, 1: p50 = .25; p25 at position 1 → 0; p90 at 3.6 → .5 + .6 * .5 = .8
    assert r["p50"] == 0.25 and r["p25"] == 0.0 and r["p90"] == pytest.approx(0.8)
    # p10 at 0.4 → 0; p75 at position 3 → .5
    assert r["p10"] == 0.0 and r["p75"] == 0.5
    assert data["passed"] == 2 and data["pass_rate"] == pytest.approx(2 / 5)  # 0.5 and 1.0
    counts = [b["count"] for b in r["histogram"]]
    assert counts == [2, 0, 1, 0, 0, 1, 0, 0, 0, 1]  # 0,0 | .25 | .5 | 1.0 in the last, closed bin
    assert data["sub_rewards"]["b"]["mean"] == pytest.approx(0.8)
    assert [e["row"] for e in data["errored_rows"]] == [4, 5]
    assert [e["row"] for e in data["lowest_rows"]][:3] == [0, 5, 1]  # reward 0 (rows 0, 5), then .25
    text = render_text(s)
    assert "rows        6  (scored 5, unreadable 1, with error flags 1)" in text
    assert "invalid_variable_error" in text and "pass rate   40.0%" in text


def test_judge_calls_and_tokens_add_up() -> None:
    s = Summary(judge_graders={"judge-1": 2})
    for i in range(3):
        out = scored(i, 1.0)
        out["model_grader_token_usage_per_model"] = {"judge-1": {"prompt_tokens": 10, "completion_tokens": 4}}
        s.add(out)
    assert s.judge["judge-1"] == {"rows": 3, "calls": 6, "prompt_tokens": 30, "completion_tokens": 12}


def test_nan_rewards_are_counted_apart() -> None:
    d = Distribution()
    for x in (0.5, math.nan, 1.0):
        d.add(x)
    assert d.n == 2 and d.nan == 1 and d.mean == 0.75


def test_rewards_outside_the_range_get_bins_over_min_max() -> None:
    d = Distribution(0.0, 1.0, bins=2)
    for x in (0.0, 1.0, 3.0, 4.0):
        d.add(x)
    assert d.histogram() == [{"lo": 0.0, "hi": 2.0, "count": 2}, {"lo": 2.0, "hi": 4.0, "count": 2}]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(min_value=-5, max_value=5, allow_nan=False), min_size=1, max_size=60), st.integers(1, 7))
def test_merging_chunks_equals_adding_one_by_one(values: list[float], chunk: int) -> None:
    whole = Distribution()
    for x in values:
        whole.add(x)
    merged = Distribution()
    for start in range(0, len(values), chunk):
        part = Distribution()
        for x in values[start : start + chunk]:
            part.add(x)
        merged.merge(part)
    assert merged.n == whole.n == len(values)
    assert merged.mean == pytest.approx(statistics.fmean(values), abs=1e-9)
    assert merged.std == pytest.approx(statistics.pstdev(values), abs=1e-9)
    assert (merged.min, merged.max) == (min(values), max(values))
    assert merged.bins == whole.bins and merged.below == whole.below and merged.above == whole.above
    ordered = sorted(values)
    for q in (10, 50, 90):
        # statistics.quantiles(method="inclusive") is the same linear interpolation.
        if len(values) > 1:
            expected = statistics.quantiles(values, n=100, method="inclusive")[q - 1]
            assert percentile(ordered, q) == pytest.approx(expected, abs=1e-9)
    assert merged.percentiles() == whole.percentiles()



@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(min_value=-5, max_value=5) | st.just(math.nan), min_size=0, max_size=60), st.integers(1, 7))
def test_adding_a_chunk_at_once_equals_adding_one_by_one(values: list[float], chunk: int) -> None:
    # Distribution.add_many (a worker's chunk) against add() per value and the statistics module.
    whole = Distribution()
    for x in values:
        whole.add(x)
    many = Distribution()
    for start in range(0, len(values), chunk):
        many.add_many(values[start : start + chunk])
    finite = [x for x in values if x == x]
    assert (many.n, many.nan) == (whole.n, whole.nan) == (len(finite), len(values) - len(finite))
    assert many.bins == whole.bins and many.below == whole.below and many.above == whole.above
    assert many.percentiles() == whole.percentiles()
    if finite:
        assert many.mean == pytest.approx(statistics.fmean(finite), abs=1e-9)
        assert many.std == pytest.approx(statistics.pstdev(finite), abs=1e-9)
        assert (many.min, many.max) == (min(finite), max(finite))


def test_summary_add_many_equals_add() -> None:
    outs = [scored(i, (i % 5) / 4, {"a": (i % 3) / 2, "b": 1.0}) for i in range(40)]
    outs[7] = scored(7, 0.0, {"a": 0.0, "b": 0.0}, invalid_variable_error=True)
    outs[9] = {"row": 9, "error": {"message": "bad JSON", "line": 10}}
    one, many = Summary.for_grader(MULTI, 0.5), Summary.for_grader(MULTI, 0.5)
    for out in outs:
        one.add(out)
    many.add_many(outs)
    a, b = one.to_json(), many.to_json()
    assert a["reward"].pop("mean") == pytest.approx(b["reward"].pop("mean"))
    assert a["reward"].pop("std") == pytest.approx(b["reward"].pop("std"))
    for key in ("a", "b"):
        for stat in ("mean", "std"):
            assert a["sub_rewards"][key].pop(stat) == pytest.approx(b["sub_rewards"][key].pop(stat))
    assert a == b


def test_past_the_sample_cap_percentiles_come_from_a_uniform_sample(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(summary_mod, "SAMPLE_CAP", 1000)
    d = Distribution()
    for start in range(0, 20_000, 500):  # merged chunk by chunk, as the batch parent does
        part = Distribution()
        for i in range(start, start + 500):
            part.add(i / 20_000)
        d.merge(part)
    assert d.n == 20_000 and len(d.sample) == 1000 and not d.percentiles_exact
    assert d.percentiles()["p50"] == pytest.approx(0.5, abs=0.05)
    assert d.mean == pytest.approx(19_999 / 40_000)
    assert sum(d.bins) == 20_000  # bins stay exact
