"""METEOR, exactly nltk's ``meteor_score([reference_tokens], hypothesis_tokens)`` with its
defaults (preprocess=str.lower, PorterStemmer(), WordNet 3.0, alpha=0.9, beta=3, gamma=0.5).

Tokens are ``str.split()`` [ours, SEMANTICS §5]. nltk aligns in three stages, each on what
the previous one left unmatched, walking the hypothesis from its last word to its first
and taking the highest still-free reference position:

1. exact match of the lower-cased words;
2. exact match of their Porter stems; from here on both sides are the *stems*;
3. a hypothesis stem matches a reference stem that is one of its WordNet synonyms
   (lemma names without "_" of ``wordnet.synsets(stem)``, plus the stem itself).

Then P = m/len(hyp), R = m/len(ref), Fmean = P*R / (0.9*P + 0.1*R), and the score is
Fmean * (1 - 0.5 * (chunks/m)**3). Stems and synonym sets are memoised per word; a
reference's tokens and stems are cached across rows. nltk itself is never imported
(that alone takes ~0.8 s): the stemmer is vendored (metrics/porter.py) and WordNet
comes from the compact index in metrics/wordnet.py.
"""

from __future__ import annotations

from functools import lru_cache
from itertools import compress
from operator import and_, countOf, sub

from typing import TYPE_CHECKING

from metrics.porter import PorterStemmer

if TYPE_CHECKING:
    from metrics.wordnet import Index

ALPHA, BETA, GAMMA = 0.9, 3.0, 0.5
_NOT_MATCHED, _ONE = -1, 1
_MEMO_LIMIT = 200_000  # distinct words remembered before a memo is emptied

_stemmer = PorterStemmer()
_index: Index | None = None
_stems: dict[str, str] = {}
_synonyms: dict[str, frozenset[str]] = {}


def stem(word: str) -> str:
    found = _stems.get(word)
    if found is None:
        if len(_stems) >= _MEMO_LIMIT:
            _stems.clear()
        found = _stems[word] = _stemmer.stem(word)
    return found


def wordnet_index() -> Index:
    """The WordNet index, loaded on first use (raises WordNetMissing naming the install command)."""
    global _index
    if _index is None:
        # imported here so that `python -m metrics.wordnet` does not import itself twice
        from metrics import wordnet

        _index = wordnet.index()
    return _index


def synonyms(word: str) -> frozenset[str]:
    found = _synonyms.get(word)
    if found is None:
        if len(_synonyms) >= _MEMO_LIMIT:
            _synonyms.clear()
        found = _synonyms[word] = (_index or wordnet_index()).synonyms(word)
    return found


class _Reference:
    __slots__ = ("words", "positions", "_stems")

    def __init__(self, text: str) -> None:
        self.words = [t.lower() for t in text.split()]
        positions: dict[str, list[int]] = {}
        for j, word in enumerate(self.words):
            positions.setdefault(word, []).append(j)
        self.positions = positions
        self._stems: list[str] | None = None

    def stems(self) -> list[str]:
        if self._stems is None:
            self._stems = [stem(w) for w in self.words]
        return self._stems


_reference = lru_cache(maxsize=256)(_Reference)


def _match_stage(
    hyp: list[tuple[int, str]], ref: list[tuple[int, str]], match: list[int]
) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    """nltk ``_match_enums``: equal words, last hypothesis word first, highest free reference
    position first. Records hyp index -> ref index in ``match``; returns what is left."""
    positions: dict[str, list[int]] = {}
    for k, (_, word) in enumerate(ref):
        positions.setdefault(word, []).append(k)
    taken: set[int] = set()
    for i, word in reversed(hyp):
        free = positions.get(word)
        if free:
            k = free.pop()
            taken.add(k)
            match[i] = ref[k][0]
    return [p for p in hyp if match[p[0]] < 0], [p for k, p in enumerate(ref) if k not in taken]


def _synonym_stage(hyp: list[tuple[int, str]], ref: list[tuple[int, str]], match: list[int]) -> None:
    """nltk ``_enum_wordnetsyn_match``: the highest free reference position whose stem is a
    synonym of the hypothesis stem (positions are unique, so the set's order cannot matter)."""
    positions: dict[str, list[int]] = {}
    for k, (_, word) in enumerate(ref):
        positions.setdefault(word, []).append(k)
    for i, word in reversed(hyp):
        syns = synonyms(word)
        best, best_word = -1, ""
        # Look up whichever side is smaller; the maximum over the intersection is the same.
        candidates = syns if len(syns) <= len(positions) else positions.keys() & syns
        for syn in candidates:
            free = positions.get(syn)
            if free and free[-1] > best:
                best, best_word = free[-1], syn
        if best >= 0:
            positions[best_word].pop()
            match[i] = ref[best][0]


def meteor(prediction: str, reference: str) -> float:
    # Every row needs WordNet, even one whose words all match exactly: without it every
    # row fails alike (MetricUnavailableError naming the install command), never some.
    _index or wordnet_index()
    hyp_words = [t.lower() for t in prediction.split()]
    ref = _reference(reference)
    hyp_len, ref_len = len(hyp_words), len(ref.words)
    if hyp_len == 0 or ref_len == 0:
        return 0.0  # nltk: ZeroDivisionError -> 0.0
    # Stage 1 on the cached reference positions.
    free_lists = list(map(ref.positions.get, hyp_words))
    if len(set(hyp_words)) == hyp_len:
        # each word occurs once in the hypothesis: it takes the word's last reference position
        match = [free[-1] if free else -1 for free in free_lists]
    else:
        match = [-1] * hyp_len  # hyp index -> ref index
        used: dict[str, int] = {}  # uses per word, instead of popping from the cached lists
        for i in range(hyp_len - 1, -1, -1):
            free = free_lists[i]
            if free:
                word = hyp_words[i]
                k = used.get(word, 0)
                if k < len(free):
                    used[word] = k + 1
                    match[i] = free[-1 - k]
    matched = hyp_len - match.count(-1)

    if matched < hyp_len and matched < ref_len:
        taken = set(match)
        ref_stems = ref.stems()
        hyp_left = [(i, stem(hyp_words[i])) for i in range(hyp_len) if match[i] < 0]
        ref_left = [(j, ref_stems[j]) for j in range(ref_len) if j not in taken]
        hyp_left, ref_left = _match_stage(hyp_left, ref_left, match)
        if hyp_left and ref_left:
            _synonym_stage(hyp_left, ref_left, match)
        matched = hyp_len - match.count(-1)

    if matched == 0:
        return 0.0
    # nltk _count_chunks: 1 + the number of neighbours (in hypothesis order) that are not
    # adjacent in both sentences.
    hyp_idx = list(compress(range(hyp_len), map(_NOT_MATCHED.__lt__, match)))
    ref_idx = [match[i] for i in hyp_idx]
    adjacent = countOf(
        map(and_, map(_ONE.__eq__, map(sub, hyp_idx[1:], hyp_idx)), map(_ONE.__eq__, map(sub, ref_idx[1:], ref_idx))),
        True,
    )
    chunks = matched - adjacent
    precision = float(matched) / hyp_len
    recall = float(matched) / ref_len
    fmean = (precision * recall) / (ALPHA * precision + (1 - ALPHA) * recall)
    frag_frac = float(chunks) / matched
    penalty: float = GAMMA * frag_frac**BETA  # float ** float is typed Any (it could be complex)
    return (1 - penalty) * fmean
