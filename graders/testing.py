"""Unit tests for a grader: expectations on rewards and flags, from a case file or from pytest.

A case file is JSONL, one case per line::

    {"name": "exact", "item": {"answer": "Paris"}, "model_sample": "Paris", "expect": 1}
    {"item": {"answer": "Paris"}, "model_sample": "paris", "expect": {"reward": 0.0, "tol": 0}}
    {"item": {"answer": "Paris"}, "model_sample": "Pariss", "expect": {"min": 0.5, "max": 1}}
    {"item": {}, "model_sample": "Paris", "expect": {"error": "invalid_variable_error"}}

``sample`` (a full sample object) may replace ``model_sample``. ``expect`` is:

* a number — the reward, within 1e-9;
* ``{"reward": X, "tol": T}`` — within T (default 1e-9);
* ``{"min": A, "max": B}`` — A ≤ reward ≤ B (either bound may be left out);
* ``{"error": "<flag>"}`` — the grade sets that flag.

[ours] A reward expectation fails when the grade sets any error flag, even if the
reward matches: a failed grade scores 0, and "0 because it failed" is not "0 because
the answer is wrong". Expect the flag instead.

From pytest::

    from graders.testing import assert_reward, assert_error
    assert_reward(grader, "Paris", {"answer": "Paris"}, 1.0)
    assert_reward(grader, "Pariss", {"answer": "Paris"}, {"min": 0.5})
    assert_error(grader, "Paris", {}, "invalid_variable_error")
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from graders.context import RunOptions
from graders.engine import run
from graders.jsonl import Line, iter_objects
from graders.results import ERROR_FLAGS, RunResponse
from graders.validation import parse_grader

DEFAULT_TOL = 1e-9

__all__ = [
    "Case",
    "CaseResult",
    "Expectation",
    "Outcome",
    "assert_error",
    "assert_reward",
    "check",
    "load_cases",
    "parse_expect",
    "run_cases",
]


class CaseError(ValueError):
    """A case (or an ``expect``) that is not well formed; the message names the field."""


@dataclass(frozen=True)
class Expectation:
    reward: float | None = None
    tol: float = DEFAULT_TOL
    min: float | None = None
    max: float | None = None
    error: str | None = None

    def __str__(self) -> str:
        if self.error is not None:
            return f"error {self.error}"
        if self.reward is not None:
            return f"{self.reward!r} ± {self.tol:g}"
        lo = "-inf" if self.min is None else repr(self.min)
        hi = "inf" if self.max is None else repr(self.max)
        return f"reward in [{lo}, {hi}]"


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise CaseError(f"{what} must be a finite number, got {value!r}")
    return float(value)


def parse_expect(expect: Any) -> Expectation:
    """A number or one of the ``expect`` objects → :class:`Expectation` (CaseError if malformed)."""
    if isinstance(expect, Expectation):
        return expect
    if not isinstance(expect, Mapping):
        return Expectation(reward=_number(expect, "expect"))
    keys = set(expect)
    if "error" in keys:
        if keys != {"error"}:
            raise CaseError(f"expect {{'error': ...}} takes no other keys, got {sorted(keys)}")
        flag = expect["error"]
        if flag not in ERROR_FLAGS:
            raise CaseError(f"unknown error flag {flag!r}; one of {', '.join(ERROR_FLAGS)}")
        return Expectation(error=flag)
    if "reward" in keys:
        if not keys <= {"reward", "tol"}:
            raise CaseError(f"expect {{'reward', 'tol'}} takes no other keys, got {sorted(keys)}")
        tol = _number(expect.get("tol", DEFAULT_TOL), "expect.tol")
        if tol < 0:
            raise CaseError("expect.tol must not be negative")
        return Expectation(reward=_number(expect["reward"], "expect.reward"), tol=tol)
    if keys and keys <= {"min", "max"}:
        lo = _number(expect["min"], "expect.min") if "min" in keys else None
        hi = _number(expect["max"], "expect.max") if "max" in keys else None
        if lo is not None and hi is not None and lo > hi:
            raise CaseError(f"expect.min {lo} is above expect.max {hi}")
        return Expectation(min=lo, max=hi)
    raise CaseError('expect must be a number, {"reward", "tol"}, {"min", "max"} or {"error"}; got ' + repr(expect))


@dataclass(frozen=True)
class Outcome:
    passed: bool
    expected: str
    got: str


def describe(response: RunResponse) -> str:
    flags = response.metadata.errors.flags_set()
    text = f"{response.reward!r}"
    if flags:
        text += " with " + ", ".join(flags)
        details = _details(response)
        if details:
            text += f" ({details})"
    return text


def _details(response: RunResponse) -> str | None:
    errors = response.metadata.errors
    for name in (
        "invalid_variable_error_details",
        "python_grader_runtime_error_details",
        "model_grader_server_error_details",
        "python_grader_server_error_type",
        "other_error_details",
    ):
        value = getattr(errors, name, None)
        if value:
            text = str(value).strip().splitlines()[-1]
            return text if len(text) <= 200 else text[:197] + "..."
    return None


def check(response: RunResponse, expect: Any) -> Outcome:
    """Does ``response`` meet ``expect``?"""
    expectation = parse_expect(expect)
    flags = response.metadata.errors.flags_set()
    got = describe(response)
    if expectation.error is not None:
        return Outcome(expectation.error in flags, str(expectation), got)
    if flags:
        return Outcome(False, str(expectation), got)
    reward = response.reward
    if expectation.reward is not None:
        ok = math.isclose(reward, expectation.reward, rel_tol=0.0, abs_tol=expectation.tol)
    else:
        ok = (expectation.min is None or reward >= expectation.min) and (
            expectation.max is None or reward <= expectation.max
        )
    return Outcome(ok, str(expectation), got)


# ---------------------------------------------------------------- pytest helpers


def assert_reward(
    grader: Any,
    model_sample: str | None,
    item: Any = None,
    expected: Any = None,
    *,
    tol: float = DEFAULT_TOL,
    sample: Mapping[str, Any] | None = None,
    options: RunOptions | None = None,
) -> RunResponse:
    """Grade and assert the reward: ``expected`` is a number (within ``tol``) or an expect object."""
    if expected is None:
        raise TypeError("assert_reward needs an expected reward")
    expect = {"reward": expected, "tol": tol} if not isinstance(expected, Mapping) else expected
    response = run(grader, model_sample, item, sample=sample, options=options)
    outcome = check(response, expect)
    if not outcome.passed:
        raise AssertionError(f"expected {outcome.expected}, got {outcome.got}")
    return response


def assert_error(
    grader: Any,
    model_sample: str | None,
    item: Any,
    flag: str,
    *,
    sample: Mapping[str, Any] | None = None,
    options: RunOptions | None = None,
) -> RunResponse:
    """Grade and assert that the grade sets ``flag``."""
    return assert_reward(grader, model_sample, item, {"error": flag}, sample=sample, options=options)


# ---------------------------------------------------------------- case files


@dataclass(frozen=True)
class Case:
    line: int  # 1-based line of the case file
    name: str | None
    item: Any
    model_sample: str | None
    sample: dict[str, Any] | None
    expect: Expectation

    @property
    def label(self) -> str:
        return f"line {self.line}" + (f" ({self.name})" if self.name else "")


@dataclass(frozen=True)
class CaseResult:
    line: int
    name: str | None
    passed: bool
    expected: str
    got: str

    @property
    def label(self) -> str:
        return f"line {self.line}" + (f" ({self.name})" if self.name else "")

    def to_json(self) -> dict[str, Any]:
        return {"line": self.line, "name": self.name, "passed": self.passed, "expected": self.expected, "got": self.got}


CASE_KEYS = frozenset({"name", "item", "model_sample", "sample", "expect"})


def parse_case(line: Line) -> Case:
    if line.error is not None:
        raise CaseError(line.error)
    row = line.value
    unknown = set(row) - CASE_KEYS
    if unknown:
        raise CaseError(f"unknown field(s) {sorted(unknown)}; a case has {', '.join(sorted(CASE_KEYS))}")
    if "expect" not in row:
        raise CaseError("missing field 'expect'")
    has_text, has_object = "model_sample" in row, "sample" in row
    if has_text == has_object:
        raise CaseError("a case needs exactly one of 'model_sample' (a string) or 'sample' (an object)")
    if has_text and not isinstance(row["model_sample"], str):
        raise CaseError("'model_sample' must be a string")
    if has_object and not isinstance(row["sample"], dict):
        raise CaseError("'sample' must be an object")
    name = row.get("name")
    if name is not None and not isinstance(name, str):
        raise CaseError("'name' must be a string")
    return Case(line.number, name, row.get("item", {}), row.get("model_sample"), row.get("sample"), parse_expect(row["expect"]))


def load_cases(path: str | Path) -> Iterator[Case | CaseResult]:
    """Each line as a :class:`Case`, or as a failed :class:`CaseResult` when it is malformed."""
    for line in iter_objects(path):
        try:
            yield parse_case(line)
        except CaseError as exc:
            name = line.value.get("name") if isinstance(line.value, dict) else None
            yield CaseResult(line.number, name if isinstance(name, str) else None, False, "a well-formed case", f"malformed case: {exc}")


def run_case(grader: Any, case: Case, options: RunOptions | None = None) -> CaseResult:
    response = run(grader, case.model_sample, case.item, sample=case.sample, options=options)
    outcome = check(response, case.expect)
    return CaseResult(case.line, case.name, outcome.passed, outcome.expected, outcome.got)


@dataclass
class TestRun:
    results: list[CaseResult] = field(default_factory=list)

    __test__ = False  # not a pytest class

    @property
    def failed(self) -> list[CaseResult]:
        return [r for r in self.results if not r.passed]

    @property
    def ok(self) -> bool:
        return bool(self.results) and not self.failed

    def summary(self) -> str:
        passed = len(self.results) - len(self.failed)
        return f"{passed} passed, {len(self.failed)} failed, {len(self.results)} case(s)"


def run_cases(grader: Any, cases: str | Path | Iterable[Case | CaseResult], options: RunOptions | None = None) -> TestRun:
    """Run every case (a case file path or parsed cases). The grader is schema-checked first
    (:class:`graders.GraderInvalid` if refused)."""
    model = parse_grader(grader)
    source = load_cases(cases) if isinstance(cases, str | Path) else cases
    out = TestRun()
    for case in source:
        out.results.append(case if isinstance(case, CaseResult) else run_case(model, case, options))
    return out
