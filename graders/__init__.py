"""Run OpenAI-style graders locally: same grader JSON in, same reward and error flags out.

    >>> import graders
    >>> g = {"type": "string_check", "name": "exact", "input": "{{ sample.output_text }}",
    ...      "reference": "{{ item.answer }}", "operation": "eq"}
    >>> graders.run(g, "Paris", {"answer": "Paris"}).reward
    1.0

The public names are imported on first use (PEP 562), so that ``import graders`` and
the CLI start fast. To export a name, add it to ``_EXPORTS`` (name -> module).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS: dict[str, str] = {
    "as_reward_function": "graders.adapters",
    "RunOptions": "graders.context",
    "score_file": "graders.batch",
    "score_rows": "graders.batch",
    "summarize": "graders.batch",
    "Summary": "graders.summary",
    "arun": "graders.engine",
    "run": "graders.engine",
    "validate": "graders.engine",
    "GraderInvalid": "graders.errors",
    "GradingError": "graders.errors",
    "Problem": "graders.errors",
    "AnyGrader": "graders.models",
    "Grader": "graders.models",
    "LabelModelGrader": "graders.models",
    "MultiGrader": "graders.models",
    "PythonGrader": "graders.models",
    "ScoreModelGrader": "graders.models",
    "StringCheckGrader": "graders.models",
    "TextSimilarityGrader": "graders.models",
    "RunErrors": "graders.results",
    "RunMetadata": "graders.results",
    "RunResponse": "graders.results",
    "grader_references": "graders.template",
    "render": "graders.template",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'graders' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))


# The eager imports below exist for type checkers only; __all__ is built from _EXPORTS.
# ruff: noqa: F401
if TYPE_CHECKING:  # for type checkers and IDEs: the same names, eagerly
    from graders.adapters import as_reward_function
    from graders.batch import score_file, score_rows, summarize
    from graders.context import RunOptions
    from graders.engine import arun, run, validate
    from graders.errors import GraderInvalid, GradingError, Problem
    from graders.models import (
        AnyGrader,
        Grader,
        LabelModelGrader,
        MultiGrader,
        PythonGrader,
        ScoreModelGrader,
        StringCheckGrader,
        TextSimilarityGrader,
    )
    from graders.results import RunErrors, RunMetadata, RunResponse
    from graders.summary import Summary
    from graders.template import grader_references, render
