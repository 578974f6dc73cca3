"""ROUGE-N and ROUGE-L, exactly google rouge-score's ``RougeScorer([t], use_stemmer=False)
.score(reference, prediction)[t].fmeasure``, with that library's tokenizer.

rouge_score.tokenize lower-cases, replaces every run of characters outside [a-z0-9]
with a space, splits on whitespace and keeps the non-empty tokens. Every non-ASCII
character encodes to UTF-8 bytes >= 0x80, so the same tokens come from the text's UTF-8
bytes with A-Z translated to a-z and every other byte outside [a-z0-9] to a space: a
C-speed tokenizer whose tokens are ``bytes``. Lower-casing the whole text first is not
needed: only two non-ASCII characters lower-case to anything in [a-z0-9] (U+0130 to
"i" + U+0307, U+212A to "k"; tests check all of Unicode), and they are replaced first. ROUGE-L's LCS runs in rapidfuzz's bit-parallel C
code on token ids. A reference's tokens, n-gram counts and ids are cached across rows.
"""

from __future__ import annotations

from functools import lru_cache

from rapidfuzz.distance import LCSseq

from metrics import ngrams
from metrics.ngrams import ONE_ORDER_TOKENS, Counts, RefIndex, clipped_counts, clipped_order, counts

_KEEP = set(b"abcdefghijklmnopqrstuvwxyz0123456789")
# A-Z -> a-z, a-z and 0-9 kept, every other byte (all of UTF-8's non-ASCII bytes) -> space
_LOWER_OR_SPACE = bytes(b + 32 if 65 <= b <= 90 else b if b in _KEEP else 0x20 for b in range(256))
# the non-ASCII characters whose str.lower() holds a character of [a-z0-9]
LOWER_TO_ASCII = {"\u0130": "i ", "\u212a": "k"}  # "i\u0307": U+0307 is a separator


def tokens(text: str) -> list[bytes]:
    """rouge_score.tokenize.tokenize(text, stemmer=None), as ASCII bytes."""
    if not text.isascii():
        for char, lowered in LOWER_TO_ASCII.items():
            if char in text:
                text = text.replace(char, lowered)
        # surrogatepass: a lone surrogate (possible from JSON) becomes bytes >= 0x80: a separator
        return text.encode("utf-8", "surrogatepass").translate(_LOWER_OR_SPACE).split()
    return text.encode().translate(_LOWER_OR_SPACE).split()


def tokenize(text: str) -> list[str]:
    return [t.decode("ascii") for t in tokens(text)]


class _Reference:
    __slots__ = ("tokens", "_index", "_unigrams", "_vocab", "_ids")

    def __init__(self, text: str) -> None:
        self.tokens = tokens(text)
        self._index: RefIndex | None = None
        self._unigrams: Counts | None = None
        self._vocab: dict[bytes, int] | None = None
        self._ids: list[int] = []

    def unigrams(self) -> Counts:
        if self._unigrams is None:
            self._unigrams = counts(self.tokens)
        return self._unigrams

    def index(self) -> RefIndex:
        if self._index is None:
            self._index = RefIndex(self.tokens, ONE_ORDER_TOKENS)
        return self._index

    def ids(self) -> tuple[list[int], dict[bytes, int]]:
        if self._vocab is None:
            vocab: dict[bytes, int] = {}
            self._ids = [vocab.setdefault(t, len(vocab)) for t in self.tokens]
            self._vocab = vocab
        return self._ids, self._vocab


_reference = lru_cache(maxsize=256)(_Reference)
_prediction_tokens = lru_cache(maxsize=64)(tokens)  # rouge_1..rouge_l on one sample tokenise once
_reference_tokens = lru_cache(maxsize=256)(tokens)  # the C kernel needs no other reference state


def _fmeasure(precision: float, recall: float) -> float:
    # rouge_score.scoring.fmeasure
    if precision + recall > 0:
        return 2 * precision * recall / (precision + recall)
    return 0.0


def rouge_n(n: int, prediction: str, reference: str) -> float:
    kernel = ngrams.kernel
    if kernel is not None:
        pred = _prediction_tokens(prediction)
        ref_tokens = _reference_tokens(reference)
        if len(pred) < n:
            return 0.0
        found = kernel(pred, ref_tokens, n)[n - 1]
        if not found:
            return 0.0
        precision = found / (len(pred) - n + 1)
        recall = found / max(len(ref_tokens) - n + 1, 1)
        return 2 * precision * recall / (precision + recall)
    ref = _reference(reference)
    pred = _prediction_tokens(prediction)
    pred_total = len(pred) - n + 1
    if pred_total <= 0:
        found = 0
    elif n == 1:  # one C count per side beats the matrix for unigrams
        found = clipped_counts(pred, ref.unigrams())
    else:
        found = clipped_order(pred, ref.index(), n)
    if not found:
        return 0.0  # rouge_score.scoring.fmeasure of zero precision and recall
    precision = found / max(pred_total, 1)
    recall = found / max(len(ref.tokens) - n + 1, 1)
    return 2 * precision * recall / (precision + recall)


def rouge_l(prediction: str, reference: str) -> float:
    pred = _prediction_tokens(prediction)
    kernel_ids = ngrams.kernel_ids
    if kernel_ids is not None:
        ref_tokens = _reference_tokens(reference)
        if not ref_tokens or not pred:
            return 0.0
        # Token ids made in C (exact dict equality), then rapidfuzz's C LCS over them.
        lcs = LCSseq.similarity(*kernel_ids(ref_tokens, pred))
        return _fmeasure(lcs / len(pred), lcs / len(ref_tokens))
    ref = _reference(reference)
    if not ref.tokens or not pred:
        return 0.0
    ref_ids, vocab = ref.ids()
    unseen = len(vocab)  # one id for every token the reference lacks: it can match nothing
    lcs = LCSseq.similarity(ref_ids, [vocab.get(t, unseen) for t in pred])
    return _fmeasure(lcs / len(pred), lcs / len(ref.tokens))
