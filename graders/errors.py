"""One exception tree for the whole toolkit.

Two families, never mixed:

    Exception
    ├── GraderInvalid                 the grader JSON itself is wrong (validate / 400)
    │                                  carries every problem found, each with its JSON path
    └── GradingError                  one sample could not be graded; engine.run turns it into a flag
        ├── InvalidVariableError      invalid_variable_error (+ invalid_variable_error_details)
        ├── FormulaParseError         formula_parse_error (+ other_error_details)
        ├── SampleParseError          sample_parse_error
        ├── OtherError                other_error (+ other_error_details)
        │   └── MetricUnavailableError   a metric that cannot run here (no backend, no WordNet)
        ├── PythonGraderRuntimeError  python_grader_runtime_error (+ _details)
        ├── PythonGraderServerError   python_grader_server_error (+ _type)
        ├── ModelGraderServerError    model_grader_server_error (+ _details)
        ├── ModelGraderRefusalError   model_grader_refusal_error
        ├── ModelGraderParseError     model_grader_parse_error
        └── ModelGraderExceededMaxTokensError  model_grader_exceeded_max_tokens_error

Grader code raises a GradingError subclass; only ``graders.engine`` catches it and
calls :meth:`GradingError.apply` to set the flag (and its detail field) on the
response's error object. Nothing else builds flags.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a grader, located by its JSON path (e.g. ``graders.a.operation``)."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path or '<root>'}: {self.message}"


class GraderInvalid(Exception):
    """The grader is refused. ``problems`` lists every problem, each with its JSON path.

    ``schema_only`` is true when every problem is a schema problem (what ``/run``
    also refuses); false when at least one is semantic (what only ``/validate`` refuses).
    """

    def __init__(self, problems: list[Problem], *, schema_only: bool = True) -> None:
        if not problems:
            raise ValueError("GraderInvalid needs at least one problem")
        self.problems = problems
        self.schema_only = schema_only
        super().__init__(self.message)

    @property
    def message(self) -> str:
        if len(self.problems) == 1:
            return f"Invalid grader: {self.problems[0]}"
        listed = "; ".join(str(p) for p in self.problems)
        return f"Invalid grader ({len(self.problems)} problems): {listed}"

    @property
    def param(self) -> str:
        """The JSON path of the first problem, prefixed as OpenAI's ``param`` field is."""
        first = self.problems[0].path
        return f"grader.{first}" if first else "grader"

    def to_openai_error(self) -> dict[str, Any]:
        return {
            "error": {
                "message": self.message,
                "type": "invalid_request_error",
                "param": self.param,
                "code": "invalid_grader",
            }
        }


class GradingError(Exception):
    """A problem with one sample. Subclasses name the flag they set."""

    flag: ClassVar[str] = "other_error"
    # The error-object field that receives the message, if the flag has one.
    details_field: ClassVar[str | None] = "other_error_details"

    def __init__(self, details: str = "") -> None:
        self.details = details
        super().__init__(details or self.flag)

    def apply(self, errors: dict[str, Any]) -> None:
        errors[self.flag] = True
        if self.details_field is not None and self.details:
            errors[self.details_field] = self.details


class InvalidVariableError(GradingError):
    flag = "invalid_variable_error"
    details_field = "invalid_variable_error_details"


class FormulaParseError(GradingError):
    flag = "formula_parse_error"
    details_field = "other_error_details"


class SampleParseError(GradingError):
    flag = "sample_parse_error"
    details_field = "other_error_details"


class OtherError(GradingError):
    flag = "other_error"
    details_field = "other_error_details"


class MetricUnavailableError(OtherError):
    """A metric that this installation cannot compute (say why in ``details``)."""


class PythonGraderRuntimeError(GradingError):
    flag = "python_grader_runtime_error"
    details_field = "python_grader_runtime_error_details"


class PythonGraderServerError(GradingError):
    """The sandbox failed. ``error_type``: timeout, memory_limit, crashed, start_failed, ..."""

    flag = "python_grader_server_error"
    details_field = "python_grader_server_error_type"

    def __init__(self, error_type: str, details: str = "") -> None:
        self.error_type = error_type
        super().__init__(details or error_type)

    def apply(self, errors: dict[str, Any]) -> None:
        errors[self.flag] = True
        errors["python_grader_server_error_type"] = self.error_type
        if self.details and self.details != self.error_type:
            errors["other_error_details"] = self.details


class ModelGraderServerError(GradingError):
    flag = "model_grader_server_error"
    details_field = "model_grader_server_error_details"


class ModelGraderRefusalError(GradingError):
    flag = "model_grader_refusal_error"
    details_field = "other_error_details"


class ModelGraderParseError(GradingError):
    flag = "model_grader_parse_error"
    details_field = "other_error_details"


class ModelGraderExceededMaxTokensError(GradingError):
    flag = "model_grader_exceeded_max_tokens_error"
    details_field = "other_error_details"
