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


@lru_cache(maxsize=1)
def _nltk_wordnet() -> Any:
    """nltk's default ``wordnet`` corpus, made to find the same WordNet 3.0 files we index."""
    import nltk

    from metrics import wordnet as wn

    root = wn.nltk_data_dir()
    if root is not None and str(root) not in nltk.data.path:
        nltk.data.path.insert(0, str(root))
    from nltk.corpus import wordnet

    with warnings.catch_warnings():
        # "The multilingual functions are not available": irrelevant to METEOR.
        warnings.simplefilter("ignore")
        wordnet.ensure_loaded()
    return wordnet


def meteor(prediction: str, reference: str) -> float:
    from nltk.translate.meteor_score import meteor_score

    wordnet = _nltk_wordnet()
    return float(meteor_score([reference.split()], prediction.split(), wordnet=wordnet))


def _rouge_type(rouge_type: str) -> Any:
    def call(prediction: str, reference: str) -> float:
        return rouge(rouge_type, prediction, reference)

    return call


# metric name -> the reference call (SEMANTICS §5), and that call written out.
REFERENCE: dict[str, Any] = {
    "fuzzy_match": fuzzy_match,
    "bleu": bleu,
    "gleu": gleu,
    "meteor": meteor,
    **{f"rouge_{n}": _rouge_type(f"rouge{n}") for n in "12345"},
    "rouge_l": _rouge_type("rougeL"),
}
CALLS: dict[str, str] = {
    "fuzzy_match": "rapidfuzz.fuzz.ratio(input, reference) / 100",
    "bleu": "nltk sentence_bleu([reference.split()], input.split())",
    "gleu": "nltk sentence_gleu([reference.split()], input.split())",
    "meteor": "nltk meteor_score([reference.split()], input.split())",
    **{f"rouge_{n}": f"RougeScorer(['rouge{n}']).score(reference, input)['rouge{n}'].fmeasure" for n in "12345"},
    "rouge_l": "RougeScorer(['rougeL']).score(reference, input)['rougeL'].fmeasure",
}
