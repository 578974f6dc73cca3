"""Preflight of the JSONL files: one minimal failing file per rule (graders/preflight_data.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from graders.preflight import PreflightReport, preflight_body
from graders.preflight_data import row_hash
from graders.preflight_findings import LINE_CAP
from tests.conftest import exact_grader

GRADER = exact_grader()
RFT = {
    "model": "o4-mini",
    "training_file": "file-train",
    "validation_file": "file-valid",
    "method": {"type": "reinforcement", "reinforcement": {"grader": GRADER}},
}
SFT = {"model": "gpt-4o-mini", "training_file": "file-train", "validation_file": "file-valid", "method": {"type": "supervised"}}
DPO = {**SFT, "method": {"type": "dpo"}}


def rft_row(i: int, **extra: Any) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": f"question {i}"}], "answer": str(i), **extra}


def sft_row(i: int) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": f"q{i}"}, {"role": "assistant", "content": f"a{i}"}]}


def dpo_row(i: int) -> dict[str, Any]:
    return {
        "input": {"messages": [{"role": "user", "content": f"q{i}"}]},
        "preferred_output": [{"role": "assistant", "content": f"good {i}"}],
        "non_preferred_output": [{"role": "assistant", "content": f"bad {i}"}],
    }


def write(path: Path, rows: list[Any]) -> str:
    lines = [row if isinstance(row, str) else json.dumps(row) for row in rows]
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return str(path)


def check(tmp_path: Path, body: dict[str, Any], train: list[Any], valid: list[Any] | None = None) -> PreflightReport:
    return preflight_body(
        body,
        training_file=write(tmp_path / "train.jsonl", train),
        validation_file=None if valid is None else write(tmp_path / "valid.jsonl", valid),
    )


def located(report: PreflightReport, severity: str) -> list[tuple[str, str]]:
    return [(Path(f.where).name, f.rule) for f in report.findings if f.severity == severity]


def test_well_formed_files_pass(tmp_path: Path) -> None:
    assert check(tmp_path, RFT, [rft_row(i) for i in range(3)], [rft_row(9)]).findings == []
    assert check(tmp_path, SFT, [sft_row(i) for i in range(10)], [sft_row(99)]).findings == []
    assert check(tmp_path, DPO, [dpo_row(i) for i in range(10)], [dpo_row(99)]).findings == []


def test_unreadable_lines_are_errors_with_their_line(tmp_path: Path) -> None:
    report = check(tmp_path, RFT, [rft_row(1), "{not json", "", "[1, 2]", rft_row(2)])
    assert located(report, "error") == [
        ("train.jsonl:2", "data.unreadable"),
        ("train.jsonl:3", "data.unreadable"),
        ("train.jsonl:4", "data.unreadable"),
    ]
    scan = report.files[0]
    assert (scan.lines, scan.rows, scan.unreadable) == (5, 2, 3)


def test_rows_without_messages(tmp_path: Path) -> None:
    report = check(tmp_path, RFT, [rft_row(1), {"answer": "2"}])
    assert located(report, "error") == [("train.jsonl:2", "data.format.reinforcement")]
    assert "no 'messages'" in report.errors[0].message


def test_bad_messages(tmp_path: Path) -> None:
    rows = [
        {"messages": "hello", "answer": "1"},
        {"messages": [], "answer": "1"},
        {"messages": [{"role": "robot", "content": "x"}], "answer": "1"},
        {"messages": [{"role": "user"}], "answer": "1"},
        {"messages": [{"role": "user", "content": 5}], "answer": "1"},
        {"messages": [{"role": "user", "content": [{"type": "input_audio", "input_audio": {}}]}], "answer": "1"},
    ]
    report = check(tmp_path, RFT, rows)
    assert [w for w, _ in located(report, "error")] == [f"train.jsonl:{n}" for n in range(1, 7)]


def test_rft_prompt_ending_with_the_answer_is_a_warning(tmp_path: Path) -> None:
    row = {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}], "answer": "1"}
    report = check(tmp_path, RFT, [row])
    assert located(report, "warning") == [("train.jsonl:1", "data.format.reinforcement")]
    assert report.ok


def test_supervised_rows_need_an_assistant_message(tmp_path: Path) -> None:
    rows = [sft_row(i) for i in range(10)] + [{"messages": [{"role": "user", "content": "q"}]}]
    assert located(check(tmp_path, SFT, rows), "error") == [("train.jsonl:11", "data.format.chat")]


def test_completions_format_for_babbage(tmp_path: Path) -> None:
    body = {"model": "babbage-002", "training_file": "file-train"}
    rows = [{"prompt": f"p{i}", "completion": f"c{i}"} for i in range(10)] + [sft_row(1)]
    assert located(check(tmp_path, body, rows), "error") == [("train.jsonl:11", "data.format.completions")]


def test_dpo_rows_need_the_preference_format(tmp_path: Path) -> None:
    bad = [
        sft_row(1),  # chat format, not preference
        {**dpo_row(2), "preferred_output": [{"role": "user", "content": "x"}]},
        {k: v for k, v in dpo_row(3).items() if k != "non_preferred_output"},
    ]
    report = check(tmp_path, DPO, [dpo_row(i) for i in range(10)] + bad)
    assert [w for w, _ in located(report, "error")] == ["train.jsonl:11", "train.jsonl:12", "train.jsonl:13"]


def test_dpo_without_a_preference_is_a_warning(tmp_path: Path) -> None:
    same = {**dpo_row(1), "non_preferred_output": dpo_row(1)["preferred_output"]}
    report = check(tmp_path, DPO, [dpo_row(i) for i in range(10)] + [same])
    assert located(report, "warning") == [("train.jsonl:11", "data.format.preference")]


def test_too_few_supervised_examples(tmp_path: Path) -> None:
    report = check(tmp_path, SFT, [sft_row(i) for i in range(9)])
    assert located(report, "error") == [("train.jsonl", "data.too_few")]


def test_empty_file(tmp_path: Path) -> None:
    assert located(check(tmp_path, RFT, []), "error") == [("train.jsonl", "data.empty")]


def test_missing_file(tmp_path: Path) -> None:
    report = preflight_body(RFT, training_file=str(tmp_path / "nope.jsonl"))
    assert located(report, "error") == [("nope.jsonl", "data.unreadable")]


def test_duplicate_inside_a_file_is_a_warning(tmp_path: Path) -> None:
    # Same row with keys in another order and other spacing: still the same row.
    reordered = '{"answer": "1",   "messages": [{"content": "question 1", "role": "user"}]}'
    report = check(tmp_path, RFT, [rft_row(1), rft_row(2), reordered])
    assert located(report, "warning") == [("train.jsonl:3", "data.duplicate")]
    assert "line 1" in report.warnings[0].message
    assert report.ok and report.files[0].duplicates == 1


def test_row_in_both_files_is_an_error(tmp_path: Path) -> None:
    report = check(tmp_path, RFT, [rft_row(1), rft_row(2)], [rft_row(3), rft_row(2)])
    assert located(report, "error") == [("valid.jsonl:2", "data.in_both")]
    assert "train.jsonl:2" in report.errors[0].message
    assert report.files[1].in_both == 1


def test_row_hash_is_canonical() -> None:
    assert row_hash({"a": 1, "b": [1, 2]}) == row_hash(json.loads('{"b":[1,2],  "a":1}'))
    assert row_hash({"a": 1}) != row_hash({"a": "1"})
    assert len(row_hash({"a": 1})) == 16


def test_validation_file_given_but_not_named(tmp_path: Path) -> None:
    body = {k: v for k, v in RFT.items() if k != "validation_file"}
    report = check(tmp_path, body, [rft_row(1)], [rft_row(2)])
    assert [(f.where, f.rule) for f in report.warnings] == [("validation_file", "job.validation_file")]


def test_many_bad_lines_are_capped(tmp_path: Path) -> None:
    report = check(tmp_path, RFT, ["{bad"] * (LINE_CAP + 5))
    unreadable = [f for f in report.findings if f.rule == "data.unreadable"]
    assert len(unreadable) == LINE_CAP + 1
    assert unreadable[-1].where.endswith("train.jsonl") and "5 more" in unreadable[-1].message
