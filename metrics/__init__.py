"""Text-similarity metrics: pure functions ``fn(prediction, reference) -> float``.

``METRICS`` maps every ``evaluation_metric`` the toolkit computes locally to its
function; ``cosine`` needs an embeddings backend and is run by the grader engine.
Each function returns exactly what the reference library call returns
(metrics/reference.py keeps those calls as the oracle); ``signature(name)`` says which
call, library version, tokenizer and options that is.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from metrics.bleu_gleu import bleu, gleu
from metrics.fuzzy import fuzzy_match
from metrics.meteor_score import meteor
from metrics.rouge import rouge_l, rouge_n
from metrics.signatures import SIGNATURES, signature

Metric = Callable[[str, str], float]

METRICS: dict[str, Metric] = {
    "fuzzy_match": fuzzy_match,
    "bleu": bleu,
    "gleu": gleu,
    "meteor": meteor,
    **{f"rouge_{n}": partial(rouge_n, n) for n in range(1, 6)},
    "rouge_l": rouge_l,
}


def clear_caches(*, words: bool = True) -> None:
    """Forget cached references, and with ``words`` the memoised stems, synonyms and WordNet
    index (tests; benchmarks keep the word memos, as nltk keeps its loaded synsets)."""
    from metrics import bleu_gleu, meteor_score, rouge

    bleu_gleu._reference.cache_clear()
    rouge._reference.cache_clear()
    rouge._prediction_tokens.cache_clear()
    rouge._reference_tokens.cache_clear()
    meteor_score._reference.cache_clear()
    if words:
        meteor_score._stems.clear()
        meteor_score._synonyms.clear()
        meteor_score._index = None


__all__ = ["METRICS", "Metric", "SIGNATURES", "clear_caches", "signature"]
