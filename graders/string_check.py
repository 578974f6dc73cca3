"""string_check: exact string comparisons on the rendered strings (SEMANTICS §4)."""

from __future__ import annotations

from graders.context import GradeContext
from graders.models import StringCheckGrader
from graders.template import render


def compare(operation: str, text: str, reference: str) -> bool:
    # No trimming or normalising; % and _ are ordinary characters [ours].
    if operation == "eq":
        return text == reference
    if operation == "ne":
        return text != reference
    if operation == "like":
        return reference in text
    if operation == "ilike":
        return reference.casefold() in text.casefold()
    raise ValueError(f"unknown string_check operation {operation!r}")


def grade(grader: StringCheckGrader, ctx: GradeContext) -> float:
    ns = ctx.namespaces
    return 1.0 if compare(grader.operation, render(grader.input, ns), render(grader.reference, ns)) else 0.0
