"""BLEU and GLEU, exactly nltk's ``sentence_bleu([ref], hyp)`` and ``sentence_gleu([ref], hyp)``.

Tokens are ``str.split()`` [ours, SEMANTICS §5]. One C pass counts all n-grams of orders
1..4 of the hypothesis; one intersection with the reference's (cached across rows) gives
the clipped matches of every order (metrics/ngrams.py).
"""

from __future__ import annotations

import sys
from functools import lru_cache
from math import exp, fsum, log

from metrics.ngrams import Side, count_into, counts, everygrams, shared_and_extra

MAX_N = 4
# nltk's method0 (no smoothing) puts sys.float_info.min in place of a zero precision and
# warns; with weight 0.25 that adds this term to the log sum (the score is ~1e-77, not 0).
_ZERO_PRECISION_TERM = 0.25 * log(sys.float_info.min)


def _everygram_total(length: int) -> int:
    # sum(max(0, length - n + 1) for n in 1..4)
    return 4 * length - 6 if length >= MAX_N else length * (length + 1) // 2


@lru_cache(maxsize=256)
def _reference(reference: str) -> tuple[int, Side]:
    tokens = reference.split()
    return len(tokens), Side(everygrams(tokens, MAX_N), _everygram_total(len(tokens)))


def bleu(prediction: str, reference: str) -> float:
    """nltk sentence_bleu: weights (0.25,)*4, no smoothing, auto_reweigh=False."""
    hyp = prediction.split()
    hyp_len = len(hyp)
    if hyp_len == 0:
        return 0.0  # no unigram matches: nltk returns 0
    ref_len, ref = _reference(reference)
    shared, extra = shared_and_extra(counts(everygrams(hyp, MAX_N)), _everygram_total(hyp_len), ref)
    per_order: dict[int, int] = {}
    count_into(per_order, map(len, shared))
    for gram, k in extra:
        per_order[len(gram)] += k
    if not per_order.get(1):
        return 0.0
    terms = []
    for n in range(1, MAX_N + 1):
        matches = per_order.get(n)
        if not matches:
            # nltk's method0 stand-in for a zero precision; no higher order can match either.
            terms += [_ZERO_PRECISION_TERM] * (MAX_N + 1 - n)
            break
        terms.append(0.25 * log(matches / max(1, hyp_len - n + 1)))
    brevity = 1.0 if hyp_len > ref_len else exp(1 - ref_len / hyp_len)
    return brevity * exp(fsum(terms))


def gleu(prediction: str, reference: str) -> float:
    """nltk sentence_gleu: n-grams of orders 1..4, matches / max(hyp n-grams, ref n-grams)."""
    hyp = prediction.split()
    hyp_total = _everygram_total(len(hyp))
    _, ref = _reference(reference)
    total = max(hyp_total, ref.total)
    if total == 0:
        return 0.0
    shared, extra = shared_and_extra(counts(everygrams(hyp, MAX_N)), hyp_total, ref)
    return (len(shared) + sum(k for _, k in extra)) / total
