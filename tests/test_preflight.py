"""`graders preflight` end to end: the realistic RFT job in datasets/, the CLI, JSON output."""

from __future__ import annotations

import copy
import importlib.util
import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from cli import main
from graders.preflight import preflight

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "datasets"
JOB, TRAIN, VALID = DATA / "rft_job.json", DATA / "rft_train.jsonl", DATA / "rft_valid.jsonl"


def cli(*args: str) -> Any:
    return CliRunner().invoke(main, ["preflight", *args])


def test_the_shipped_rft_job_passes_with_no_finding() -> None:
    report = preflight(JOB, training_file=TRAIN, validation_file=VALID, sample_field="baseline_output")
    assert report.findings == []
    assert report.ok
    assert [(s.role, s.rows, s.well_formed) for s in report.files] == [("training", 200, 200), ("validation", 50, 50)]
    train_run = report.dry_runs[0]
    assert train_run.graded == 200 and not train_run.flags
    assert train_run.distribution()["distinct"] > 1  # the grader has signal on the baseline outputs


def test_the_shipped_data_is_what_make_rft_writes() -> None:
    spec = importlib.util.spec_from_file_location("make_rft", DATA / "make_rft.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    import random

    rows = module.rows(random.Random(20250508))
    lines = [json.loads(line) for line in TRAIN.read_text(encoding="utf-8").splitlines()]
    assert lines == rows[: module.TRAIN]
    assert json.loads(JOB.read_text(encoding="utf-8")) == module.JOB


def test_cli_ok_exit_0() -> None:
    done = cli(str(JOB), "--training-file", str(TRAIN), "--validation-file", str(VALID), "--sample-field", "baseline_output")
    assert done.exit_code == 0, done.output
    assert "preflight ok: 0 error(s), 0 warning(s)" in done.output
    assert "dry run" in done.output


def test_cli_errors_exit_1_with_locations(tmp_path: Path) -> None:
    body = json.loads(JOB.read_text(encoding="utf-8"))
    body["suffix"] = "x" * 70
    job = tmp_path / "job.json"
    job.write_text(json.dumps(body), encoding="utf-8")
    valid = tmp_path / "valid.jsonl"
    valid.write_text(TRAIN.read_text(encoding="utf-8").splitlines()[4] + "\n", encoding="utf-8")
    done = cli(str(job), "--training-file", str(TRAIN), "--validation-file", str(valid))
    assert done.exit_code == 1
    assert "error   suffix: 70 characters; at most 64" in done.output
    assert f"error   {valid}:1: row is also in the training file ({TRAIN}:5)" in done.output
    assert "preflight FAILED: 2 error(s), 0 warning(s)" in done.output


def test_cli_json(tmp_path: Path) -> None:
    body = json.loads(JOB.read_text(encoding="utf-8"))
    body["model"] = "o5-ultra"
    job = tmp_path / "job.json"
    job.write_text(json.dumps(body), encoding="utf-8")
    done = cli(str(job), "--json")
    assert done.exit_code == 0  # an unknown model is a warning only
    out = json.loads(done.output)
    assert out["ok"] is True and out["errors"] == 0 and out["warnings"] == 1
    assert out["findings"] == [
        {"severity": "warning", "where": "model", "rule": "job.model", "message": out["findings"][0]["message"]}
    ]
    assert out["job"] == {"kind": "create", "method": "reinforcement", "model": "o5-ultra", "grader": "multi", "json_output": True}


def test_cli_malformed_job_json(tmp_path: Path) -> None:
    job = tmp_path / "job.json"
    job.write_text('{\n  "model": "o4-mini",\n  oops\n}', encoding="utf-8")
    done = cli(str(job))
    assert done.exit_code == 1
    assert f"error   {job}:3: malformed JSON" in done.output


def test_a_retrieved_job_object_rechecks_the_grader_on_the_data(tmp_path: Path) -> None:
    body = json.loads(JOB.read_text(encoding="utf-8"))
    job_object = {
        "object": "fine_tuning.job", "id": "ftjob-1", "status": "running", "created_at": 1,
        "organization_id": "org-1", "result_files": [], "seed": 42, "error": None, "hyperparameters": None,
        "model": body["model"], "training_file": "file-1", "validation_file": None, "method": copy.deepcopy(body["method"]),
    }
    job_object["method"]["reinforcement"]["grader"]["graders"]["unit"]["reference"] = "{{ item.units }}"  # a typo
    path = tmp_path / "job.json"
    path.write_text(json.dumps(job_object), encoding="utf-8")
    report = preflight(path, training_file=TRAIN)
    assert [(f.where, f.rule) for f in report.errors] == [
        ("method.reinforcement.grader.graders.unit.reference", "grader.item_reference")
    ]
    assert "200 of 200 rows" in report.errors[0].message
