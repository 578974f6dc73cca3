"""Unit tests for graders: expectations, case files, `graders test`, assert_reward (graders/testing.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from cli import main
from graders.testing import (
    CaseError,
    Expectation,
    assert_error,
    assert_reward,
    parse_expect,
    run_cases,
)
from tests.conftest import exact_grader

ROOT = Path(__file__).resolve().parents[1]
EXACT = exact_grader()
FUZZY = {**EXACT, "type": "text_similarity", "evaluation_metric": "fuzzy_match"}
del FUZZY["operation"]

PASSING = [
    {"name": "exact", "item": {"answer": "Paris"}, "model_sample": "Paris", "expect": 1},
    {"name": "wrong", "item": {"answer": "Paris"}, "model_sample": "Rome", "expect": {"reward": 0, "tol": 0}},
    {"item": {"answer": "Paris"}, "model_sample": "paris", "expect": {"max": 0.5}},
    {"item": {"answer": "Paris"}, "sample": {"output_text": "Paris"}, "expect": {"min": 1}},
    {"name": "no answer", "item": {}, "model_sample": "Paris", "expect": {"error": "invalid_variable_error"}},
]


def write_cases(tmp_path: Path, cases: list[Any], name: str = "cases.jsonl") -> Path:
    path = tmp_path / name
    path.write_text("".join((c if isinstance(c, str) else json.dumps(c)) + "\n" for c in cases), encoding="utf-8")
    return path


def write_grader(tmp_path: Path, grader: dict[str, Any], name: str = "grader.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(grader), encoding="utf-8")
    return path


# ---------------------------------------------------------------- expect forms


@pytest.mark.parametrize(
    ("expect", "parsed"),
    [
        (1, Expectation(reward=1.0)),
        (0.25, Expectation(reward=0.25)),
        ({"reward": 0.5, "tol": 0.1}, Expectation(reward=0.5, tol=0.1)),
        ({"reward": 0.5}, Expectation(reward=0.5, tol=1e-9)),
        ({"min": 0.2, "max": 0.8}, Expectation(min=0.2, max=0.8)),
        ({"min": 0.2}, Expectation(min=0.2)),
        ({"error": "python_grader_runtime_error"}, Expectation(error="python_grader_runtime_error")),
    ],
)
def test_expect_forms(expect: Any, parsed: Expectation) -> None:
    assert parse_expect(expect) == parsed


@pytest.mark.parametrize(
    "expect",
    [
        "1", True, None, float("nan"), {}, {"reward": "1"}, {"reward": 1, "tol": -1}, {"reward": 1, "min": 0},
        {"min": 1, "max": 0}, {"error": "no_such_flag"}, {"error": "other_error", "reward": 0}, {"between": [0, 1]},
    ],
)
def test_malformed_expect(expect: Any) -> None:
    with pytest.raises(CaseError):
        parse_expect(expect)


# ---------------------------------------------------------------- assert_reward


def test_assert_reward_passes_and_returns_the_response() -> None:
    response = assert_reward(EXACT, "Paris", {"answer": "Paris"}, 1.0)
    assert response.reward == 1.0
    # rapidfuzz ratio("Pariss", "Paris") = 2*5/11 = 0.9090... (by hand: 5 matching chars, lengths 6 + 5)
    assert_reward(FUZZY, "Pariss", {"answer": "Paris"}, 10 / 11, tol=1e-12)
    assert_reward(FUZZY, "Pariss", {"answer": "Paris"}, {"min": 0.9, "max": 0.95})


def test_assert_reward_failure_message() -> None:
    with pytest.raises(AssertionError, match=r"expected 1\.0 ± 1e-09, got 0\.0$"):
        assert_reward(EXACT, "Rome", {"answer": "Paris"}, 1.0)


def test_a_reward_expectation_fails_on_an_error_flag() -> None:
    # The reward is 0 either way; "0 because it failed" is not "0 because it is wrong".
    with pytest.raises(AssertionError, match="got 0.0 with invalid_variable_error"):
        assert_reward(EXACT, "Paris", {}, 0.0)
    assert_error(EXACT, "Paris", {}, "invalid_variable_error")
    with pytest.raises(AssertionError, match="expected error other_error"):
        assert_error(EXACT, "Paris", {}, "other_error")


# ---------------------------------------------------------------- case files


def test_run_cases_all_pass(tmp_path: Path) -> None:
    result = run_cases(EXACT, write_cases(tmp_path, PASSING))
    assert result.ok and len(result.results) == 5 and result.failed == []
    assert result.summary() == "5 passed, 0 failed, 5 case(s)"


def test_run_cases_failures_are_located(tmp_path: Path) -> None:
    cases = [
        *PASSING,
        {"name": "should match", "item": {"answer": "Paris"}, "model_sample": "Paris!", "expect": 1},
        "not json",
        {"item": {}, "expect": 1},  # neither model_sample nor sample
        {"item": {}, "model_sample": "x", "expect": 1, "extra": 1},
    ]
    result = run_cases(EXACT, write_cases(tmp_path, cases))
    assert not result.ok
    assert [(r.line, r.name) for r in result.failed] == [(6, "should match"), (7, None), (8, None), (9, None)]
    assert (result.failed[0].expected, result.failed[0].got) == ("1.0 ± 1e-09", "0.0")
    assert "malformed case" in result.failed[1].got


def test_an_empty_case_file_is_not_a_pass(tmp_path: Path) -> None:
    assert not run_cases(EXACT, write_cases(tmp_path, [])).ok


# ---------------------------------------------------------------- the command


def test_graders_test_command_pass(tmp_path: Path) -> None:
    done = CliRunner().invoke(main, ["test", str(write_grader(tmp_path, EXACT)), str(write_cases(tmp_path, PASSING))])
    assert done.exit_code == 0, done.output
    assert done.output == "5 passed, 0 failed, 5 case(s)\n"


def test_graders_test_command_fail(tmp_path: Path) -> None:
    cases = write_cases(tmp_path, [PASSING[0], {"name": "wrong", "item": {"answer": "Paris"}, "model_sample": "Rome", "expect": {"min": 0.5}}])
    done = CliRunner().invoke(main, ["test", str(write_grader(tmp_path, EXACT)), str(cases)])
    assert done.exit_code == 1
    assert done.output.splitlines() == [
        f"FAIL {cases}:2 [wrong]: expected reward in [0.5, inf], got 0.0",
        "1 passed, 1 failed, 2 case(s)",
    ]


def test_graders_test_command_json(tmp_path: Path) -> None:
    cases = write_cases(tmp_path, [PASSING[0], {"item": {}, "model_sample": "x", "expect": 1}])
    done = CliRunner().invoke(main, ["test", str(write_grader(tmp_path, EXACT)), str(cases), "--json"])
    assert done.exit_code == 1
    out = json.loads(done.output)
    assert (out["ok"], out["passed"], out["failed"]) == (False, 1, 1)
    assert out["cases"][1]["got"].startswith("0.0 with invalid_variable_error")


def test_graders_test_command_invalid_grader(tmp_path: Path) -> None:
    grader = write_grader(tmp_path, {**EXACT, "operation": "regex"})
    done = CliRunner().invoke(main, ["test", str(grader), str(write_cases(tmp_path, PASSING))])
    assert done.exit_code == 1
    assert '"invalid_request_error"' in done.output


# ---------------------------------------------------------------- the pytest plugin


def test_pytest_plugin_collects_case_files(tmp_path: Path) -> None:
    write_grader(tmp_path, EXACT, "capital.json")
    write_cases(tmp_path, [*PASSING[:2], {"name": "bad", "item": {"answer": "Paris"}, "model_sample": "Lyon", "expect": 1}], "capital.cases.jsonl")
    write_cases(tmp_path, PASSING, "orphan.cases.jsonl")  # no orphan.json beside it: not collected
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "graders.testing_plugin", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        capture_output=True, text=True, cwd=tmp_path, timeout=120, check=False,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "1 failed, 2 passed" in done.stdout
    assert "capital.cases.jsonl:3: expected 1.0 ± 1e-09, got 0.0" in done.stdout


def test_the_shipped_case_file_passes() -> None:
    done = CliRunner().invoke(
        main, ["test", str(ROOT / "datasets" / "rft_grader.json"), str(ROOT / "datasets" / "rft_grader.cases.jsonl")]
    )
    assert done.exit_code == 0, done.output
    assert done.output == "8 passed, 0 failed, 8 case(s)\n"
