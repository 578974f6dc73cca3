"""``graders parity`` and graders.backends.parity against a scripted remote /graders/run."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from cli import main
from graders.results import new_errors
from tests.conftest import exact_grader
from tests.judge_server import GRADERS_RUN, JudgeServer, Reply

GRADER = exact_grader()


def remote_answer(reward: float, **flags: Any) -> dict[str, Any]:
    errors = new_errors()
    errors.update(flags)
    return {
        "reward": reward,
        "metadata": {"name": "exact", "type": "string_check", "errors": errors, "execution_time": 0.001,
                     "scores": {}, "token_usage": None, "sampled_model_name": None},
        "sub_rewards": {},
        "model_grader_token_usage_per_model": {},
    }


@pytest.fixture
def remote() -> Iterator[JudgeServer]:
    with JudgeServer() as srv:
        yield srv


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    grader = tmp_path / "grader.json"
    grader.write_text(json.dumps(GRADER))
    data = tmp_path / "data.jsonl"
    rows = [
        {"id": "a", "item": {"answer": "Paris"}, "model_sample": "Paris"},
        {"id": "b", "item": {"answer": "Rome"}, "model_sample": "Paris"},
        {"id": "c", "item": {"answer": "Oslo"}, "model_sample": "Oslo"},
    ]
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return grader, data


def invoke(remote: JudgeServer, grader: Path, data: Path, *extra: str) -> Any:
    return CliRunner().invoke(
        main,
        ["parity", str(grader), str(data), "--remote-base-url", remote.base_url, "--remote-api-key", "k", *extra],
    )


def test_agreement_exits_zero(remote: JudgeServer, files: tuple[Path, Path], tmp_path: Path) -> None:
    # The scripted remote grades exactly as string_check eq says (by hand: a=1, b=0, c=1).
    def respond(body: dict[str, Any]) -> dict[str, Any]:
        return remote_answer(1.0 if body["model_sample"] == body["item"]["answer"] else 0.0)

    remote.run_responder = respond
    grader, data = files
    details = tmp_path / "details.jsonl"
    result = invoke(remote, grader, data, "--details", str(details))
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["rows"] == 3 and summary["compared"] == 3
    assert summary["max_abs_delta"] == 0.0 and summary["mean_abs_delta"] == 0.0 and summary["agree"] is True
    sent = [r.body for r in remote.received(GRADERS_RUN)]
    assert sorted(b["model_sample"] for b in sent) == ["Oslo", "Paris", "Paris"]
    assert all(b["grader"] == GRADER for b in sent)
    kept = [json.loads(line) for line in details.read_text().splitlines()]
    assert [k["id"] for k in kept] == ["a", "b", "c"] and kept[1]["remote"]["reward"] == 0.0


def test_reward_and_flag_differences_are_reported(remote: JudgeServer, files: tuple[Path, Path]) -> None:
    def respond(body: dict[str, Any]) -> dict[str, Any]:
        answer = body["item"]["answer"]
        if answer == "Rome":
            return remote_answer(0.25)  # local says 0
        if answer == "Oslo":
            return remote_answer(0.0, other_error=True)  # local says 1, no flag
        return remote_answer(1.0)

    remote.run_responder = respond
    grader, data = files
    result = invoke(remote, grader, data)
    assert result.exit_code == 1
    summary = json.loads(result.stdout)
    assert summary["max_abs_delta"] == 1.0
    assert summary["mean_abs_delta"] == pytest.approx((0 + 0.25 + 1.0) / 3)
    assert summary["rows_beyond_tolerance"] == 2 and summary["rows_with_different_flags"] == 1
    (mismatch,) = summary["flag_mismatches"]
    assert mismatch["line"] == 3 and mismatch["local_flags"] == [] and mismatch["remote_flags"] == ["other_error"]
    assert [d["line"] for d in summary["largest_deltas"]] == [3, 2]


def test_tolerance_and_uncomparable_rows(remote: JudgeServer, files: tuple[Path, Path]) -> None:
    remote.run_responder = lambda body: remote_answer(
        (1.0 if body["model_sample"] == body["item"]["answer"] else 0.0) + 1e-4
    )
    grader, data = files
    with open(data, "a") as handle:
        handle.write("{not json\n")
    result = invoke(remote, grader, data, "--tolerance", "0.001")
    summary = json.loads(result.stdout)
    assert summary["compared"] == 3 and summary["rows_beyond_tolerance"] == 0
    assert summary["not_compared"][0]["line"] == 4
    assert result.exit_code == 1  # a row could not be compared


def test_remote_refusal_is_reported_per_row(remote: JudgeServer, files: tuple[Path, Path]) -> None:
    remote.queue(*(Reply.error(400, "Invalid grader") for _ in range(3)), path=GRADERS_RUN)
    grader, data = files
    result = invoke(remote, grader, data)
    assert result.exit_code == 1
    summary = json.loads(result.stdout)
    assert summary["compared"] == 0 and summary["not_compared_count"] == 3
    assert "HTTP 400: Invalid grader" in summary["not_compared"][0]["error"]
