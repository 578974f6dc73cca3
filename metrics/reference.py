"""The reference calls each metric must reproduce (SEMANTICS §5).

These are slow and stay forever as the oracle for the fast implementations
(parity tests and benchmarks call them). Tokens for the nltk metrics are
``str.split()`` [ours]; rouge-score uses its own tokenizer.
"""

from __future__ import annotations

import warnings
from functools import lru_cache
from typing import Any


def fuzzy_match(prediction: str, reference: str) -> float:
    from rapidfuzz import fuzz

    return float(fuzz.ratio(prediction, reference) / 100.0)


def bleu(prediction: str, reference: str) -> float:
    from nltk.translate.bleu_score import sentence_bleu

    with warnings.catch_warnings():
        # nltk warns when a higher-order n-gram has no overlap; the number is still its answer.
        warnings.simplefilter("ignore")
        return float(sentence_bleu([reference.split()], prediction.split()))


def gleu(prediction: str, reference: str) -> float:
    from nltk.translate.gleu_score import sentence_gleu

    return float(sentence_gleu([reference.split()], prediction.split()))


@lru_cache(maxsize=8)
def _rouge_scorer(rouge_type: str) -> Any:
    from rouge_score import rouge_scorer

    return rouge_scorer.RougeScorer([rouge_type], use_stemmer=False)


def rouge(rouge_type: str, prediction: str, reference: str) -> float:
    return float(_rouge_scorer(rouge_type).score(reference, prediction)[rouge_type].fmeasure)
