"""``run`` and ``validate``: the one place that times a grade and turns errors into flags.

Every grader type is an ``async`` function (model and python graders wait on I/O),
but a grader that does no I/O never suspends, so ``run`` drives its coroutine to
the end without an event loop: no loop start-up cost on the hot path of a batch.
"""

from __future__ import annotations

import string
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, assert_never

from graders import multi, string_check, text_similarity
from graders.context import (
    GradeContext,
    RunOptions,
    sample_from_object,
    sample_from_text,
)
from graders.errors import GradingError, SampleParseError
from graders.flags import new_errors
from graders.memo import by_identity
from graders.models import (
    AnyGrader,
    LabelModelGrader,
    MultiGrader,
    PythonGrader,
    ScoreModelGrader,
    StringCheckGrader,
    TextSimilarityGrader,
)
from graders.validation import parse_grader
from graders.validation import validate as _validate

if TYPE_CHECKING:
    from graders.results import RunResponse


def needs_io(grader: AnyGrader) -> bool:
    """True when grading may wait on a subprocess or the network."""
    if isinstance(grader, MultiGrader):
        return any(needs_io(sub) for sub in grader.graders.values())
    if isinstance(grader, TextSimilarityGrader):
        return grader.evaluation_metric == "cosine"
    return isinstance(grader, PythonGrader | ScoreModelGrader | LabelModelGrader)


# Whether a grader reused row after row (batch) waits on I/O, worked out once.
_needs_io_cached = by_identity(needs_io)


async def _dispatch(grader: AnyGrader, ctx: GradeContext, errors: dict[str, Any], scores: dict[str, float]) -> float:
    """A grader that waits on I/O (see :func:`_score`, which sends the others to _score_cpu)."""
    match grader:
        case StringCheckGrader():
            raise TypeError("string_check does no I/O; needs_io() is out of date")
        case TextSimilarityGrader():
            return await text_similarity.agrade(grader, ctx)  # cosine
        case PythonGrader():
            from graders import python_grader

            return await python_grader.grade(grader, ctx)
        case ScoreModelGrader() | LabelModelGrader():
            from graders import model_graders

            return await model_graders.grade(grader, ctx)
        case MultiGrader():

            async def score_sub(sub: AnyGrader) -> float:
                return await _score(sub, ctx, errors, {})

            rewards = await multi.sub_rewards(grader, score_sub)
            scores.update(rewards)
            return multi.combine(grader, rewards)
        case _:
            assert_never(grader)


async def _score(grader: AnyGrader, ctx: GradeContext, errors: dict[str, Any], scores: dict[str, float]) -> float:
    if not _needs_io_cached(grader):
        return _score_cpu(grader, ctx, errors, scores)
    try:
        return await _dispatch(grader, ctx, errors, scores)
    except GradingError as exc:
        exc.apply(errors)
        return 0.0


def _score_cpu(grader: AnyGrader, ctx: GradeContext, errors: dict[str, Any], scores: dict[str, float]) -> float:
    """:func:`_score` for a grader without I/O, as plain calls: no coroutine per grader (batch hot path)."""
    try:
        if isinstance(grader, MultiGrader):
            rewards = {key: _score_cpu(sub, ctx, errors, {}) for key, sub in grader.graders.items()}
            scores.update(rewards)
            return multi.combine(grader, rewards)
        if isinstance(grader, StringCheckGrader):
            return string_check.grade(grader, ctx)
        if isinstance(grader, TextSimilarityGrader):
            return text_similarity.grade(grader, ctx)  # not cosine: needs_io says so
        raise TypeError(f"{grader.type} graders wait on I/O; needs_io() is out of date")
    except GradingError as exc:
        exc.apply(errors)
        return 0.0


def make_sample(model_sample: str | None, sample: Mapping[str, Any] | None) -> dict[str, Any]:
    if sample is not None:
        if not isinstance(sample, Mapping):
            raise SampleParseError(f"sample must be an object, got {type(sample).__name__}")
        text = sample.get("output_text")
        if text is not None and not isinstance(text, str):
            raise SampleParseError("sample.output_text must be a string")
        return sample_from_object(dict(sample))
    if model_sample is None:
        model_sample = ""
    if not isinstance(model_sample, str):
        raise SampleParseError(f"model_sample must be a string, got {type(model_sample).__name__}")
    return sample_from_text(model_sample)


async def arun(
    grader: Any,
    model_sample: str | None = None,
    item: Any = None,
    *,
    sample: Mapping[str, Any] | None = None,
    options: RunOptions | None = None,
) -> RunResponse:
    """Grade one sample. Raises only :class:`GraderInvalid` (the schema refuses the grader)."""
    from graders.results import RunResponse

    model = parse_grader(grader)
    return RunResponse.model_validate(await arun_dict(model, model_sample, item, sample=sample, options=options))


def run(
    grader: Any,
    model_sample: str | None = None,
    item: Any = None,
    *,
    sample: Mapping[str, Any] | None = None,
    options: RunOptions | None = None,
) -> RunResponse:
    """Synchronous :func:`arun`: the ``/run`` response for one sample."""
    from graders.results import RunResponse

    model = parse_grader(grader)
    return RunResponse.model_validate(run_dict(model, model_sample, item, sample=sample, options=options))


def _run_in_loop(coroutine: Any) -> Any:
    import asyncio  # not at module level: the CLI's start-up path does not need it

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    # Called from inside a running loop (a notebook, a server): use a private one.
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def response_dict(
    model: AnyGrader,
    reward: float,
    errors: dict[str, Any],
    scores: dict[str, float],
    ctx: GradeContext,
    elapsed: float,
) -> dict[str, Any]:
    """The ``/run`` response as plain JSON-ready data, equal to ``RunResponse.model_dump(mode="json")``."""
    usage = ctx.token_usage
    total_usage: dict[str, int] | None = None
    if usage:
        total_usage = {}
        for per_model in usage.values():
            for key, value in per_model.items():
                total_usage[key] = total_usage.get(key, 0) + value
    return {
        "reward": float(reward),
        "metadata": {
            "name": model.name or "",
            "type": model.type,
            "errors": errors,
            "execution_time": elapsed,
            "scores": scores,
            "token_usage": total_usage,
            "sampled_model_name": ctx.sampled_model_name,
        },
        "sub_rewards": dict(scores) if isinstance(model, MultiGrader) else {},
        "model_grader_token_usage_per_model": usage,
    }


async def arun_dict(
    model: AnyGrader,
    model_sample: str | None = None,
    item: Any = None,
    *,
    sample: Mapping[str, Any] | None = None,
    options: RunOptions | None = None,
) -> dict[str, Any]:
    """:func:`arun` for an already parsed grader, returning :func:`response_dict` (no pydantic per row).

    The batch hot path: the caller parses the grader once and reuses the model.
    """
    if not _needs_io_cached(model):
        return run_dict(model, model_sample, item, sample=sample, options=options)
    started = time.perf_counter()
    errors, scores, ctx = _begin(item, options)
    try:
        ctx.sample = make_sample(model_sample, sample)
        reward = await _score(model, ctx, errors, scores)
    except GradingError as exc:
        exc.apply(errors)
        reward = 0.0
    return response_dict(model, reward, errors, scores, ctx, time.perf_counter() - started)


def _begin(item: Any, options: RunOptions | None) -> tuple[dict[str, Any], dict[str, float], GradeContext]:
    """A run's error flags, sub-scores and context (its sample is set once it has been read)."""
    ctx = GradeContext(sample={}, item={} if item is None else item, options=options or _DEFAULT_OPTIONS)
    return new_errors(), {}, ctx


_DEFAULT_OPTIONS = RunOptions()


def run_dict(
    model: AnyGrader,
    model_sample: str | None = None,
    item: Any = None,
    *,
    sample: Mapping[str, Any] | None = None,
    options: RunOptions | None = None,
) -> dict[str, Any]:
    """Synchronous :func:`arun_dict`. A grader without I/O is graded by plain calls here, with
    no coroutine and no event loop; one that waits on I/O runs in an event loop."""
    if _needs_io_cached(model):
        response: dict[str, Any] = _run_in_loop(arun_dict(model, model_sample, item, sample=sample, options=options))
        return response
    started = time.perf_counter()
    errors, scores, ctx = _begin(item, options)
    try:
        ctx.sample = make_sample(model_sample, sample)
        reward = _score_cpu(model, ctx, errors, scores)
    except GradingError as exc:
        exc.apply(errors)
        reward = 0.0
    return response_dict(model, reward, errors, scores, ctx, time.perf_counter() - started)


_ALNUM = string.ascii_letters + string.digits


def validate(grader: Any) -> AnyGrader:
    """What ``/validate`` does: the accepted grader (python name filled in) or GraderInvalid."""
    model = _validate(grader)
    return fill_defaults(model)


def fill_defaults(model: AnyGrader) -> AnyGrader:
    """The one default the service fills in: a python grader's missing name [seen]."""
    if isinstance(model, PythonGrader) and model.name is None:
        import secrets  # rarely needed; kept off the start-up path

        model = model.model_copy(update={"name": "grader-" + "".join(secrets.choice(_ALNUM) for _ in range(12))})
        model.model_fields_set.add("name")
    elif isinstance(model, MultiGrader):
        filled = {key: fill_defaults(sub) for key, sub in model.graders.items()}
        model = model.model_copy(update={"graders": filled})
    return model


def accepted_json(model: AnyGrader) -> dict[str, Any]:
    return model.to_json()
