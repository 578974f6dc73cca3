"""What the engine passes down to a grader type: the sample, the item and the run options.

Nothing here does I/O; backends (judge client, sandbox pool) are carried in
``RunOptions`` so that graders never read module-level mutable state.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from graders.template import render


@dataclass
class RunOptions:
    """Knobs for one run. ``None`` means the documented default of each backend."""

    # graders.sandbox limits (wall time, memory, ...); None = OpenAI's defaults.
    python_limits: Any = None
    # graders.backends judge client for score_model / label_model / cosine.
    judge: Any = None


@dataclass
class GradeContext:
    sample: dict[str, Any]
    item: Any
    options: RunOptions
    # Judge token usage per model, summed over every model grader of this run.
    token_usage: dict[str, dict[str, int]] = field(default_factory=dict)
    sampled_model_name: str | None = None
    # Rendered templates of this sample: sub-graders of a multi often share their templates.
    _rendered: dict[str, str] = field(default_factory=dict, repr=False)

    @property
    def namespaces(self) -> dict[str, Any]:
        return {"sample": self.sample, "item": self.item}

    def render(self, template: str) -> str:
        """``template`` rendered against this sample and item, once per distinct template."""
        text = self._rendered.get(template)
        if text is None:
            text = self._rendered[template] = render(template, self.namespaces)
        return text

    def add_usage(self, model: str, usage: dict[str, int]) -> None:
        total = self.token_usage.setdefault(model, {})
        for key, value in usage.items():
            total[key] = total.get(key, 0) + int(value or 0)


def sample_from_text(model_sample: str) -> dict[str, Any]:
    """``model_sample`` → ``{output_text, output_json, output_tools, choices}`` (SEMANTICS §3)."""
    return {
        "output_text": model_sample,
        "output_json": _parse_json(model_sample),
        "output_tools": [],
        "choices": [],
    }


def sample_from_object(sample: dict[str, Any]) -> dict[str, Any]:
    """A full sample object (batch scoring): fill what is missing the way /run would."""
    text = sample.get("output_text")
    if text is None:
        text = ""
    out = {
        "output_text": text,
        "output_json": sample["output_json"] if "output_json" in sample else _parse_json(text),
        "output_tools": sample.get("output_tools") or [],
        "choices": sample.get("choices") or [],
    }
    for key, value in sample.items():
        out.setdefault(key, value)
    return out


_JSON_START = frozenset('{["-0123456789tfn')


def _parse_json(text: str) -> Any:
    stripped = text.lstrip()
    # Most samples are prose: skip the parser unless it could be JSON.
    if not stripped or stripped[0] not in _JSON_START:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None
