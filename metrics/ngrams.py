"""Clipped n-gram overlap with every per-n-gram loop in C.

The clipped match count of two multisets is ``sum(min(a[g], b[g]))`` over shared
n-grams. Since ``min(a, b) = 1 + (min(a, b) - 1)`` and the second part is non-zero
only when *both* counts exceed one, it equals ``len(shared)`` plus a correction over
the (few) n-grams repeated on both sides. Counting feeds ``collections._count_elements``
(the C loop behind ``Counter``) a plain dict; intersections are dict-view set ops.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from itertools import chain, compress
from typing import Any

try:
    from collections import _count_elements as count_into  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - CPython always has it

    def count_into(mapping: dict[Hashable, int], iterable: Iterable[Hashable]) -> None:
        get = mapping.get
        for item in iterable:
            mapping[item] = get(item, 0) + 1


Counts = dict[Hashable, int]


def ngrams(tokens: Sequence[Any], n: int) -> Iterable[tuple[Any, ...]]:
    return zip(*(tokens[k:] for k in range(n)))


def everygrams(tokens: Sequence[Any], max_n: int) -> Iterable[tuple[Any, ...]]:
    """All n-grams of orders 1..max_n as tuples (unigrams as 1-tuples), so len() is the order."""
    return chain.from_iterable(ngrams(tokens, n) for n in range(1, max_n + 1))


def counts(grams: Iterable[Hashable]) -> Counts:
    out: Counts = {}
    count_into(out, grams)
    return out


def repeated(c: Counts) -> Counts:
    """The entries counted more than once (usually few or none), found in C."""
    keys = list(compress(c, map((1).__lt__, c.values())))
    return dict(zip(keys, map(c.__getitem__, keys)))


class Side:
    """One text's n-gram counts, ready to be intersected many times (a cached reference)."""

    __slots__ = ("counts", "total", "repeats")

    def __init__(self, grams: Iterable[Hashable], total: int) -> None:
        self.counts = counts(grams)
        self.total = total  # how many n-grams were counted
        self.repeats = repeated(self.counts) if len(self.counts) < self.total else {}


def shared_and_extra(hyp: Counts, hyp_total: int, ref: Side) -> tuple[set[Hashable], list[tuple[Hashable, int]]]:
    """The shared n-grams, and (n-gram, min(count) - 1) for those repeated on both sides."""
    shared = hyp.keys() & ref.counts.keys()
    extra: list[tuple[Hashable, int]] = []
    if ref.repeats and len(hyp) < hyp_total:
        for gram in ref.repeats.keys() & shared:
            k = hyp[gram]
            if k > 1:
                r = ref.repeats[gram]
                extra.append((gram, (k if k < r else r) - 1))
    return shared, extra


def overlap(hyp: Counts, hyp_total: int, ref: Side) -> int:
    """sum(min(hyp[g], ref[g])) over shared n-grams."""
    shared, extra = shared_and_extra(hyp, hyp_total, ref)
    return len(shared) + sum(k for _, k in extra)
