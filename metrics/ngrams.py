"""Clipped n-gram matches of a hypothesis against a cached reference, without building n-grams.

The clipped match count of hypothesis n-grams H against reference n-grams R is
``sum(min(H[g], R[g]))``. Building every n-gram of both texts as a tuple and hashing
it costs more than all the rest of a metric, so the matches come from one big int
instead: the token-equality matrix E, bit ``i*W + j`` set iff ``hyp[i] == ref[j]``
(row width W a power of two >= len(ref) + 4, so the padding is zero). Its rows are
bytes looked up per hypothesis token and joined in C. The n-gram at hypothesis
position i equals the one at reference position j iff E(i+k, j+k) for k < n, so

    S_n = E & (E >> (W+1)) & (E >> 2(W+1)) & ...      (n-1 shifts along the diagonal)

has row i non-zero iff the reference holds hypothesis n-gram i, and row i's popcount
is R[g] for that n-gram. ``found = #{i : row i != 0} = sum over g in R of H[g]`` takes
a handful of C big-int operations per order: when no reference token repeats, every row
has at most one bit and ``found`` is S_n's popcount; otherwise each row is OR-folded
into its first 64-bit word and the zero words are counted over a memoryview.

``found`` is the clipped count unless the hypothesis repeats an n-gram the reference
holds fewer times: then two rows of S_n share a column, which OR-folding the rows
(log2 rows shift-ors) reveals, so usually nothing more is done. Otherwise such an n-gram
starts with a token the hypothesis repeats and the reference holds, so only those
positions are looked at, and ``sum(max(0, H[g] - R[g]))`` is taken over them.
Long references and huge hypotheses fall back to counting tuple n-grams (``_counted``).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Sequence
from functools import lru_cache
from itertools import compress, repeat
from operator import countOf, is_not, lshift
from typing import Any

try:
    from collections import _count_elements as count_into  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - CPython always has it

    def count_into(mapping: dict[Hashable, int], iterable: Iterable[Hashable]) -> None:
        get = mapping.get
        for item in iterable:
            mapping[item] = get(item, 0) + 1


Counts = dict[Hashable, int]

# The optional C kernel (metrics/_ngram_kernel.c, built when a compiler is present):
# kernel(hyp, ref, max_n) -> the clipped matches of orders 1..max_n (0 after the first 0).
# Exactly the numbers of the pure-Python path below, which is used when it is None; the
# metrics read this attribute on every call, so tests can switch paths.
Kernel = Callable[[Sequence[Any], Sequence[Any], int], list[int]]
kernel: Kernel | None
# kernel_ids(ref, hyp) -> (ref_ids, hyp_ids): tokens as ints for rapidfuzz's LCS (ROUGE-L).
KernelIds = Callable[[Sequence[Any], Sequence[Any]], tuple[list[int], list[int]]]
kernel_ids: KernelIds | None
try:
    from metrics._ngram_kernel import clipped as kernel
    from metrics._ngram_kernel import ids as kernel_ids
except ImportError:  # no compiler at install time: the pure-Python path
    kernel = None
    kernel_ids = None
MAX_ORDER = 5  # rouge_5; the row padding W - len(ref) covers n - 1 <= 4
MIN_WIDTH = 64  # rows of one machine word: zero rows are counted over a memoryview
# Longer references count tuples instead. Measured here: for one order (ROUGE-N) counting
# wins from ~60 tokens; for orders 1..4 at once (BLEU, GLEU) the matrix wins up to ~1,000.
ONE_ORDER_TOKENS = 60
ALL_ORDERS_TOKENS = 1000
MATRIX_BITS = 1 << 22  # above this (512 KiB per big int) count tuples instead


def counts(items: Iterable[Hashable]) -> Counts:
    out: Counts = {}
    count_into(out, items)
    return out


def ngrams(tokens: Sequence[Any], n: int) -> Iterable[Any]:
    """The n-grams of ``tokens``: the tokens themselves for n=1, tuples otherwise."""
    if n == 1:
        return iter(tokens)
    return zip(*[tokens[k:] for k in range(n)])


@lru_cache(maxsize=8)
def _one_bit_rows(row_bytes: int) -> tuple[bytes, ...]:
    """Row bytes with only bit j set, for every j in the row."""
    return tuple((1 << j).to_bytes(row_bytes, "little") for j in range(8 * row_bytes))


_ONE_BIT_WORDS = _one_bit_rows(MIN_WIDTH // 8)
_ZERO_WORD = bytes(MIN_WIDTH // 8)


class RefIndex:
    """A reference's tokens and, per distinct token, its matrix row (bytes of W bits)."""

    __slots__ = ("tokens", "width", "row_bytes", "rows", "zero", "distinct", "_counts")

    def __init__(self, tokens: Sequence[Any], max_tokens: int) -> None:
        self.tokens = tokens
        self._counts: dict[int, Counts] = {}
        size = len(tokens)
        if size > max_tokens:
            self.width = 0  # long: tuples are counted instead (``counts``)
            return
        if size <= MIN_WIDTH - MAX_ORDER + 1:  # the usual case: one 64-bit word per row
            self.width, self.row_bytes, self.zero = MIN_WIDTH, 8, _ZERO_WORD
            one_bit = _ONE_BIT_WORDS
        else:
            width = MIN_WIDTH
            while width < size + MAX_ORDER - 1:
                width <<= 1
            self.width = width
            self.row_bytes = row_bytes = width // 8
            self.zero = bytes(row_bytes)
            one_bit = _one_bit_rows(row_bytes)  # max_tokens <= ALL_ORDERS_TOKENS keeps these small
        self.rows = rows = dict(zip(tokens, one_bit))  # a repeated token keeps its last bit
        self.distinct = len(rows) == size
        if self.distinct:
            return
        # Positions that are not their token's last occurrence: few, found in C. OR their
        # bits into their token's row.
        earlier = compress(range(size), map(is_not, map(rows.__getitem__, tokens), one_bit))
        at: dict[Any, list[int]] = {}
        for j in earlier:
            at.setdefault(tokens[j], []).append(j)
        row_bytes = self.row_bytes
        for token, positions in at.items():
            mask = int.from_bytes(rows[token], "little") | sum(map(lshift, repeat(1), positions))
            rows[token] = mask.to_bytes(row_bytes, "little")

    def counts(self, n: int) -> Counts:
        """The reference's order-n n-gram counts (only for the large-text fallback)."""
        found = self._counts.get(n)
        if found is None:
            found = self._counts[n] = counts(ngrams(self.tokens, n))
        return found


def clipped_counts(grams: Iterable[Hashable], ref_counts: Counts) -> int:
    """sum(min(H[g], R[g])) by counting the hypothesis's n-grams ``grams``."""
    hyp = counts(grams)
    hyp_counts = list(hyp.values())
    return sum(map(min, hyp_counts, map(ref_counts.get, hyp, repeat(0))))


def _counted(tokens: Sequence[Any], ref: RefIndex, n: int) -> int:
    """sum(min(H[g], R[g])) by counting tuples: the large-text fallback."""
    return clipped_counts(ngrams(tokens, n), ref.counts(n))


def _found(s: int, rows: int, ref: RefIndex) -> int:
    """#{i : row i of S != 0} over ``rows`` rows."""
    if ref.distinct:
        return s.bit_count()  # at most one bit per row
    width = ref.width
    shift = width >> 1
    while shift >= 64:  # fold each row into its first 64-bit word
        s |= s >> shift
        shift >>= 1
    words = memoryview(s.to_bytes(rows * ref.row_bytes, "little")).cast("Q")
    if width > 64:
        words = words[:: width // 64]
    return rows - countOf(words, 0)


def _repeated(s: int, rows: int, width: int) -> bool:
    """Does the hypothesis repeat an n-gram that the reference holds (S = S_n)?

    Two hypothesis n-grams that equal reference n-gram j set column j in two rows, so
    OR-ing all rows into one loses bits exactly then: popcount(OR of rows) < popcount(S).
    """
    t = s
    k = 1
    while k < rows:
        t |= t >> (k * width)
        k <<= 1
    return (t & ((1 << width) - 1)).bit_count() < s.bit_count()


def _repeats(row_list: list[bytes], ref: RefIndex) -> list[int]:
    """Positions whose token the hypothesis repeats and the reference holds."""
    c = counts(row_list)
    c[ref.zero] = 0
    return [i for i, row in enumerate(row_list) if c[row] > 1]


def _excess(tokens: Sequence[Any], positions: list[int], n: int, s: int, ref: RefIndex) -> int:
    """sum(max(0, H[g] - R[g])) over the order-n n-grams starting at ``positions``
    (which hold every repeated n-gram the reference holds)."""
    groups: dict[Any, int] = {}
    first: dict[Any, int] = {}
    last = len(tokens) - n
    for i in positions:
        if i <= last:
            gram = tokens[i] if n == 1 else tuple(tokens[i : i + n])
            if gram in groups:
                groups[gram] += 1
            else:
                groups[gram] = 1
                first[gram] = i
    excess = 0
    row_bytes = ref.row_bytes
    data = b""
    for gram, hyp_count in groups.items():
        if hyp_count > 1:
            if not data:
                data = s.to_bytes(len(tokens) * row_bytes, "little")
            start = first[gram] * row_bytes
            ref_count = int.from_bytes(data[start : start + row_bytes], "little").bit_count()
            if hyp_count > ref_count > 0:
                excess += hyp_count - ref_count
    return excess


def clipped_per_order(tokens: Sequence[Any], ref: RefIndex, max_n: int) -> list[int]:
    """Clipped matches of orders 1..max_n; stops after the first 0 (no longer n-gram can
    match then), so the list may be shorter than max_n."""
    rows = len(tokens)
    width = ref.width
    if not width or rows * width > MATRIX_BITS:
        out = []
        for n in range(1, max_n + 1):
            out.append(_counted(tokens, ref, n))
            if not out[-1]:
                break
        return out
    zero = ref.zero
    row_list = list(map(ref.rows.get, tokens, repeat(zero)))
    e = s = int.from_bytes(b"".join(row_list), "little")
    # order 1: every row with a bit is a match
    held = e.bit_count() if ref.distinct else rows - row_list.count(zero)
    if held < 2:
        return [held]
    sets = [s]
    found = [held]
    step = width + 1
    for n in range(1, max_n):
        s &= e >> (n * step)
        f = _found(s, rows, ref)
        found.append(f)
        if not f:
            break
        sets.append(s)
    positions: list[int] = []
    for n, s in enumerate(sets, 1):
        if not _repeated(s, rows, width):
            break  # no repeated n-gram held, so no longer one either
        if n == 1:
            found[0] = clipped_counts(tokens, ref.counts(1))  # one C count per side
            continue
        if not positions:
            positions = _repeats(row_list, ref)
        found[n - 1] -= _excess(tokens, positions, n, s, ref)
    return found


def clipped_order(tokens: Sequence[Any], ref: RefIndex, n: int) -> int:
    """Clipped matches of the order-n n-grams of ``tokens``."""
    rows = len(tokens)
    width = ref.width
    if not width or rows * width > MATRIX_BITS:
        return _counted(tokens, ref, n)
    zero = ref.zero
    row_list = list(map(ref.rows.get, tokens, repeat(zero)))
    e = s = int.from_bytes(b"".join(row_list), "little")
    held = e.bit_count() if ref.distinct else rows - row_list.count(zero)
    if held < n:
        return 0  # an n-gram match needs n hypothesis tokens the reference holds
    step = width + 1
    for k in range(1, n):
        s &= e >> (k * step)
    found = _found(s, rows, ref)
    if found < 2 or not _repeated(s, rows, width):
        return found
    return found - _excess(tokens, _repeats(row_list, ref), n, s, ref)
