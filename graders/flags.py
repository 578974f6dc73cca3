"""The error object's flags and their defaults (SEMANTICS §9), without pydantic.

Kept apart from ``graders.results`` so that the hot path and the CLI's start-up can
build an error object without importing the response models.
"""

from __future__ import annotations

from typing import Any

# Every flag the error object carries, in OpenAI's order, with its default.
# Detail fields are strings or null; flags are booleans.
ERROR_DEFAULTS: dict[str, Any] = {
    "formula_parse_error": False,
    "sample_parse_error": False,
    "truncated_observation_error": False,
    "unresponsive_reward_error": False,
    "invalid_variable_error": False,
    "invalid_variable_error_details": None,
    "other_error": False,
    "other_error_details": None,
    "python_grader_server_error": False,
    "python_grader_server_error_type": None,
    "python_grader_runtime_error": False,
    "python_grader_runtime_error_details": None,
    "model_grader_server_error": False,
    "model_grader_server_error_details": None,
    "model_grader_refusal_error": False,
    "model_grader_parse_error": False,
    "model_grader_exceeded_max_tokens_error": False,
}

ERROR_FLAGS: tuple[str, ...] = tuple(k for k, v in ERROR_DEFAULTS.items() if v is False)


def new_errors() -> dict[str, Any]:
    return dict(ERROR_DEFAULTS)
