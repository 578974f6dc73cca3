"""What a grader reads from the rows, checked against every row (graders/preflight_refs.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from graders.preflight import PreflightReport, preflight_body
from graders.preflight_refs import python_item_refs


def rft(grader: dict[str, Any], **reinforcement: Any) -> dict[str, Any]:
    return {
        "model": "o4-mini",
        "training_file": "file-train",
        "method": {"type": "reinforcement", "reinforcement": {"grader": grader, **reinforcement}},
    }


def string_check(input_: str, reference: str) -> dict[str, Any]:
    return {"type": "string_check", "name": "s", "input": input_, "reference": reference, "operation": "eq"}


def python(source: str) -> dict[str, Any]:
    return {"type": "python", "name": "p", "source": source}


def row(**fields: Any) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": json.dumps(fields)}], **fields}


def run(tmp_path: Path, body: dict[str, Any], rows: list[dict[str, Any]]) -> PreflightReport:
    path = tmp_path / "train.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return preflight_body(body, training_file=str(path))


def test_template_reference_missing_in_some_rows_lists_them(tmp_path: Path) -> None:
    body = rft(string_check("{{ sample.output_text }}", "{{ item.answer }}"))
    rows = [row(answer="a"), row(other="b"), row(answer="c"), row(other="d")]
    report = run(tmp_path, body, rows)
    assert [(f.severity, f.where, f.rule) for f in report.findings] == [
        ("error", "method.reinforcement.grader.reference", "grader.item_reference")
    ]
    message = report.findings[0].message
    assert "{{ item.answer }}" in message and "2 of 4 rows" in message and "lines 2, 4" in message


def test_nested_and_indexed_template_references(tmp_path: Path) -> None:
    body = rft(string_check("{{ item.gold.answers[1] }}", "{{ item['key with space'] }}"))
    good = row(gold={"answers": ["x", "y"]}, **{"key with space": "k"})
    short = row(gold={"answers": ["x"]}, **{"key with space": "k"})
    report = run(tmp_path, body, [good, short])
    assert [(f.where, "line 2" in f.message) for f in report.errors] == [("method.reinforcement.grader.input", True)]


def test_the_list_of_rows_is_capped(tmp_path: Path) -> None:
    body = rft(string_check("{{ sample.output_text }}", "{{ item.answer }}"))
    report = run(tmp_path, body, [row(n=i) for i in range(25)])
    message = report.errors[0].message
    assert "25 of 25 rows" in message and "lines 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, ... (25 in all)" in message


def test_references_inside_multi_and_model_graders_carry_their_path(tmp_path: Path) -> None:
    judge = {
        "type": "score_model", "name": "j", "model": "gpt-4o-mini",
        "input": [{"role": "user", "content": [{"type": "input_text", "text": "Rubric: {{ item.rubric }}"}]}],
    }
    multi = {"type": "multi", "name": "m", "graders": {"exact": string_check("{{ sample.output_text }}", "{{ item.answer }}"), "judge": judge}, "calculate_output": "exact + judge"}
    report = run(tmp_path, rft(multi), [row(answer="a")])
    assert [f.where for f in report.errors] == ["method.reinforcement.grader.graders.judge.input[0].content[0].text"]


SOURCE = '''
def grade(sample, row):
    gold = row["reference"]["answer"]
    hint = row.get("hint")
    if "alias" in row:
        gold = row["alias"]
    return float(sample["output_text"] == gold)
'''


def test_python_source_is_parsed_for_item_uses() -> None:
    refs = python_item_refs(SOURCE, "grader.source")
    assert [(r.path, r.required) for r in refs] == [
        (("reference", "answer"), True),
        (("hint",), False),  # .get: the author handles absence
        (("alias",), False),  # guarded by `"alias" in row`
    ]
    assert refs[0].text == "item['reference']['answer'] (source line 3)"


def test_python_source_is_never_executed() -> None:
    refs = python_item_refs("import os\nos._exit(3)\ndef grade(s, item):\n    return item['x']\n", "g")
    assert [r.path for r in refs] == [("x",)]


def test_python_source_that_does_not_parse_gives_no_references() -> None:
    assert python_item_refs("def grade(:", "g") == []


def test_python_item_uses_checked_against_rows(tmp_path: Path) -> None:
    report = run(tmp_path, rft(python(SOURCE)), [row(reference={"answer": "a"}, hint="h"), row(reference={}), row(other=1)])
    # reference.answer is missing in rows 2 and 3: an error. hint (.get) is missing there too, but
    # is present in row 1: fine. alias (guarded) is in no row at all: a warning (a typo?).
    assert [(f.severity, f.where) for f in report.findings] == [
        ("error", "method.reinforcement.grader.source"),
        ("warning", "method.reinforcement.grader.source"),
    ]
    assert "lines 2, 3" in report.errors[0].message
    assert "item['alias'] (source line 6)" in report.warnings[0].message


def test_output_json_without_a_json_response_format_is_a_warning() -> None:
    body = rft(string_check("{{ sample.output_json.answer }}", "x"))
    report = preflight_body(body)
    assert [(f.severity, f.where, f.rule) for f in report.findings] == [
        ("warning", "method.reinforcement.grader.input", "grader.output_json")
    ]
    fmt = {"type": "json_schema", "json_schema": {"name": "a", "schema": {"type": "object"}}}
    assert preflight_body(rft(string_check("{{ sample.output_json.answer }}", "x"), response_format=fmt)).findings == []


def test_output_json_in_python_source() -> None:
    source = "def grade(s, item):\n    return float(s['output_json']['answer'] == 1)\n"
    report = preflight_body(rft(python(source)))
    assert [(f.where, f.rule) for f in report.findings] == [("method.reinforcement.grader.source", "grader.output_json")]
    assert "source line 2" in report.findings[0].message
