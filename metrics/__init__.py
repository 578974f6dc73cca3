"""Text-similarity metrics: pure functions ``fn(prediction, reference) -> float``.

``METRICS`` maps every ``evaluation_metric`` the toolkit computes locally to its
function; ``cosine`` needs an embeddings backend and is run by the grader engine.
Heavy libraries are imported on first use so that the CLI starts fast.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from metrics import reference

Metric = Callable[[str, str], float]

METRICS: dict[str, Metric] = {
    "fuzzy_match": reference.fuzzy_match,
    "bleu": reference.bleu,
    "gleu": reference.gleu,
    **{f"rouge_{n}": partial(reference.rouge, f"rouge{n}") for n in "12345"},
    "rouge_l": partial(reference.rouge, "rougeL"),
}

__all__ = ["METRICS", "Metric"]
