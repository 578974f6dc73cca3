"""One signature string per metric: the library call it reproduces, that library's version,
the tokenizer and the options, so a number can be traced to exactly one definition.

Fields are ``key=value`` joined by ``|``. A value marked ``(ours)`` is this project's
choice where OpenAI documents none (SEMANTICS §5, [ours] rules): the ``str.split()``
tokens of the nltk metrics and METEOR's WordNet version. The nltk and rouge-score
versions are the ones the parity tests verified (tests/test_metrics_signatures.py fails
when the installed library differs, so an upgrade is re-verified before it ships).
"""

from __future__ import annotations

NLTK_VERSION = "3.10.4"
ROUGE_SCORE_VERSION = "0.1.2"
WORDNET_VERSION = "3.0"  # metrics.wordnet.WORDNET_VERSION; repeated here to keep imports light

_NLTK_TOKENS = f"nltk={NLTK_VERSION}|tok=str.split(ours)|case=kept"


def _rouge(rouge_type: str) -> str:
    return (
        f"rouge-score={ROUGE_SCORE_VERSION}|call=RougeScorer(['{rouge_type}'],use_stemmer=False)"
        f".score(reference,input)['{rouge_type}'].fmeasure|tok=rouge_score.tokenize(lower,[^a-z0-9]+->space)"
        "|stemmer=none"
    )


_STATIC: dict[str, str] = {
    "bleu": f"{_NLTK_TOKENS}|call=sentence_bleu([reference],input)|weights=0.25,0.25,0.25,0.25"
    "|smoothing=none|auto_reweigh=false",
    "gleu": f"{_NLTK_TOKENS}|call=sentence_gleu([reference],input)|min_len=1|max_len=4",
    "meteor": f"{_NLTK_TOKENS}|call=meteor_score([reference],input)|preprocess=str.lower"
    f"|stemmer=PorterStemmer(NLTK_EXTENSIONS)|wordnet={WORDNET_VERSION}(ours)|alpha=0.9|beta=3.0|gamma=0.5",
    **{f"rouge_{n}": _rouge(f"rouge{n}") for n in "12345"},
    "rouge_l": _rouge("rougeL"),
}


def _fuzzy() -> str:
    import rapidfuzz

    # We call rapidfuzz itself, so the installed version is the one reproduced.
    return f"rapidfuzz={rapidfuzz.__version__}|call=fuzz.ratio(input,reference)/100|processor=none"


SIGNATURES: dict[str, str] = {
    name: f"{name}|{body}" for name, body in {"fuzzy_match": _fuzzy(), **_STATIC}.items()
}


def signature(name: str) -> str:
    """``name|library=version|call=...|tok=...|options``; KeyError for a metric not computed here."""
    return SIGNATURES[name]
