"""python: run ``grade(sample, item)`` from untrusted source in the sandbox (SEMANTICS §6)."""

from __future__ import annotations

from graders.context import GradeContext
from graders.errors import PythonGraderServerError
from graders.models import PythonGrader


async def grade(grader: PythonGrader, ctx: GradeContext) -> float:
    # The sandbox lands with issue 4; until then say so rather than invent a number.
    raise PythonGraderServerError("unavailable", "the python sandbox is not available in this build")
