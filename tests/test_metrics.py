"""Every text_similarity metric equals its reference library call (SEMANTICS §5).

Expected values come from the reference libraries themselves (metrics/reference.py:
nltk, rouge-score, rapidfuzz), on 5,000 seeded generated pairs plus hand-picked edge
cases and hypothesis-generated texts. METEOR has its own module (test_metrics_meteor.py).
"""

from __future__ import annotations

import os
import shutil
import sys
import sysconfig
import typing
import warnings
from collections import Counter
from importlib.metadata import version

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from graders.models import EvaluationMetric
from metrics import METRICS, SIGNATURES, clear_caches, corpus, ngrams, reference, signature
from metrics.rouge import tokenize

TOLERANCE = 1e-9
PAIRS = corpus.pairs(5000, seed=7, samples_per_reference=2)
# ROUGE-L's reference is an O(n*m) Python table: 5,000 x 5,000 tokens takes ~20 s, so the
# long-text cases get the independent LCS below instead (and it is checked against rouge-score).
LONG = 2000
EDGES = corpus.edge_cases()
SHORT_EDGES = [(p, r) for p, r in EDGES if len(p.split()) * len(r.split()) < LONG * 300]
ROUGE_TYPES = {f"rouge_{n}": f"rouge{n}" for n in "12345"} | {"rouge_l": "rougeL"}


@pytest.fixture(autouse=True)
def _fresh_caches() -> None:
    clear_caches()


_C_KERNEL = ngrams.kernel  # None when the optional extension did not build
_C_KERNEL_IDS = ngrams.kernel_ids  # ROUGE-L's token ids, from the same extension


@pytest.fixture(params=["c", "python"])
def kernel_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a test on the C kernel and on the pure-Python n-gram path (metrics/ngrams.py)."""
    if request.param == "c":
        if _C_KERNEL is None:
            pytest.skip("metrics._ngram_kernel did not build (see test_c_kernel_built_where_it_can_be)")
        monkeypatch.setattr(ngrams, "kernel", _C_KERNEL)
        monkeypatch.setattr(ngrams, "kernel_ids", _C_KERNEL_IDS)
    else:
        monkeypatch.setattr(ngrams, "kernel", None)
        monkeypatch.setattr(ngrams, "kernel_ids", None)
    clear_caches()
    return str(request.param)


def test_c_kernel_built_where_it_can_be() -> None:
    """The extension is optional for users, not here: with a C compiler and Python's headers
    (or GRADERS_REQUIRE_C=1) a missing kernel is a build problem, not a silent slow path."""
    headers = os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h"))
    compiler = shutil.which("gcc") or shutil.which("cc")
    if os.environ.get("GRADERS_REQUIRE_C") == "1" or (compiler and headers):
        assert _C_KERNEL is not None, "metrics._ngram_kernel is not importable: run `make test` again"


def _clipped_expected(hyp: list[str], ref: list[str], max_n: int) -> list[int]:
    """sum(min(H[g], R[g])) per order, from Counters of tuple n-grams (independent)."""
    out = []
    for n in range(1, max_n + 1):
        h = Counter(tuple(hyp[i : i + n]) for i in range(len(hyp) - n + 1))
        r = Counter(tuple(ref[i : i + n]) for i in range(len(ref) - n + 1))
        out.append(sum(min(c, r[g]) for g, c in h.items()))
    return out


tokens_small = st.lists(st.sampled_from(["a", "b", "c", "é", "", "a b"]), max_size=40)


@settings(max_examples=400, deadline=None)
@given(hyp=tokens_small, ref=tokens_small, max_n=st.integers(1, 6))
def test_c_kernel_equals_counting_tuples(hyp: list[str], ref: list[str], max_n: int) -> None:
    if _C_KERNEL is None:
        pytest.skip("metrics._ngram_kernel did not build")
    assert _C_KERNEL(hyp, ref, max_n) == _clipped_expected(hyp, ref, max_n)
    # bytes tokens (rouge) and tuples work the same way
    assert _C_KERNEL([t.encode() for t in hyp], [t.encode() for t in ref], max_n) == _clipped_expected(
        hyp, ref, max_n
    )


def test_c_kernel_on_long_texts() -> None:
    if _C_KERNEL is None:
        pytest.skip("metrics._ngram_kernel did not build")
    import random

    rng = random.Random(5)
    for vocab in (3, 50, 5000):
        hyp = [str(rng.randrange(vocab)) for _ in range(5000)]
        ref = [str(rng.randrange(vocab)) for _ in range(4000)]
        assert _C_KERNEL(hyp, ref, 5) == _clipped_expected(hyp, ref, 5)
    with pytest.raises(TypeError):
        _C_KERNEL(["a", []], ["a"], 2)  # unhashable token
    with pytest.raises(ValueError):
        _C_KERNEL(["a"], ["a"], 0)


def test_metrics_cover_the_schema_enum_except_cosine() -> None:
    assert set(METRICS) == set(typing.get_args(EvaluationMetric)) - {"cosine"}


def test_reference_oracle_covers_every_metric() -> None:
    assert set(reference.REFERENCE) == set(METRICS) == set(reference.CALLS)


def _all_rouge(pairs: list[tuple[str, str]]) -> dict[str, list[float]]:
    """rouge-score once per pair for all six types (each type is scored independently)."""
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(list(ROUGE_TYPES.values()), use_stemmer=False)
    out: dict[str, list[float]] = {name: [] for name in ROUGE_TYPES}
    for prediction, ref in pairs:
        scores = scorer.score(ref, prediction)
        for name, rouge_type in ROUGE_TYPES.items():
            out[name].append(scores[rouge_type].fmeasure)
    return out


def _assert_same(name: str, pairs: list[tuple[str, str]], expected: list[float]) -> None:
    ours = METRICS[name]
    bad = []
    for (prediction, ref), want in zip(pairs, expected):
        got = ours(prediction, ref)
        if not abs(got - want) <= TOLERANCE or type(got) is not float:
            bad.append((prediction[:80], ref[:80], got, want))
    assert not bad, f"{name}: {len(bad)} of {len(pairs)} differ, e.g. {bad[:3]}"


@pytest.mark.parametrize("name", ["bleu", "gleu", "fuzzy_match"])
def test_nltk_and_rapidfuzz_metrics_match_reference_on_corpus_and_edges(name: str, kernel_path: str) -> None:
    pairs = PAIRS + EDGES
    _assert_same(name, pairs, [reference.REFERENCE[name](p, r) for p, r in pairs])


def test_rouge_metrics_match_rouge_score_on_corpus_and_edges(kernel_path: str) -> None:
    pairs = PAIRS + SHORT_EDGES
    expected = _all_rouge(pairs)
    for name in ROUGE_TYPES:
        _assert_same(name, pairs, expected[name])


def test_rouge_n_matches_on_5000_token_texts(kernel_path: str) -> None:
    long_pairs = [(p, r) for p, r in EDGES if (p, r) not in SHORT_EDGES]
    assert long_pairs and max(len(r.split()) for _, r in long_pairs) > 4900  # ~5,000 tokens
    from rouge_score import rouge_scorer  # rougeL excluded: see LONG

    scorer = rouge_scorer.RougeScorer([f"rouge{n}" for n in "12345"], use_stemmer=False)
    for prediction, ref in long_pairs:
        scores = scorer.score(ref, prediction)
        for n in "12345":
            assert abs(METRICS[f"rouge_{n}"](prediction, ref) - scores[f"rouge{n}"].fmeasure) <= TOLERANCE


def _repetitive_pairs() -> list[tuple[str, str]]:
    """Texts over a 2-6 word vocabulary (every n-gram repeats, on both sides), with lengths
    on both sides of the n-gram matrix's row-width steps (60/61, 124/125 reference tokens)
    and past its limits (rouge: 60 reference tokens; bleu/gleu: 1,000)."""
    import random

    rng = random.Random(99)
    lengths = [0, 1, 2, 3, 4, 5, 7, 20, 59, 60, 61, 64, 65, 124, 125, 200, 1001]
    pairs = []
    for _ in range(160):
        vocab = ["a", "b", "c", "the", "A", "b."][: rng.randrange(2, 7)]
        hyp_len, ref_len = rng.choice(lengths), rng.choice(lengths)
        pairs.append(
            (" ".join(rng.choices(vocab, k=hyp_len)), " ".join(rng.choices(vocab, k=ref_len)))
        )
    return pairs


@pytest.mark.parametrize("name", ["bleu", "gleu", "rouge_1", "rouge_2", "rouge_3", "rouge_4", "rouge_5"])
def test_ngram_metrics_match_reference_on_repetitive_texts(name: str, kernel_path: str) -> None:
    pairs = _repetitive_pairs()
    _assert_same(name, pairs, [reference.REFERENCE[name](p, r) for p, r in pairs])


def _lcs_length(a: list[str], b: list[str]) -> int:
    """Bit-parallel LCS (Allison-Dix / Hyyro) on Python ints: independent of rapidfuzz."""
    masks: dict[str, int] = {}
    for i, token in enumerate(a):
        masks[token] = masks.get(token, 0) | (1 << i)
    row = (1 << len(a)) - 1
    for token in b:
        m = masks.get(token, 0)
        u = row & m
        row = (row + u) | (row - u)
        row &= (1 << len(a)) - 1
    return len(a) - bin(row).count("1")


def _rouge_l_expected(prediction: str, ref: str) -> float:
    target, pred = tokenize(ref), tokenize(prediction)
    if not target or not pred:
        return 0.0
    lcs = _lcs_length(target, pred)
    precision, recall = lcs / len(pred), lcs / len(target)
    return 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0


def test_independent_lcs_agrees_with_rouge_score() -> None:
    expected = _all_rouge(PAIRS[:1500])["rouge_l"]
    assert [_rouge_l_expected(p, r) for p, r in PAIRS[:1500]] == expected


def test_rouge_l_on_5000_token_texts(kernel_path: str) -> None:
    for prediction, ref in EDGES:
        assert abs(METRICS["rouge_l"](prediction, ref) - _rouge_l_expected(prediction, ref)) <= TOLERANCE


def test_rouge_tokenizer_is_rouge_scores_on_every_code_point() -> None:
    from rouge_score import tokenize as rouge_tokenize

    chars = [chr(c) for c in range(sys.maxunicode + 1)]
    for start in range(0, len(chars), 4096):
        # each character between two ASCII letters, so every merge or split shows
        text = "".join(f"a{c}b " for c in chars[start : start + 4096])
        assert tokenize(text) == rouge_tokenize.tokenize(text, None)


texts = st.lists(
    st.sampled_from(["a", "b", "the", "The", "cat", "cats", "a.", "!", "é", "İ", "1", "x_y"]), max_size=12
).map(" ".join)


@settings(max_examples=300, deadline=None)
@given(prediction=texts, ref=texts)
def test_property_every_fast_metric_equals_reference(prediction: str, ref: str) -> None:
    for kernel in {_C_KERNEL, None}:  # both n-gram paths on every example
        ngrams.kernel = kernel
        ngrams.kernel_ids = _C_KERNEL_IDS if kernel is not None else None
        try:
            clear_caches()
            for name in ["bleu", "gleu", "fuzzy_match", *ROUGE_TYPES]:
                want = reference.REFERENCE[name](prediction, ref)
                assert abs(METRICS[name](prediction, ref) - want) <= TOLERANCE, (name, kernel)
        finally:
            ngrams.kernel = _C_KERNEL
            ngrams.kernel_ids = _C_KERNEL_IDS


def test_a_cached_reference_gives_the_same_numbers(kernel_path: str) -> None:
    ref = "the cat sat on the mat the end"
    predictions = ["the cat", "the the the mat", "", "cat sat on the mat the end the", "dog"]
    first = {name: [METRICS[name](p, ref) for p in predictions] for name in METRICS if name != "meteor"}
    second = {name: [METRICS[name](p, ref) for p in predictions] for name in METRICS if name != "meteor"}
    assert first == second
    for name, values in first.items():
        assert values == [reference.REFERENCE[name](p, ref) for p in predictions], name


def test_no_warning_where_nltk_warns() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert METRICS["bleu"]("a b c d", "a x y z") == reference.bleu("a b c d", "a x y z") > 0


def test_signatures_name_library_version_tokenizer_and_options() -> None:
    assert set(SIGNATURES) == set(METRICS)
    for name in METRICS:
        sig = signature(name)
        assert sig == SIGNATURES[name] and sig.startswith(f"{name}|")
        fields = dict(part.split("=", 1) for part in sig.split("|")[1:])
        assert "call" in fields
    assert f"nltk={version('nltk')}" in signature("bleu")
    assert "tok=str.split(ours)" in signature("gleu")
    assert f"rouge-score={version('rouge-score')}" in signature("rouge_l")
    assert "use_stemmer=False" in signature("rouge_3")
    assert f"rapidfuzz={version('rapidfuzz')}" in signature("fuzzy_match")
    assert "wordnet=3.0" in signature("meteor")


def test_metrics_command_lists_every_signature() -> None:
    from click.testing import CliRunner

    from cli import main

    result = CliRunner().invoke(main, ["metrics"])
    assert result.exit_code == 0, result.output
    for name in METRICS:
        assert SIGNATURES[name] in result.output
    assert "cosine" in result.output
