"""A cache keyed by an object's identity, for values derived from a grader that a batch
reuses row after row (its compiled formula, whether it waits on I/O).

Pydantic models are not hashable, and hashing one by value would cost more than the value
saves; identity is exact because each entry keeps its object alive, so the id cannot be
reused by another object while cached.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class by_identity(Generic[K, V]):  # lower case: used as a decorator, like functools.cache
    """``@by_identity`` on a one-argument function: its result, cached per argument object."""

    def __init__(self, compute: Callable[[K], V], size: int = 256) -> None:
        self.compute = compute
        self.size = size
        self.entries: dict[int, tuple[K, V]] = {}

    def __call__(self, key: K) -> V:
        hit = self.entries.get(id(key))
        if hit is not None and hit[0] is key:
            return hit[1]
        value = self.compute(key)  # an exception caches nothing
        if len(self.entries) >= self.size:
            self.entries.clear()
        self.entries[id(key)] = (key, value)
        return value
