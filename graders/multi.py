"""multi: run every sub-grader, then ``calculate_output`` over their rewards (SEMANTICS §8).

The engine supplies ``score_sub``, which runs one sub-grader and turns its error
into flags on the shared error object (a failed sub-grader counts 0 [ours]).
Sub-graders that call out (python, model graders) run concurrently.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from graders.formula import Formula, compile_for_keys
from graders.memo import by_identity
from graders.models import AnyGrader, MultiGrader

ScoreSub = Callable[[AnyGrader], Awaitable[float]]


async def sub_rewards(grader: MultiGrader, score_sub: ScoreSub) -> dict[str, float]:
    """Every sub-grader at once; only a multi that waits on I/O gets here (the engine scores
    one without I/O by plain calls)."""
    import asyncio  # not at module level: the CLI's start-up path does not need it

    keys = list(grader.graders)
    rewards = await asyncio.gather(*(score_sub(grader.graders[k]) for k in keys))
    return dict(zip(keys, rewards))


@by_identity
def _formula(grader: MultiGrader) -> Formula:
    # Raises FormulaParseError (a bad formula, or keys it does not know): nothing is cached then.
    return compile_for_keys(grader.calculate_output, frozenset(grader.graders))


def combine(grader: MultiGrader, rewards: dict[str, float]) -> float:
    return _formula(grader).evaluate(rewards)
