"""Dry run of the job's grader over the rows (graders/preflight_dryrun.py)."""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any

from graders.context import RunOptions
from graders.preflight import PreflightReport, preflight_body
from tests.conftest import exact_grader

EXACT = exact_grader()


def rft(grader: dict[str, Any], **reinforcement: Any) -> dict[str, Any]:
    return {
        "model": "o4-mini",
        "training_file": "file-train",
        "method": {"type": "reinforcement", "reinforcement": {"grader": grader, **reinforcement}},
    }


def row(i: int, answer: str, guess: Any) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": f"q{i}"}], "answer": answer, "guess": guess}


def dry(tmp_path: Path, body: dict[str, Any], rows: list[dict[str, Any]], field: str = "guess", **kw: Any) -> PreflightReport:
    path = tmp_path / "train.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return preflight_body(body, training_file=str(path), sample_field=field, **kw)


def test_reward_distribution(tmp_path: Path) -> None:
    rows = [row(1, "a", "a"), row(2, "b", "x"), row(3, "c", "c"), row(4, "d", "d")]
    report = dry(tmp_path, rft(EXACT), rows)
    assert report.findings == []
    (run,) = report.dry_runs
    dist = run.distribution()
    # Rewards 1, 0, 1, 1 (by hand).
    assert (run.graded, dist["min"], dist["max"], dist["mean"], dist["distinct"]) == (4, 0.0, 1.0, 0.75, 2)
    assert dist["std"] == statistics.pstdev([1, 0, 1, 1])
    assert dist["p50"] == 1.0


def test_constant_reward_is_a_no_signal_warning(tmp_path: Path) -> None:
    rows = [row(i, str(i), str(i)) for i in range(5)]  # the sample is the answer: always 1
    report = dry(tmp_path, rft(EXACT), rows)
    assert [(f.severity, f.rule) for f in report.findings] == [("warning", "dryrun.no_signal")]
    assert report.ok


def test_flags_are_errors_with_their_rows(tmp_path: Path) -> None:
    multi = {"type": "multi", "name": "m", "graders": {"e": EXACT}, "calculate_output": "e / (e - e)"}
    # A formula that divides by zero on every row: other_error (SEMANTICS §8).
    report = dry(tmp_path, rft(multi), [row(1, "a", "a"), row(2, "b", "x")])
    errors = [(f.rule, f.where) for f in report.errors]
    assert errors == [("dryrun.flag", "method.reinforcement.grader")]
    assert "other_error on 2 of 2 rows" in report.errors[0].message


def test_sample_without_what_the_grader_reads_is_a_warning(tmp_path: Path) -> None:
    grader = {**EXACT, "input": "{{ sample.output_json.answer }}"}
    fmt = {"type": "json_object"}
    rows = [row(1, "a", '{"answer": "a"}'), row(2, "b", "not json"), row(3, "c", '{"answer": "x"}')]
    report = dry(tmp_path, rft(grader, response_format=fmt), rows)
    assert [(f.severity, f.rule) for f in report.findings] == [("warning", "dryrun.sample")]
    assert "line 2" in report.findings[0].message


def test_rows_without_the_sample_field_are_skipped_with_a_warning(tmp_path: Path) -> None:
    rows = [row(1, "a", "a"), {"messages": [{"role": "user", "content": "q"}], "answer": "b"}, row(3, "c", "x")]
    report = dry(tmp_path, rft(EXACT), rows)
    assert [(f.severity, f.rule) for f in report.findings] == [("warning", "dryrun.sample_field")]
    assert (report.dry_runs[0].graded, report.dry_runs[0].skipped) == (2, 1)


def test_limit(tmp_path: Path) -> None:
    rows = [row(i, "a", "a" if i % 2 else "b") for i in range(10)]
    assert dry(tmp_path, rft(EXACT), rows, limit=3).dry_runs[0].graded == 3


def test_backend_flags_are_warnings(tmp_path: Path) -> None:
    # Cosine needs an embeddings backend; none is configured here, so the flag says
    # "could not check on this machine" rather than "the grader is wrong".
    cosine = {**EXACT, "type": "text_similarity", "evaluation_metric": "cosine"}
    del cosine["operation"]
    report = dry(tmp_path, rft(cosine), [row(1, "a", "a"), row(2, "b", "x")])
    assert [(f.severity, f.rule) for f in report.findings] == [("warning", "dryrun.backend")]
    judge = {
        "type": "score_model", "name": "j", "model": "gpt-4o-mini",
        "input": [{"role": "user", "content": "{{ sample.output_text }} vs {{ item.answer }}"}],
    }
    from graders.backends import Judge

    # A judge on a closed loopback port: every call fails fast with model_grader_server_error.
    options = RunOptions(judge=Judge(base_url="http://127.0.0.1:9/v1", api_key="test", max_retries=0, cache=False))
    report = dry(tmp_path, rft(judge), [row(1, "a", "a"), row(2, "b", "x")], options=options)
    assert [(f.severity, f.rule) for f in report.findings] == [("warning", "dryrun.backend")]
    assert report.ok


def test_no_grader_no_dry_run(tmp_path: Path) -> None:
    body = {"model": "gpt-4o-mini", "training_file": "file-train"}
    rows = [{"messages": [{"role": "user", "content": f"q{i}"}, {"role": "assistant", "content": "a"}], "guess": "x"} for i in range(10)]
    report = dry(tmp_path, body, rows)
    assert [(f.severity, f.rule) for f in report.findings] == [("warning", "dryrun.no_grader")]
    assert report.dry_runs == []
