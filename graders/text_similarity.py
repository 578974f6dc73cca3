"""text_similarity: a metric from ``metrics.METRICS`` on the rendered strings (SEMANTICS §5).

``cosine`` goes through the embeddings backend (``ctx.options.judge``) and is not
in ``METRICS``. Inside multi and in /run the raw score is the reward; the Evals
``pass_threshold`` is not applied here.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

from graders.context import GradeContext
from graders.errors import MetricUnavailableError
from graders.models import TextSimilarityGrader


def rendered_pair(grader: TextSimilarityGrader, ctx: GradeContext) -> tuple[str, str]:
    return ctx.render(grader.input), ctx.render(grader.reference)


@cache
def _metrics() -> dict[str, Callable[[str, str], float]]:
    # Imported on first use, not at module import: the CLI's start-up path does not need it.
    from metrics import METRICS

    return METRICS


def grade(grader: TextSimilarityGrader, ctx: GradeContext) -> float:
    text, reference = rendered_pair(grader, ctx)
    metric = _metrics().get(grader.evaluation_metric)
    if metric is None:
        raise MetricUnavailableError(
            f"evaluation_metric '{grader.evaluation_metric}' is accepted but not computed by this "
            "version of the toolkit; no score was produced"
        )
    return metric(text, reference)


async def agrade(grader: TextSimilarityGrader, ctx: GradeContext) -> float:
    if grader.evaluation_metric == "cosine":
        judge = ctx.options.judge
        if judge is None:
            from graders.backends import default_judge

            judge = default_judge()  # OPENAI_API_KEY / OPENAI_BASE_URL, as model graders do
        embed = getattr(judge, "cosine_similarity", None)
        if embed is None:
            raise MetricUnavailableError(
                "evaluation_metric 'cosine' needs an embeddings backend; none is configured "
                "(set OPENAI_API_KEY, or pass --judge-base-url / RunOptions(judge=...)), "
                "so no score was produced"
            )
        text, reference = rendered_pair(grader, ctx)
        return float(await embed(text, reference))
    return grade(grader, ctx)
