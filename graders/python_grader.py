"""python: run ``grade(sample, item)`` from untrusted source in the sandbox (SEMANTICS §6).

The source never runs in this process: :mod:`graders.sandbox` forks a fresh, limited,
network-less process per grade. What its result means (a reward, the grader's error or
the sandbox's failure) is decided in :mod:`graders.sandbox.outcome`; here it becomes a
reward or a typed error for the engine.
"""

from __future__ import annotations

from graders.context import GradeContext
from graders.errors import PythonGraderRuntimeError, PythonGraderServerError
from graders.models import PythonGrader
from graders.sandbox import DEFAULT_LIMITS, PythonLimits, SandboxResult, agrade


def limits_of(ctx: GradeContext) -> PythonLimits:
    limits = ctx.options.python_limits
    if limits is None:
        return DEFAULT_LIMITS
    if not isinstance(limits, PythonLimits):
        raise TypeError(f"RunOptions.python_limits must be PythonLimits, got {type(limits).__name__}")
    return limits


def to_reward(result: SandboxResult) -> float:
    """A sandbox result → the reward, or the error the engine turns into a flag."""
    if result.kind == "value" and result.value is not None:
        return result.value
    if result.kind == "runtime_error":
        raise PythonGraderRuntimeError(result.details)
    raise PythonGraderServerError(result.error_type or "crashed", result.details)


async def grade(grader: PythonGrader, ctx: GradeContext) -> float:
    result = await agrade(grader.source, ctx.sample, ctx.item, limits_of(ctx))
    return to_reward(result)
