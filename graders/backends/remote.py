"""Run a whole grader on an OpenAI-compatible ``/fine_tuning/alpha/graders/run`` instead of locally.

The hosted service is the reference this toolkit reproduces: ``graders parity`` scores
rows both ways with this runner, and its answers can be kept as golden results.
The request goes through the official client's ``fine_tuning.alpha.graders.run`` with
the same retry policy and concurrency bound as the judge; it is never cached (the
point is to ask the service).
"""

from __future__ import annotations

import asyncio
from typing import Any

from pydantic import ValidationError

from graders.backends.config import JudgeConfig
from graders.backends.transport import JudgeRequestError, Stats, Transport
from graders.results import RunResponse

GRADERS_RUN = "fine_tuning/alpha/graders/run"


class RemoteRunner:
    def __init__(self, config: JudgeConfig | None = None, **overrides: Any) -> None:
        base = config or JudgeConfig(timeout=120.0)
        self.config = JudgeConfig(**{**base.__dict__, **overrides, "cache": False})
        self.transport = Transport(self.config)

    @property
    def stats(self) -> Stats:
        return self.transport.stats

    async def arun(self, grader: Any, model_sample: str, item: Any = None) -> RunResponse:
        """The remote ``/run`` response; :class:`JudgeRequestError` if the call fails (a 400 included)."""
        grader_json = grader.to_json() if hasattr(grader, "to_json") else grader
        body: dict[str, Any] = {"grader": grader_json, "model_sample": model_sample}
        if item is not None:
            body["item"] = item
        value = await self.transport.post(GRADERS_RUN, body, use_cache=False)
        try:
            return RunResponse.model_validate(value)
        except ValidationError as exc:
            raise JudgeRequestError(f"{GRADERS_RUN} answered something that is not a run response: {exc}") from None

    def run(self, grader: Any, model_sample: str, item: Any = None) -> RunResponse:
        return asyncio.run(self.arun(grader, model_sample, item))
