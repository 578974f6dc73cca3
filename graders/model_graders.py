"""score_model and label_model: ask an OpenAI-compatible judge (SEMANTICS §7).

The request: every message with every template rendered, content items mapped to
Chat Completions parts, ``sampling_params`` mapped to the API's names, and a strict
JSON schema for ``{"steps": [{"description", "conclusion"}], "result"}`` (for
label_model, ``result`` is one of ``labels``). The answer: a refusal, a stop on the
token limit and output that does not parse each raise their own error (so each sets
its own flag, never a silent 0); token usage is recorded on the context whatever
the outcome, because the tokens were spent.

[ours] choices, kept here: messages are sent as given, with no system prompt added;
an answer wrapped in a Markdown code fence is unwrapped before parsing (local models
without structured output do this); a numeric ``result`` must be a JSON number (a
string such as ``"0.5"`` is a parse error); usage and ``sampled_model_name`` are keyed
by the model the judge says answered (the response's ``model``), falling back to
the grader's ``model``.
"""

from __future__ import annotations

import json
import math
from typing import Any

from graders.context import GradeContext
from graders.errors import (
    ModelGraderExceededMaxTokensError,
    ModelGraderParseError,
    ModelGraderRefusalError,
    ModelGraderServerError,
    OtherError,
)
from graders.models import (
    InputAudio,
    InputImage,
    InputText,
    LabelModelGrader,
    Message,
    OutputText,
    SamplingParams,
    ScoreModelGrader,
)
from graders.template import render
from graders.validation import range_problem

NO_JUDGE = (
    "no judge is configured for model graders: set OPENAI_API_KEY (and OPENAI_BASE_URL for a "
    "self-hosted OpenAI-compatible server), pass --judge-base-url / --judge-api-key on the "
    "command line, or RunOptions(judge=graders.backends.Judge(...)) in Python"
)

_STEPS = {
    "type": "array",
    "items": {
        "type": "object",
        "properties": {"description": {"type": "string"}, "conclusion": {"type": "string"}},
        "required": ["description", "conclusion"],
        "additionalProperties": False,
    },
}


async def grade(grader: ScoreModelGrader | LabelModelGrader, ctx: GradeContext) -> float:
    check_grader(grader)
    judge = ctx.options.judge
    if judge is None:
        from graders.backends import default_judge

        judge = default_judge()
    if judge is None or not hasattr(judge, "complete"):
        raise ModelGraderServerError(NO_JUDGE)
    answer = await judge.complete(build_request(grader, ctx.namespaces))
    return read_answer(grader, answer, ctx)


def check_grader(grader: ScoreModelGrader | LabelModelGrader) -> None:
    """What /run accepts but cannot grade with (SEMANTICS §9): other_error with details."""
    if isinstance(grader, ScoreModelGrader):
        if grader.range is not None:
            problem = range_problem(grader.range)
            if problem:
                raise OtherError(f"score_model '{grader.name}': {problem}")
        return
    if not grader.labels:
        raise OtherError(f"label_model '{grader.name}': labels must not be empty")
    extra = [label for label in grader.passing_labels if label not in grader.labels]
    if extra:
        raise OtherError(f"label_model '{grader.name}': passing_labels {extra} are not in labels {grader.labels}")


# ---------------------------------------------------------------- the request


def build_request(grader: ScoreModelGrader | LabelModelGrader, namespaces: dict[str, Any]) -> dict[str, Any]:
    """The Chat Completions body (also the cache key, so it must be deterministic)."""
    body: dict[str, Any] = {
        "model": grader.model,
        "messages": [render_message(m, namespaces) for m in grader.input],
        "response_format": response_format(grader),
    }
    body.update(sampling(grader.sampling_params))
    return body


def render_message(message: Message, namespaces: dict[str, Any]) -> dict[str, Any]:
    content = message.content
    if isinstance(content, str):
        rendered: Any = render(content, namespaces)
    elif isinstance(content, list):
        rendered = [_part(item, namespaces) for item in content]
    else:
        rendered = [_part(content, namespaces)]
    return {"role": message.role, "content": rendered}


def _part(item: Any, ns: dict[str, Any]) -> dict[str, Any]:
    if isinstance(item, str):
        return {"type": "text", "text": render(item, ns)}
    if isinstance(item, (InputText, OutputText)):
        return {"type": "text", "text": render(item.text, ns)}
    if isinstance(item, InputImage):
        image: dict[str, Any] = {"url": render(item.image_url, ns)}
        if item.detail is not None:
            image["detail"] = item.detail
        return {"type": "image_url", "image_url": image}
    if isinstance(item, InputAudio):
        audio = {"data": render(item.input_audio.data, ns), "format": item.input_audio.format}
        return {"type": "input_audio", "input_audio": audio}
    raise TypeError(f"unknown content item {type(item).__name__}")


def sampling(params: SamplingParams | None) -> dict[str, Any]:
    if params is None:
        return {}
    mapped = {
        # The grader field is "max_completions_tokens"; the API's is "max_completion_tokens".
        "max_completion_tokens": params.max_completions_tokens,
        "reasoning_effort": params.reasoning_effort,
        "seed": params.seed,
        "temperature": params.temperature,
        "top_p": params.top_p,
    }
    return {k: v for k, v in mapped.items() if v is not None}


def response_format(grader: ScoreModelGrader | LabelModelGrader) -> dict[str, Any]:
    if isinstance(grader, LabelModelGrader):
        name, result = "label_model_output", {"type": "string", "enum": list(grader.labels)}
    else:
        name, result = "score_model_output", {"type": "number"}
    schema = {
        "type": "object",
        "properties": {"steps": _STEPS, "result": result},
        "required": ["steps", "result"],
        "additionalProperties": False,
    }
    return {"type": "json_schema", "json_schema": {"name": name, "strict": True, "schema": schema}}


# ---------------------------------------------------------------- the answer


def read_answer(grader: ScoreModelGrader | LabelModelGrader, answer: dict[str, Any], ctx: GradeContext) -> float:
    model = answer.get("model") or grader.model
    ctx.sampled_model_name = str(model)
    usage = token_usage(answer.get("usage"))
    if usage is not None:
        ctx.add_usage(str(model), usage)
    choices = answer.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise ModelGraderParseError(f"the judge's answer has no choices: {_clip(json.dumps(answer))}")
    choice = choices[0]
    message = choice.get("message") or {}
    finish = choice.get("finish_reason")
    if message.get("refusal"):
        raise ModelGraderRefusalError(f"the judge refused: {_clip(str(message['refusal']))}")
    if finish == "content_filter":
        raise ModelGraderRefusalError("the judge's answer was stopped by its content filter")
    if finish == "length":
        limit = grader.sampling_params.max_completions_tokens if grader.sampling_params else None
        shown = f" (max_completions_tokens={limit})" if limit is not None else ""
        raise ModelGraderExceededMaxTokensError(f"the judge stopped on its token limit{shown} before finishing")
    result = parse_result(message.get("content"))
    if isinstance(grader, LabelModelGrader):
        if not isinstance(result, str) or result not in grader.labels:
            raise ModelGraderParseError(f"result {result!r} is not one of the labels {grader.labels}")
        return 1.0 if result in grader.passing_labels else 0.0
    if isinstance(result, bool) or not isinstance(result, (int, float)) or not math.isfinite(result):
        raise ModelGraderParseError(f"result {result!r} is not a finite number")
    low, high = grader.effective_range
    return min(max(float(result), low), high)


def parse_result(content: Any) -> Any:
    """The ``result`` of the judge's JSON answer, or ModelGraderParseError saying why not."""
    if not isinstance(content, str) or not content.strip():
        raise ModelGraderParseError("the judge's answer is empty")
    text = _unfence(content.strip())
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise ModelGraderParseError(f"the judge's answer is not JSON ({exc}): {_clip(content)}") from None
    if not isinstance(value, dict) or "result" not in value:
        raise ModelGraderParseError(f"the judge's answer has no 'result': {_clip(content)}")
    return value["result"]


def token_usage(usage: Any) -> dict[str, int] | None:
    """``{prompt_tokens, completion_tokens, total_tokens, cached_tokens}`` (SEMANTICS §7)."""
    if not isinstance(usage, dict):
        return None
    details = usage.get("prompt_tokens_details") or {}
    return {
        "prompt_tokens": int(usage.get("prompt_tokens") or 0),
        "completion_tokens": int(usage.get("completion_tokens") or 0),
        "total_tokens": int(usage.get("total_tokens") or 0),
        "cached_tokens": int(details.get("cached_tokens") or 0) if isinstance(details, dict) else 0,
    }


def _unfence(text: str) -> str:
    if text.startswith("```") and text.endswith("```") and len(text) >= 6:
        inner = text[3:-3]
        newline = inner.find("\n")
        # Drop a language tag such as ```json on the opening line.
        if newline != -1 and inner[:newline].strip().isalnum():
            inner = inner[newline + 1 :]
        return inner.strip()
    return text


def _clip(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else text[:limit] + "…"
