"""Preflight: a fine-tuning job body and its JSONL files, checked before the job is submitted.

    >>> from graders.preflight import preflight
    >>> report = preflight("datasets/rft_job.json", training_file="datasets/rft_train.jsonl",
    ...                    validation_file="datasets/rft_valid.jsonl", sample_field="baseline_output")
    >>> report.ok
    True

The checks live in one module each:

* :mod:`graders.preflight_job` — the body's schema (create request or ``fine_tuning.job``);
* :mod:`graders.preflight_refs` — what the grader reads from each row and from the sample;
* :mod:`graders.preflight_data` — the files: format per method, duplicates, overlap, references;
* :mod:`graders.preflight_dryrun` — the grader run over the rows with a sample you provide.

Every finding is an error or a warning with a JSON path or ``file:line``
(:mod:`graders.preflight_findings`); ``report.ok`` is true when there is no error.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from graders.context import RunOptions
from graders.preflight_data import FileScan, scan_file
from graders.preflight_dryrun import DryRun, dry_run
from graders.preflight_findings import Finding, Findings
from graders.preflight_job import JobInfo, check_job
from graders.preflight_refs import ItemRef, item_references, output_json_uses

__all__ = ["Finding", "PreflightReport", "preflight", "preflight_body"]


@dataclass
class PreflightReport:
    job: JobInfo
    findings: list[Finding]
    files: list[FileScan] = field(default_factory=list)
    dry_runs: list[DryRun] = field(default_factory=list)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "warning"]

    @property
    def ok(self) -> bool:
        return not self.errors

    def rules(self, severity: str | None = None) -> set[str]:
        """The rule ids found (``{"job.suffix", ...}``), of one severity if given."""
        return {f.rule for f in self.findings if severity is None or f.severity == severity}

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "errors": len(self.errors),
            "warnings": len(self.warnings),
            "job": {
                "kind": self.job.kind,
                "method": self.job.method,
                "model": self.job.model,
                "grader": self.job.grader.type if self.job.grader is not None else None,
                "json_output": self.job.json_output,
            },
            "findings": [f.to_json() for f in self.findings],
            "files": [s.to_json() for s in self.files],
            "dry_runs": [d.to_json() for d in self.dry_runs],
        }

    def to_text(self) -> str:
        lines = [str(f) for f in self.findings]
        for scan in self.files:
            lines.append(
                f"{scan.role} file {scan.path}: {scan.rows} rows, {scan.well_formed} well formed, "
                f"{scan.unreadable} unreadable, {scan.duplicates} duplicates"
                + (f", {scan.in_both} also in training" if scan.role == "validation" else "")
            )
        for run in self.dry_runs:
            dist = run.distribution()
            text = f"dry run {run.path} (sample: {run.sample_field}): {run.graded} graded"
            if dist.get("count"):
                text += (
                    f"; reward mean {dist['mean']:.4g} std {dist['std']:.4g} min {dist['min']:.4g} "
                    f"max {dist['max']:.4g}, {dist['distinct']} distinct"
                )
                if "p50" in dist:
                    text += f"; p10/p50/p90 {dist['p10']:.4g}/{dist['p50']:.4g}/{dist['p90']:.4g}"
            if run.flags:
                text += "; flags " + ", ".join(f"{k}={v.count}" for k, v in sorted(run.flags.items()))
            lines.append(text)
        verdict = "ok" if self.ok else "FAILED"
        lines.append(f"preflight {verdict}: {len(self.errors)} error(s), {len(self.warnings)} warning(s)")
        return "\n".join(lines)


def load_job(path: str | Path, findings: Findings) -> Any:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        findings.error(str(path), "job.unreadable", f"cannot read the job: {exc.strerror or exc}")
        return None
    try:
        return json.loads(text)
    except ValueError as exc:
        where = f"{path}:{exc.lineno}" if isinstance(exc, json.JSONDecodeError) else str(path)
        findings.error(where, "job.unreadable", f"malformed JSON: {exc}")
        return None


def preflight(
    job: str | Path,
    *,
    training_file: str | Path | None = None,
    validation_file: str | Path | None = None,
    sample_field: str | None = None,
    limit: int | None = None,
    options: RunOptions | None = None,
) -> PreflightReport:
    """Check the job JSON file at ``job`` and the local files given for its uploads."""
    findings = Findings()
    body = load_job(job, findings)
    if body is None:
        findings.close()
        return PreflightReport(JobInfo(kind="create"), findings.items)
    return preflight_body(
        body,
        training_file=training_file,
        validation_file=validation_file,
        sample_field=sample_field,
        limit=limit,
        options=options,
        findings=findings,
    )


def preflight_body(
    body: Any,
    *,
    training_file: str | Path | None = None,
    validation_file: str | Path | None = None,
    sample_field: str | None = None,
    limit: int | None = None,
    options: RunOptions | None = None,
    findings: Findings | None = None,
) -> PreflightReport:
    """:func:`preflight` for a body already decoded (a dict)."""
    findings = findings if findings is not None else Findings()
    info = check_job(body, findings)
    report = PreflightReport(info, findings.items)
    refs: list[ItemRef] = []
    if info.grader is not None:
        refs = item_references(info.grader, info.grader_path)
        if not info.json_output:
            for use in output_json_uses(info.grader, info.grader_path):
                findings.warning(
                    use.where,
                    "grader.output_json",
                    f"{use.text} reads sample.output_json, but the job sets no JSON response format "
                    "(method.reinforcement.response_format): output_json is null whenever the model's "
                    "answer is not pure JSON, and those rows get reward 0",
                )
    if validation_file is not None and info.validation_file is None and isinstance(body, dict):
        findings.warning(
            "validation_file",
            "job.validation_file",
            "--validation-file was given but the job names no validation_file; it would not be used",
        )
    fmt = info.row_format
    training: FileScan | None = None
    if training_file is not None:
        training = scan_file(str(training_file), "training", fmt, refs, findings)
        report.files.append(training)
    if validation_file is not None:
        report.files.append(scan_file(str(validation_file), "validation", fmt, refs, findings, training=training))
    if sample_field is not None:
        if info.grader is None:
            findings.warning(
                "method", "dryrun.no_grader", "--sample-field given, but there is no valid reinforcement grader to run"
            )
        else:
            for scan in report.files:
                if scan.rows:
                    report.dry_runs.append(
                        dry_run(
                            info.grader, scan.path, sample_field, findings,
                            where=info.grader_path, limit=limit, options=options,
                        )
                    )
    findings.close()
    return report
