"""BLEU and GLEU, exactly nltk's ``sentence_bleu([ref], hyp)`` and ``sentence_gleu([ref], hyp)``.

Tokens are ``str.split()`` [ours, SEMANTICS §5]. A reference's index (metrics/ngrams.py)
is built once per reference string (cached across rows, shared by BLEU and GLEU); the
hypothesis's clipped n-gram matches of every order come from it in a few C big-int
operations, without building any n-gram.
"""

from __future__ import annotations

import sys
from functools import lru_cache
from math import exp, fsum, log

from metrics import ngrams
from metrics.ngrams import ALL_ORDERS_TOKENS, RefIndex, clipped_per_order

MAX_N = 4
# nltk's method0 (no smoothing) puts sys.float_info.min in place of a zero precision and
# warns; with weight 0.25 that adds this term to the log sum (the score is ~1e-77, not 0).
_ZERO_PRECISION_TERM = 0.25 * log(sys.float_info.min)


def _everygram_total(length: int) -> int:
    # sum(max(0, length - n + 1) for n in 1..4)
    return 4 * length - 6 if length >= MAX_N else length * (length + 1) // 2


class _Reference:
    """A reference's token count and n-gram index."""

    __slots__ = ("length", "index")

    def __init__(self, text: str) -> None:
        tokens = text.split()
        self.length = len(tokens)
        self.index = RefIndex(tokens, ALL_ORDERS_TOKENS)


_reference = lru_cache(maxsize=256)(_Reference)


def bleu(prediction: str, reference: str) -> float:
    """nltk sentence_bleu: weights (0.25,)*4, no smoothing, auto_reweigh=False."""
    hyp = prediction.split()
    hyp_len = len(hyp)
    if hyp_len == 0:
        return 0.0  # no unigram matches: nltk returns 0
    kernel = ngrams.kernel
    if kernel is not None:
        ref_tokens = reference.split()
        ref_len = len(ref_tokens)
        found = kernel(hyp, ref_tokens, MAX_N)
    else:
        ref = _reference(reference)
        ref_len = ref.length
        found = clipped_per_order(hyp, ref.index, MAX_N)
    if not found[0]:
        return 0.0
    terms = [0.25 * log(f / max(1, hyp_len - n)) for n, f in enumerate(found) if f]
    if len(terms) < MAX_N:
        # nltk's method0 stand-in for a zero precision; no higher order can match either.
        terms += [_ZERO_PRECISION_TERM] * (MAX_N - len(terms))
    brevity = 1.0 if hyp_len > ref_len else exp(1 - ref_len / hyp_len)
    return brevity * exp(fsum(terms))


def gleu(prediction: str, reference: str) -> float:
    """nltk sentence_gleu: n-grams of orders 1..4, matches / max(hyp n-grams, ref n-grams)."""
    hyp = prediction.split()
    kernel = ngrams.kernel
    if kernel is not None:
        ref_tokens = reference.split()
        total = max(_everygram_total(len(hyp)), _everygram_total(len(ref_tokens)))
        return sum(kernel(hyp, ref_tokens, MAX_N)) / total if total else 0.0
    ref = _reference(reference)
    total = max(_everygram_total(len(hyp)), _everygram_total(ref.length))
    if total == 0:
        return 0.0
    return sum(clipped_per_order(hyp, ref.index, MAX_N)) / total
