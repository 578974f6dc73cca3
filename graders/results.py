"""The ``/run`` response, with OpenAI's wire names (SEMANTICS §9)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

# Re-exported: the flags live in graders.flags so that the hot path needs no pydantic.
from graders.flags import ERROR_DEFAULTS as ERROR_DEFAULTS
from graders.flags import ERROR_FLAGS as ERROR_FLAGS
from graders.flags import new_errors as new_errors


class RunErrors(BaseModel):
    """The ``metadata.errors`` object: every flag present, false unless set."""

    model_config = ConfigDict(extra="allow")

    formula_parse_error: bool = False
    sample_parse_error: bool = False
    truncated_observation_error: bool = False
    unresponsive_reward_error: bool = False
    invalid_variable_error: bool = False
    invalid_variable_error_details: str | None = None
    other_error: bool = False
    other_error_details: str | None = None
    python_grader_server_error: bool = False
    python_grader_server_error_type: str | None = None
    python_grader_runtime_error: bool = False
    python_grader_runtime_error_details: str | None = None
    model_grader_server_error: bool = False
    model_grader_server_error_details: str | None = None
    model_grader_refusal_error: bool = False
    model_grader_parse_error: bool = False
    model_grader_exceeded_max_tokens_error: bool = False

    def flags_set(self) -> list[str]:
        return [f for f in ERROR_FLAGS if getattr(self, f)]


class RunMetadata(BaseModel):
    model_config = ConfigDict(extra="allow")

    name: str
    type: str
    errors: RunErrors = Field(default_factory=RunErrors)
    execution_time: float = 0.0
    scores: dict[str, Any] = Field(default_factory=dict)
    token_usage: dict[str, int] | None = None
    sampled_model_name: str | None = None


class RunResponse(BaseModel):
    """What ``POST /v1/fine_tuning/alpha/graders/run`` returns."""

    model_config = ConfigDict(extra="allow")

    reward: float
    metadata: RunMetadata
    sub_rewards: dict[str, Any] = Field(default_factory=dict)
    model_grader_token_usage_per_model: dict[str, Any] = Field(default_factory=dict)

    @property
    def errored(self) -> bool:
        return bool(self.metadata.errors.flags_set())
