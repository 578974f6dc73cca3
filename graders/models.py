"""Pydantic models mirroring OpenAI's grader JSON, field for field (SEMANTICS §1).

``Grader`` is a discriminated union on ``type`` over the six grader classes;
``SubGrader`` is the same without ``multi`` (a multi grader inside a multi grader
is refused by the schema, as OpenAI refuses it). Extra fields are refused so that
a typo is an error here rather than a 400 after the job is submitted.

Only the wire shape lives here: no I/O, no grading. Semantic checks (labels,
formula, range, python source) are in ``graders.validation``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag

ReasoningEffort = Literal["none", "minimal", "low", "medium", "high", "xhigh", "max"]
EvaluationMetric = Literal[
    "cosine",
    "fuzzy_match",
    "bleu",
    "gleu",
    "meteor",
    "rouge_1",
    "rouge_2",
    "rouge_3",
    "rouge_4",
    "rouge_5",
    "rouge_l",
]
StringCheckOperation = Literal["eq", "ne", "like", "ilike"]
Role = Literal["user", "assistant", "system", "developer"]


class _Wire(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, defer_build=True)

    def to_json(self) -> dict[str, Any]:
        """The wire JSON: what was given, nothing dropped, no defaults invented."""
        return self.model_dump(mode="json", exclude_unset=True)


# ---------------------------------------------------------------- content items


class InputText(_Wire):
    type: Literal["input_text"]
    text: str


class OutputText(_Wire):
    type: Literal["output_text"]
    text: str


class InputImage(_Wire):
    type: Literal["input_image"]
    image_url: str
    detail: Literal["auto", "low", "high"] | None = None


class InputAudioData(_Wire):
    data: str
    format: Literal["mp3", "wav"]


class InputAudio(_Wire):
    type: Literal["input_audio"]
    input_audio: InputAudioData


ContentItem = Annotated[
    Union[InputText, OutputText, InputImage, InputAudio], Field(discriminator="type")
]


# The tags _content_kind gives; pydantic puts them in error locations (validation drops them).
CONTENT_TAGS = ("text", "item", "list")


def _content_kind(value: Any) -> str:
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "list"
    return "item"


# A bare string, one content item, or a list of either (OpenAI's EvalItem content).
Content = Annotated[
    Union[
        Annotated[str, Tag("text")],
        Annotated[ContentItem, Tag("item")],
        Annotated[
            list[
                Annotated[
                    Union[Annotated[str, Tag("text")], Annotated[ContentItem, Tag("item")]],
                    Discriminator(_content_kind),
                ]
            ],
            Tag("list"),
        ],
    ],
    Discriminator(_content_kind),
]


class Message(_Wire):
    """One input message of a model grader (OpenAI's EvalItem)."""

    role: Role
    content: Content
    type: Literal["message"] | None = None


class SamplingParams(_Wire):
    seed: int | None = None
    top_p: float | None = None
    temperature: float | None = None
    max_completions_tokens: int | None = None
    reasoning_effort: ReasoningEffort | None = None


# ---------------------------------------------------------------- graders


class StringCheckGrader(_Wire):
    type: Literal["string_check"]
    name: str
    input: str
    reference: str
    operation: StringCheckOperation


class TextSimilarityGrader(_Wire):
    type: Literal["text_similarity"]
    name: str
    input: str
    reference: str
    evaluation_metric: EvaluationMetric
    # Evals API variant only; ignored by /run and inside multi (SEMANTICS §5).
    pass_threshold: float | None = None


class PythonGrader(_Wire):
    type: Literal["python"]
    source: str
    # The service fills ``grader-<12 alnum>`` when absent (SEMANTICS §1).
    name: str | None = None
    image_tag: str | None = None


class ScoreModelGrader(_Wire):
    type: Literal["score_model"]
    name: str
    model: str
    input: list[Message]
    range: list[float] | None = None
    sampling_params: SamplingParams | None = None
    pass_threshold: float | None = None

    @property
    def effective_range(self) -> tuple[float, float]:
        lo, hi = self.range if self.range is not None else (0.0, 1.0)
        return float(lo), float(hi)


class LabelModelGrader(_Wire):
    type: Literal["label_model"]
    name: str
    model: str
    input: list[Message]
    labels: list[str]
    passing_labels: list[str]
    sampling_params: SamplingParams | None = None


SubGrader = Annotated[
    Union[StringCheckGrader, TextSimilarityGrader, PythonGrader, ScoreModelGrader, LabelModelGrader],
    Field(discriminator="type"),
]


class MultiGrader(_Wire):
    type: Literal["multi"]
    name: str
    graders: dict[str, SubGrader]
    calculate_output: str


AnyGrader = Union[
    StringCheckGrader,
    TextSimilarityGrader,
    PythonGrader,
    ScoreModelGrader,
    LabelModelGrader,
    MultiGrader,
]
Grader = Annotated[AnyGrader, Field(discriminator="type")]

GRADER_TYPES: tuple[str, ...] = (
    "string_check",
    "text_similarity",
    "python",
    "score_model",
    "label_model",
    "multi",
)
# What /run and a reinforcement job accept at the top level (SEMANTICS §1).
TOP_LEVEL_TYPES: tuple[str, ...] = ("string_check", "text_similarity", "python", "score_model", "multi")
