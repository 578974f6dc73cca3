"""string_check: exact string comparisons on the rendered strings (SEMANTICS §4)."""

from __future__ import annotations

from graders.context import GradeContext
from graders.models import StringCheckGrader


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
    return 1.0 if compare(grader.operation, ctx.render(grader.input), ctx.render(grader.reference)) else 0.0
