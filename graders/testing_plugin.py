"""A pytest plugin that collects grader case files: each case becomes one test.

Opt-in (no entry point, so it never changes a pytest run that did not ask for it)::

    pytest -p graders.testing_plugin tests/graders/
    # or, in a conftest.py at the root of your tests:
    pytest_plugins = ["graders.testing_plugin"]

A file ``NAME.cases.jsonl`` is collected when the grader ``NAME.json`` (grader JSON)
or ``NAME.py`` (a python grader's source) sits beside it. Case lines are those of
``graders test`` (:mod:`graders.testing`).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from graders.testing import Case, CaseResult, load_cases, run_case

SUFFIX = ".cases.jsonl"


def grader_for(case_file: Path) -> Path | None:
    stem = case_file.name[: -len(SUFFIX)]
    for ext in (".json", ".py"):
        candidate = case_file.with_name(stem + ext)
        if candidate.is_file():
            return candidate
    return None


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if file_path.name.endswith(SUFFIX) and grader_for(file_path) is not None:
        return GraderCaseFile.from_parent(parent, path=file_path)
    return None


class GraderCaseFile(pytest.File):
    def collect(self) -> Iterator[pytest.Item]:
        from graders.commands.common import read_grader_source

        grader_path = grader_for(self.path)
        assert grader_path is not None
        grader = read_grader_source(str(grader_path))
        for case in load_cases(self.path):
            name = f"line{case.line}" + (f"[{case.name}]" if case.name else "")
            yield GraderCaseItem.from_parent(self, name=name, grader=grader, case=case)


class CaseFailed(AssertionError):
    pass


class GraderCaseItem(pytest.Item):
    def __init__(self, *, grader: Any, case: Case | CaseResult, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.grader = grader
        self.case = case

    def runtest(self) -> None:
        result = self.case if isinstance(self.case, CaseResult) else run_case(self.grader, self.case)
        if not result.passed:
            raise CaseFailed(f"expected {result.expected}, got {result.got}")

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, CaseFailed):
            return f"{self.path.name}:{self.case.line}: {excinfo.value}"
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, self.case.line - 1, self.name
