"""The same grader JSON as a reward function for an open-source RL trainer.

:func:`as_reward_function` returns ``fn(completions, **kwargs) -> list[float | None]``,
the shape TRL's ``GRPOTrainer`` calls its ``reward_funcs`` with:

* ``completions`` — a list of strings (standard format) or of conversations
  (conversational format: lists of ``{"role", "content"}`` messages); the sample is
  the string, or the last message's content;
* every other dataset column arrives as a keyword argument holding a list aligned
  with ``completions``; row i's ``item`` is ``{column: kwargs[column][i]}``.

The trainer's own keyword arguments (``prompts``, ``completion_ids``,
``trainer_state``, ``log_extra``, ``log_metric``) are not columns and are left out of
the item; so is any keyword argument that is not a list. A grade that sets an
error flag gives ``None`` (TRL reads None as "no reward from this function"), never
a silent 0.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from graders.context import RunOptions
from graders.engine import arun, needs_io, run
from graders.results import RunResponse
from graders.validation import validate as validate_grader

RewardFunction = Callable[..., list[float | None]]

# Keyword arguments TRL passes that are not dataset columns.
TRAINER_KWARGS = frozenset({"prompts", "completion_ids", "trainer_state", "log_extra", "log_metric"})


def completion_text(completion: Any) -> str:
    """A completion as the text to grade: a string, or a conversation's last message content."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, Mapping):  # one message
        return _content_text(completion.get("content"))
    if isinstance(completion, Sequence) and completion:
        last = completion[-1]
        if isinstance(last, Mapping):
            return _content_text(last.get("content"))
    raise TypeError(
        f"a completion must be a string or a list of {{'role', 'content'}} messages, got {type(completion).__name__}"
    )


def _content_text(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # content parts: keep the text ones, in order
        return "".join(
            part.get("text", "") if isinstance(part, Mapping) else str(part) for part in content
            if not isinstance(part, Mapping) or part.get("type", "text") in ("text", "output_text", "input_text")
        )
    return str(content)


def items_from_columns(n: int, columns: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Row i's item ``{column: values[i]}`` from column lists aligned with ``n`` completions."""
    lists = {k: v for k, v in columns.items() if k not in TRAINER_KWARGS and isinstance(v, list | tuple)}
    for key, values in lists.items():
        if len(values) != n:
            raise ValueError(f"column {key!r} has {len(values)} values for {n} completions")
    return [{key: values[i] for key, values in lists.items()} for i in range(n)]


def as_reward_function(
    grader: Any,
    *,
    options: RunOptions | None = None,
    name: str | None = None,
) -> RewardFunction:
    """``grader`` (JSON dict or model) → ``fn(completions, **kwargs) -> list[float | None]``.

    The grader is validated once here (raises :class:`graders.GraderInvalid`). Graders
    that wait on I/O (python sandbox, judge model) grade a batch concurrently.
    """
    model = validate_grader(grader)
    concurrent = needs_io(model)

    def reward(completions: Sequence[Any], **kwargs: Any) -> list[float | None]:
        samples = [completion_text(c) for c in completions]
        items = items_from_columns(len(samples), kwargs)
        if concurrent:
            responses = _run_all(model, samples, items, options)
        else:
            responses = [run(model, s, item, options=options) for s, item in zip(samples, items)]
        return [None if r.errored else r.reward for r in responses]

    # TRL logs each reward function under its __name__.
    reward.__name__ = name or model.name or model.type
    reward.__qualname__ = reward.__name__
    return reward


def _run_all(model: Any, samples: list[str], items: list[dict[str, Any]], options: RunOptions | None) -> list[RunResponse]:
    async def gather() -> list[RunResponse]:
        return list(await asyncio.gather(*(arun(model, s, item, options=options) for s, item in zip(samples, items))))

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(gather())
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1) as pool:  # called from inside a loop: use a private one
        return pool.submit(asyncio.run, gather()).result()
