"""METEOR equals nltk's ``meteor_score([ref], hyp)`` with WordNet 3.0, read offline.

These tests never skip: `make install` installs WordNet (Debian wordnet-base); without
it they fail with the install command. The oracle is nltk itself, reading the same
WordNet files through its own reader (metrics/reference.py).
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

import pytest

from metrics import METRICS, clear_caches, corpus, reference, wordnet
from metrics.meteor_score import meteor
from metrics.porter import PorterStemmer

TOLERANCE = 1e-9


@pytest.fixture(scope="module")
def nltk_wordnet() -> object:
    try:
        wordnet.find_source()
    except wordnet.WordNetMissing as exc:  # fail, do not skip: CI must run these
        pytest.fail(exc.details)
    return reference._nltk_wordnet()


def test_meteor_matches_nltk_on_corpus_and_edges(nltk_wordnet: object) -> None:
    clear_caches()
    pairs = corpus.pairs(5000, seed=11, samples_per_reference=2) + corpus.edge_cases()
    bad = []
    for prediction, ref in pairs:
        got, want = meteor(prediction, ref), reference.meteor(prediction, ref)
        if not abs(got - want) <= TOLERANCE:
            bad.append((prediction[:60], ref[:60], got, want))
    assert not bad, f"{len(bad)} of {len(pairs)} differ, e.g. {bad[:3]}"


def test_each_alignment_stage_fires(nltk_wordnet: object) -> None:
    cases = {
        "exact": ("the cat sat", "The cat sat"),
        "stem": ("cats running", "cat runs"),
        "synonym": ("he bought a large automobile", "he purchased a big car"),
        "crossing chunks": ("mat the on sat cat the", "the cat sat on the mat"),
    }
    for prediction, ref in cases.values():
        assert 0 < meteor(prediction, ref) == reference.meteor(prediction, ref)
    # Only the synonym stage can match these; nltk looks synonyms up for the *stems*, so it
    # fires for "car" -> "auto" but not for "automobile" (stem "automobil") -> "car".
    assert meteor("car", "auto") == reference.meteor("car", "auto") > 0
    assert meteor("automobile", "car") == reference.meteor("automobile", "car") == 0


def _nltk_synonyms(nltk_wordnet: object, word: str) -> frozenset[str]:
    # exactly the set nltk.translate.meteor_score._enum_wordnetsyn_match builds
    names = {
        lemma.name()
        for synset in nltk_wordnet.synsets(word)  # type: ignore[attr-defined]
        for lemma in synset.lemmas()
        if lemma.name().find("_") < 0
    } | {word}
    # our index drops names with capitals: METEOR compares them with lower-cased stems only
    return frozenset(n for n in names if n == word or not any("A" <= c <= "Z" for c in n))


def test_synonym_index_matches_nltk_wordnet(nltk_wordnet: object) -> None:
    idx = wordnet.index()
    rng = random.Random(5)
    forms = sorted({f for pos in idx.lemmas.values() for f in pos})
    words = set(rng.sample(forms, 1500)) | set(corpus.WORDS) | {w for g in corpus.SYNONYMS for w in g}
    stemmer = PorterStemmer()
    words |= {stemmer.stem(w) for w in list(words)}
    words |= {w + s for w in rng.sample(sorted(words), 300) for s in ("s", "es", "ed", "ing", "er", "est")}
    words |= {"geese", "ran", "better", "best", "oxen", "children", "went", "a", "i", "12", "x_y", "é"}
    bad = [w for w in sorted(words) if idx.synonyms(w) != _nltk_synonyms(nltk_wordnet, w)]
    assert not bad, bad[:10]


def test_no_lowercased_text_contains_an_ascii_capital() -> None:
    # why the index may drop WordNet names with capitals
    assert not any(any("A" <= c <= "Z" for c in chr(i).lower()) for i in range(sys.maxunicode + 1))


def test_vendored_porter_stemmer_is_nltks() -> None:
    from nltk.stem.porter import PorterStemmer as NltkPorter

    ours, theirs = PorterStemmer(), NltkPorter()
    idx = wordnet.index()
    words = sorted({f for pos in idx.lemmas.values() for f in pos})[::7]
    words += list(corpus.WORDS) + [w.lower() for w in corpus.UNICODE] + ["", "a", "ies", "sky", "Skies", "İi"]
    assert [ours.stem(w) for w in words] == [theirs.stem(w) for w in words]


def test_index_is_cached_on_disk_and_reused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRADERS_CACHE_DIR", str(tmp_path))
    source = wordnet.find_source()
    path = wordnet._cache_path(source)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"garbage")  # a corrupt cache is rebuilt, never trusted
    built = wordnet.load_index(source)
    assert built.cache_file == path and path.read_bytes() != b"garbage"

    def no_build(source: object) -> None:
        raise AssertionError("rebuilt although the cache is valid")

    monkeypatch.setattr(wordnet, "build_index", no_build)
    loaded = wordnet.load_index(source)
    assert loaded.lemmas == built.lemmas and loaded.exceptions == built.exceptions


def test_missing_wordnet_is_a_clear_error_naming_the_install_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import graders

    monkeypatch.setenv("GRADERS_WORDNET_DIR", str(tmp_path))  # exists, but holds no WordNet
    wordnet.index.cache_clear()
    clear_caches()
    try:
        with pytest.raises(wordnet.WordNetMissing) as info:
            METRICS["meteor"]("a cat", "the dog")
        assert wordnet.INSTALL_COMMAND in info.value.details
        grader = {"type": "text_similarity", "name": "m", "input": "a cat", "reference": "the dog",
                  "evaluation_metric": "meteor"}
        response = graders.run(grader, "x", {})
        assert response.metadata.errors.other_error is True
        assert wordnet.INSTALL_COMMAND in (response.metadata.errors.other_error_details or "")
        assert response.reward == 0
    finally:
        wordnet.index.cache_clear()
        clear_caches()


def test_meteor_through_the_engine(nltk_wordnet: object) -> None:
    import graders

    grader = {"type": "text_similarity", "name": "m", "input": "{{ sample.output_text }}",
              "reference": "{{ item.ref }}", "evaluation_metric": "meteor"}
    response = graders.run(grader, "the cats sat on a rug", {"ref": "The cat sat on the mat"})
    assert response.metadata.errors.flags_set() == []
    assert response.reward == reference.meteor("the cats sat on a rug", "The cat sat on the mat")
