"""Preflight findings: each problem is an error or a warning, located by a JSON path or file:line.

* **error** — the submission would be refused, the job would fail, or its results
  would be wrong.
* **warning** — the job would run but likely wastes money.

Per-line findings are capped per rule and file so that a 100,000-row file with
one systematic problem gives a readable report, not 100,000 lines; the overflow
is counted in one closing finding.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Severity = Literal["error", "warning"]

LINE_CAP = 20  # located findings kept per (rule, file); the rest are counted
ROW_LIST_CAP = 10  # row numbers listed in one finding about many rows


@dataclass(frozen=True)
class Finding:
    severity: Severity
    where: str  # "method.reinforcement.grader.reference" or "train.jsonl:12"
    message: str
    rule: str  # stable id, e.g. "job.suffix", "data.duplicate"

    def __str__(self) -> str:
        return f"{self.severity:<7} {self.where or '(body)'}: {self.message}"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Findings:
    items: list[Finding] = field(default_factory=list)
    _per_file: Counter[tuple[str, str]] = field(default_factory=Counter)
    _severity: dict[tuple[str, str], Severity] = field(default_factory=dict)

    def error(self, where: str, rule: str, message: str) -> None:
        self.items.append(Finding("error", where, message, rule))

    def warning(self, where: str, rule: str, message: str) -> None:
        self.items.append(Finding("warning", where, message, rule))

    def at_line(self, severity: Severity, path: str, line: int, rule: str, message: str) -> None:
        """A finding about one line of a data file, subject to the per-rule cap."""
        key = (rule, path)
        self._per_file[key] += 1
        self._severity[key] = severity
        if self._per_file[key] <= LINE_CAP:
            self.items.append(Finding(severity, f"{path}:{line}", message, rule))

    def close(self) -> None:
        """Add one finding per capped rule saying how many lines were not listed."""
        for (rule, path), count in self._per_file.items():
            if count > LINE_CAP:
                self.items.append(
                    Finding(
                        self._severity[(rule, path)],
                        path,
                        f"{count - LINE_CAP} more line(s) with the same problem ({rule}) not listed",
                        rule,
                    )
                )
        self._per_file.clear()

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.items if f.severity == "error"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.items if f.severity == "warning"]


def list_rows(numbers: list[int], total: int) -> str:
    """``lines 3, 7, 9`` or ``lines 3, 7, ... (40 in all)`` for a capped list of row numbers."""
    shown = ", ".join(str(n) for n in numbers[:ROW_LIST_CAP])
    word = "line" if total == 1 else "lines"
    if total > ROW_LIST_CAP:
        return f"{word} {shown}, ... ({total} in all)"
    return f"{word} {shown}"


def join_path(prefix: str, key: str | int) -> str:
    """JSON path: ``a.b``, ``a[0]``; keys that are not identifiers are quoted as ``a["x y"]``."""
    if isinstance(key, int):
        return f"{prefix}[{key}]"
    if key.isidentifier():
        return f"{prefix}.{key}" if prefix else key
    import json

    return f"{prefix}[{json.dumps(key, ensure_ascii=False)}]"
