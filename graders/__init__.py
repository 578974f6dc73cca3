"""Run OpenAI-style graders locally: same grader JSON in, same reward and error flags out.

    >>> import graders
    >>> g = {"type": "string_check", "name": "exact", "input": "{{ sample.output_text }}",
    ...      "reference": "{{ item.answer }}", "operation": "eq"}
    >>> graders.run(g, "Paris", {"answer": "Paris"}).reward
    1.0
"""

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
from graders.template import grader_references, render

__all__ = [
    "AnyGrader",
    "Grader",
    "GraderInvalid",
    "GradingError",
    "LabelModelGrader",
    "MultiGrader",
    "Problem",
    "PythonGrader",
    "RunErrors",
    "RunMetadata",
    "RunOptions",
    "RunResponse",
    "ScoreModelGrader",
    "StringCheckGrader",
    "TextSimilarityGrader",
    "arun",
    "grader_references",
    "render",
    "run",
    "validate",
]
