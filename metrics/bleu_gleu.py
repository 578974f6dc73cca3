"""BLEU and GLEU, exactly nltk's ``sentence_bleu([ref], hyp)`` and ``sentence_gleu([ref], hyp)``.

Tokens are ``str.split()`` [ours, SEMANTICS §5]. A reference's n-gram counts are built
once per reference string (cached across rows); the hypothesis is only streamed
through them in C (metrics/ngrams.py).
"""

from __future__ import annotations

import sys
from functools import lru_cache
from math import exp, fsum, log

from metrics.ngrams import Counts, counts, everygrams, matches, matches4, ngrams, repeat_mask

MAX_N = 4
# nltk's method0 (no smoothing) puts sys.float_info.min in place of a zero precision and
# warns; with weight 0.25 that adds this term to the log sum (the score is ~1e-77, not 0).
_ZERO_PRECISION_TERM = 0.25 * log(sys.float_info.min)


def _everygram_total(length: int) -> int:
    # sum(max(0, length - n + 1) for n in 1..4)
    return 4 * length - 6 if length >= MAX_N else length * (length + 1) // 2


class _Reference:
    """A reference's tokens; its n-gram counts per order (BLEU) or of all orders (GLEU) on demand."""

    __slots__ = ("tokens", "length", "_orders", "_all")

    def __init__(self, text: str) -> None:
        self.tokens = text.split()
        self.length = len(self.tokens)
        self._orders: list[Counts] | None = None
        self._all: Counts | None = None

    def orders(self) -> list[Counts]:
        if self._orders is None:
            self._orders = [counts(ngrams(self.tokens, n)) for n in range(1, MAX_N + 1)]
        return self._orders

    def all_orders(self) -> Counts:
        if self._all is None:
            self._all = counts(everygrams(self.tokens, MAX_N))
        return self._all


_reference = lru_cache(maxsize=256)(_Reference)


def bleu(prediction: str, reference: str) -> float:
    """nltk sentence_bleu: weights (0.25,)*4, no smoothing, auto_reweigh=False."""
    hyp = prediction.split()
    hyp_len = len(hyp)
    if hyp_len == 0:
        return 0.0  # no unigram matches: nltk returns 0
    ref = _reference(reference)
    mask = repeat_mask(hyp)
    orders = ref.orders()
    terms = []
    for n in range(1, MAX_N + 1):
        found = matches(hyp, n, orders[n - 1], mask)
        if not found:
            if n == 1:
                return 0.0
            # nltk's method0 stand-in for a zero precision; no higher order can match either.
            terms += [_ZERO_PRECISION_TERM] * (MAX_N + 1 - n)
            break
        terms.append(0.25 * log(found / max(1, hyp_len - n + 1)))
    ref_len = ref.length
    brevity = 1.0 if hyp_len > ref_len else exp(1 - ref_len / hyp_len)
    return brevity * exp(fsum(terms))


def gleu(prediction: str, reference: str) -> float:
    """nltk sentence_gleu: n-grams of orders 1..4, matches / max(hyp n-grams, ref n-grams)."""
    hyp = prediction.split()
    ref = _reference(reference)
    total = max(_everygram_total(len(hyp)), _everygram_total(ref.length))
    if total == 0:
        return 0.0
    return matches4(hyp, ref._all or ref.all_orders()) / total
