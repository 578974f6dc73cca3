"""ROUGE-N and ROUGE-L, exactly google rouge-score's ``RougeScorer([t], use_stemmer=False)
.score(reference, prediction)[t].fmeasure``, with that library's tokenizer.

rouge_score.tokenize lower-cases, replaces every run of characters outside [a-z0-9]
with a space, splits on whitespace and keeps the non-empty tokens. Every non-ASCII
character encodes to UTF-8 bytes >= 0x80, so the same tokens come from the lower-cased
text's UTF-8 bytes with every byte outside [a-z0-9] translated to a space: a C-speed
tokenizer whose tokens are ``bytes``. ROUGE-L's LCS runs in rapidfuzz's bit-parallel C
code on token ids. A reference's tokens, n-gram counts and ids are cached across rows.
"""

from __future__ import annotations

from functools import lru_cache

from rapidfuzz.distance import LCSseq

from metrics.ngrams import Counts, counts, matches, ngrams, repeat_mask

_KEEP = set(b"abcdefghijklmnopqrstuvwxyz0123456789")
_TO_SPACE = bytes(b if b in _KEEP else 0x20 for b in range(256))


def tokens(text: str) -> list[bytes]:
    """rouge_score.tokenize.tokenize(text, stemmer=None), as ASCII bytes."""
    # surrogatepass: a lone surrogate (possible from JSON) becomes bytes >= 0x80, i.e. a separator
    return text.lower().encode("utf-8", "surrogatepass").translate(_TO_SPACE).split()


def tokenize(text: str) -> list[str]:
    return [t.decode("ascii") for t in tokens(text)]


class _Reference:
    __slots__ = ("tokens", "_counts", "_vocab", "_ids")

    def __init__(self, text: str) -> None:
        self.tokens = tokens(text)
        self._counts: dict[int, Counts] = {}
        self._vocab: dict[bytes, int] | None = None
        self._ids: list[int] = []

    def counts(self, n: int) -> Counts:
        found = self._counts.get(n)
        if found is None:
            found = self._counts[n] = counts(ngrams(self.tokens, n))
        return found

    def ids(self) -> tuple[list[int], dict[bytes, int]]:
        if self._vocab is None:
            vocab: dict[bytes, int] = {}
            self._ids = [vocab.setdefault(t, len(vocab)) for t in self.tokens]
            self._vocab = vocab
        return self._ids, self._vocab


_reference = lru_cache(maxsize=256)(_Reference)
_prediction_tokens = lru_cache(maxsize=64)(tokens)  # rouge_1..rouge_l on one sample tokenise once


def _fmeasure(precision: float, recall: float) -> float:
    # rouge_score.scoring.fmeasure
    if precision + recall > 0:
        return 2 * precision * recall / (precision + recall)
    return 0.0


def rouge_n(n: int, prediction: str, reference: str) -> float:
    ref = _reference(reference)
    pred = _prediction_tokens(prediction)
    pred_total = len(pred) - n + 1
    found = matches(pred, n, ref.counts(n), repeat_mask(pred)) if pred_total > 0 else 0
    precision = found / max(pred_total, 1)
    recall = found / max(len(ref.tokens) - n + 1, 1)
    return _fmeasure(precision, recall)


def rouge_l(prediction: str, reference: str) -> float:
    ref = _reference(reference)
    pred = _prediction_tokens(prediction)
    if not ref.tokens or not pred:
        return 0.0
    ref_ids, vocab = ref.ids()
    unseen = len(vocab)  # one id for every token the reference lacks: it can match nothing
    lcs = LCSseq.similarity(ref_ids, [vocab.get(t, unseen) for t in pred])
    return _fmeasure(lcs / len(pred), lcs / len(ref.tokens))
