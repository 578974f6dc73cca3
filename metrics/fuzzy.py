"""fuzzy_match = ``rapidfuzz.fuzz.ratio(input, reference) / 100``, no processor (SEMANTICS §5)."""

from __future__ import annotations

from rapidfuzz.fuzz import ratio


def fuzzy_match(prediction: str, reference: str) -> float:
    # Same call and the same division as the reference: bit-identical, not just close.
    return ratio(prediction, reference) / 100.0
