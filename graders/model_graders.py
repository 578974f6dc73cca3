"""score_model and label_model: ask an OpenAI-compatible judge (SEMANTICS §7)."""

from __future__ import annotations

from graders.context import GradeContext
from graders.errors import ModelGraderServerError
from graders.models import LabelModelGrader, ScoreModelGrader


async def grade(grader: ScoreModelGrader | LabelModelGrader, ctx: GradeContext) -> float:
    # The judge backend lands with issue 5; until then say so rather than invent a number.
    raise ModelGraderServerError("no judge backend is available in this build")
