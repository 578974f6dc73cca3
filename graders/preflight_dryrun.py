"""Dry run: the job's grader over the rows of a file, with a sample taken from each row.

``--sample-field PATH`` names where in each row the sample is (a reference
answer, an earlier model's output, ...), as in batch scoring: the row is the
item, the text or sample object at PATH is graded (:func:`graders.rows.row_input`).

Reported: how many rows got each error flag (with their lines) and the reward
distribution. [ours] A flag is an error, except the flags of a backend this
machine may lack (the python sandbox, the judge), which are warnings: they say
the grader could not be checked here, not that it is wrong; and an
``invalid_variable_error`` about ``{{ sample.* }}``, a warning about the sample given. A reward that is the
same on every row is a warning: a constant reward gives RL nothing to learn from.
"""

from __future__ import annotations

import math
import statistics
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from graders.context import RunOptions
from graders.jsonl import iter_objects
from graders.models import AnyGrader
from graders.preflight_findings import Findings, list_rows
from graders.results import ERROR_FLAGS

# other_error of a metric with no backend here (cosine without embeddings): MetricUnavailableError.
BACKEND_OTHER = "other_error (no backend)"
BACKEND_FLAGS = frozenset({"python_grader_server_error", "model_grader_server_error", BACKEND_OTHER})
# invalid_variable_error about {{ sample.* }}: the sample given by --sample-field lacks what the
# grader reads (e.g. it is not JSON); a fact about that sample, not the job. Item references are
# checked on every row by the file scan.
SAMPLE_VARIABLE = "invalid_variable_error (sample)"
QUANTILES = (10, 25, 50, 75, 90)


@dataclass
class FlagCount:
    count: int = 0
    lines: list[int] = field(default_factory=list)


@dataclass
class DryRun:
    path: str
    sample_field: str
    graded: int = 0
    skipped: int = 0
    skipped_lines: list[int] = field(default_factory=list)
    flags: dict[str, FlagCount] = field(default_factory=dict)
    rewards: list[float] = field(default_factory=list, repr=False)
    clean: int = 0  # rows graded without any flag
    clean_values: set[float] = field(default_factory=set, repr=False)  # up to 2 distinct: enough for "constant?"

    def distribution(self) -> dict[str, Any]:
        values = [r for r in self.rewards if math.isfinite(r)]
        if not values:
            return {"count": 0}
        out: dict[str, Any] = {
            "count": len(values),
            "min": min(values),
            "max": max(values),
            "mean": statistics.fmean(values),
            "std": statistics.pstdev(values),
            "distinct": len(set(values)),
        }
        if len(values) >= 2:
            cuts = statistics.quantiles(values, n=100, method="inclusive")
            out.update({f"p{q}": cuts[q - 1] for q in QUANTILES})
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "sample_field": self.sample_field,
            "graded": self.graded,
            "skipped": self.skipped,
            "flags": {k: {"count": v.count, "lines": v.lines} for k, v in self.flags.items()},
            "reward": self.distribution(),
        }


def dry_run(
    grader: AnyGrader,
    path: str,
    sample_field: str,
    findings: Findings,
    *,
    where: str,
    limit: int | None = None,
    options: RunOptions | None = None,
) -> DryRun:
    """Grade the rows of ``path``; ``where`` is the grader's JSON path for findings.

    Grading goes through :func:`graders.batch.score_rows` (concurrent for graders that
    wait on I/O); outputs come back in order, so a queue of line numbers maps them back.
    """
    from graders.batch import score_rows

    result = DryRun(path, sample_field)
    numbers: deque[int] = deque()

    def rows() -> Iterator[Any]:
        fed = 0
        for line in iter_objects(path):
            if limit is not None and fed >= limit:
                return
            if line.error is None:  # unreadable lines are reported by the file scan
                fed += 1
                numbers.append(line.number)
                yield line.value

    try:
        for out in score_rows(grader, rows(), sample_field=sample_field, options=options):
            _add(result, numbers.popleft(), out)
    except OSError:
        return result  # reported by the file scan
    _report(result, findings, where)
    return result


def _add(result: DryRun, number: int, out: dict[str, Any]) -> None:
    if "error" in out:  # the row could not be graded: no sample at --sample-field
        result.skipped += 1
        if len(result.skipped_lines) < 10:
            result.skipped_lines.append(number)
        return
    reward = float(out["reward"])
    errors = out["metadata"]["errors"]
    result.graded += 1
    result.rewards.append(reward)
    flags = [flag for flag in ERROR_FLAGS if errors.get(flag)]
    if not flags and math.isfinite(reward):
        result.clean += 1
        if len(result.clean_values) < 2:
            result.clean_values.add(reward)
    for flag in flags:
        if flag == "invalid_variable_error" and _about_sample(errors.get("invalid_variable_error_details")):
            flag = SAMPLE_VARIABLE
        elif flag == "other_error" and "backend" in (errors.get("other_error_details") or ""):
            flag = BACKEND_OTHER
        count = result.flags.setdefault(flag, FlagCount())
        count.count += 1
        if len(count.lines) < 10:
            count.lines.append(number)


def _about_sample(details: str | None) -> bool:
    return bool(details) and details.lstrip("{ <").startswith("sample")  # type: ignore[union-attr]


def _report(result: DryRun, findings: Findings, where: str) -> None:
    if result.skipped:
        findings.warning(
            result.path,
            "dryrun.sample_field",
            f"--sample-field {result.sample_field!r} is missing or not a string/object in {result.skipped} rows "
            f"({list_rows(result.skipped_lines, result.skipped)}); they were not graded",
        )
    for flag, count in sorted(result.flags.items()):
        message = (
            f"dry run on {result.path}: {flag} on {count.count} of {result.graded} rows "
            f"({list_rows(count.lines, count.count)})"
        )
        if flag in BACKEND_FLAGS:
            findings.warning(where, "dryrun.backend", message + "; the grader could not be checked on this machine")
        elif flag == SAMPLE_VARIABLE:
            findings.warning(where, "dryrun.sample", message + "; the given sample lacks what the grader reads")
        else:
            findings.error(where, "dryrun.flag", message)
    if result.clean >= 2 and len(result.clean_values) == 1:
        (value,) = result.clean_values
        findings.warning(
            where,
            "dryrun.no_signal",
            f"dry run on {result.path}: every one of {result.clean} rows graded without error got reward {value:g}; "
            "a grader without signal gives reinforcement fine-tuning nothing to learn from",
        )
