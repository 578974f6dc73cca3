"""Clipped n-gram matches against a cached reference, with every per-n-gram loop in C.

The clipped match count of hypothesis n-grams H against reference n-grams R is
``sum(min(H[g], R[g]))``. Written as

    (occurrences of hypothesis n-grams that R contains) - sum(max(0, H[g] - R[g]))

the first part is one C pass of ``R.__contains__`` over the hypothesis n-grams (no
dict is built for the hypothesis), and the correction is non-zero only for n-grams
the hypothesis repeats. Such an n-gram starts with a token the hypothesis repeats,
so only n-grams starting at those positions are ever counted: usually none at all.
The reference side is counted once per reference string and cached by the callers.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from itertools import chain, compress
from operator import countOf
from typing import Any

try:
    from collections import _count_elements as count_into  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - CPython always has it

    def count_into(mapping: dict[Hashable, int], iterable: Iterable[Hashable]) -> None:
        get = mapping.get
        for item in iterable:
            mapping[item] = get(item, 0) + 1


Counts = dict[Hashable, int]
_above_one = (1).__lt__


def ngrams(tokens: Sequence[Any], n: int) -> Iterable[Any]:
    """The n-grams of ``tokens``: the tokens themselves for n=1, tuples otherwise.

    Keys of different orders never meet (a token is not a tuple; tuples differ in length).
    """
    if n == 1:
        return iter(tokens)
    if n == 2:
        return zip(tokens, tokens[1:])
    return zip(*[tokens[k:] for k in range(n)])


def everygrams(tokens: Sequence[Any], max_n: int) -> Iterable[Any]:
    """All n-grams of orders 1..max_n (nltk ``everygrams(t, 1, max_n)`` as a multiset)."""
    return chain.from_iterable([ngrams(tokens, n) for n in range(1, max_n + 1)])


def counts(grams: Iterable[Hashable]) -> Counts:
    out: Counts = {}
    count_into(out, grams)
    return out


def repeat_mask(tokens: Sequence[Any]) -> list[bool] | None:
    """Per position: does that token occur more than once? None when no token repeats."""
    if len(set(tokens)) == len(tokens):
        return None
    c = counts(tokens)
    repeated = set(compress(c, map(_above_one, c.values())))
    return list(map(repeated.__contains__, tokens))


def _excess(candidates: Iterable[Hashable], ref: Counts) -> int:
    """sum(max(0, H[g] - R[g])) over ``candidates``, which hold every repeated hypothesis n-gram."""
    found = counts(candidates)
    repeated = list(compress(found, map(_above_one, found.values())))
    if not repeated:
        return 0
    hyp = list(map(found.__getitem__, repeated))
    # sum(h - min(h, r)) == sum(max(0, h - r)). An n-gram the reference lacks was never
    # counted as found, so it owes nothing: its r defaults to h.
    return sum(hyp) - sum(map(min, hyp, map(ref.get, repeated, hyp)))


def matches(tokens: Sequence[Any], n: int, ref: Counts, mask: list[bool] | None) -> int:
    """Clipped matches of the order-n n-grams of ``tokens`` in ``ref`` (``mask``: repeat_mask(tokens))."""
    found = countOf(map(ref.__contains__, ngrams(tokens, n)), True)
    if mask is None or not found:
        return found
    return found - _excess(compress(ngrams(tokens, n), mask), ref)


def matches_upto(tokens: Sequence[Any], max_n: int, ref: Counts, mask: list[bool] | None) -> int:
    """Clipped matches summed over orders 1..max_n; ``ref`` holds the n-grams of every order."""
    found = countOf(map(ref.__contains__, everygrams(tokens, max_n)), True)
    if mask is None or not found:
        return found
    candidates = chain.from_iterable([compress(ngrams(tokens, n), mask) for n in range(1, max_n + 1)])
    return found - _excess(candidates, ref)


def matches4(t: list[Any], ref: Counts) -> int:
    """matches_upto(t, 4, ref, repeat_mask(t)), unrolled: GLEU's whole hot path."""
    t1, t2, t3 = t[1:], t[2:], t[3:]
    found = countOf(map(ref.__contains__, chain(t, zip(t, t1), zip(t, t1, t2), zip(t, t1, t2, t3))), True)
    if not found or len(set(t)) == len(t):
        return found
    mask = repeat_mask(t)
    assert mask is not None
    return found - _excess(
        chain(
            compress(t, mask),
            compress(zip(t, t1), mask),
            compress(zip(t, t1, t2), mask),
            compress(zip(t, t1, t2, t3), mask),
        ),
        ref,
    )
