"""Seeded (prediction, reference) pairs for the parity tests and the benchmark.

The pairs look like grader traffic: a reference sentence and a prediction derived
from it by the edits that separate the metrics (dropped, inserted and reordered
words, inflections for METEOR's stemming stage, WordNet synonyms for its third
stage, case and punctuation changes for rouge-score's tokenizer, unicode), plus
unrelated predictions, empty and whitespace-only strings and a few long texts.
"""

from __future__ import annotations

import random

# Groups of WordNet synonyms (so METEOR's synonym stage fires) ...
SYNONYMS = [
    ("big", "large", "great"), ("small", "little", "minor"), ("fast", "quick", "speedy", "rapid"),
    ("car", "automobile", "auto", "machine"), ("begin", "start", "commence", "get"),
    ("end", "finish", "terminate", "stop"), ("buy", "purchase", "bribe"), ("house", "home", "household"),
    ("happy", "glad", "felicitous"), ("sad", "deplorable", "pitiful"), ("answer", "reply", "response", "result"),
    ("city", "town", "metropolis"), ("child", "kid", "youngster", "minor"), ("doctor", "physician", "doc"),
    ("error", "mistake", "fault", "erroneousness"), ("help", "aid", "assist", "assistance"),
    ("show", "display", "demonstrate", "prove"), ("correct", "right", "proper", "rectify"),
    ("cat", "true_cat", "kat", "guy"), ("sit", "seat", "pose", "model"), ("rug", "carpet", "carpeting"),
    ("talk", "speak", "mouth", "lecture"), ("walk", "go", "pass", "take"), ("see", "understand", "realize"),
    ("capital", "working_capital", "majuscule"), ("country", "state", "nation", "land"),
    ("number", "figure", "act", "issue"), ("price", "cost", "terms"), ("job", "task", "chore", "occupation"),
    ("road", "route", "way"), ("film", "movie", "picture", "pic"), ("smart", "bright", "chic", "voguish"),
]
# ... common words, some of which inflect ...
WORDS = (
    "the a an of to in on at for with by from and or but not is are was were be been being it this "
    "that these those he she they we you i his her their our your my what which who when where why how "
    "answer question model sample grader score reward text paris france london berlin water fire light "
    "run running ran runs jump jumped jumping play played playing quickly slowly very much more most "
    "good better best bad worse worst new old young long short high low first last next other same "
    "time year day week month people man men woman women world life hand part place case point group "
    "problem fact eye way thing government company system program work study book story word business "
    "issue side kind head service friend father mother power hour game line member law idea body "
    "information back parent face others level office door health person art war history party result "
    "change morning reason research girl guy moment air teacher force education foot boy age policy "
    "process music market sense nation plan college interest death experience effect use class control "
    "care field development role effort rate heart drug leader light voice wife police mind price report "
    "decision son view relationship town road arm difference value building action season society tax "
    "director position player record paper space ground form event official matter center couple site "
    "project activity star table need court oil situation cost industry figure street image phone data "
    "picture practice piece land product doctor wall patient worker news test movie north love support "
    "technology step baby computer type attention film tree source organization hair window evidence "
    "population site skies dying lying tying innings outing cannings howe proceed exceed succeed "
    "generously conditional relational feudalism hopefulness goodness formaliti sensitiviti"
).split()
SUFFIXES = ("s", "es", "ed", "ing", "er", "est", "ly", "ness", "ies", "ation", "ful", "ize")
UNICODE = (
    "café", "naïve", "Straße", "İstanbul", "ǅemal", "ΣΊΣΥΦΟΣ", "日本語", "привет", "🙂", "ﬁne", "K",
    "Ⅻ", "x\u0301", "ＡＢＣ", "١٢٣", "Ω", "ŉ", "ß", "İ", "\u00a0", "\u2003",
)
PUNCT = (".", ",", "!", "?", "...", "—", "-", "'s", "(", ")", '"', ":", ";", "--", "!!!", "¿", "«»")


def _word(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.55:
        word = rng.choice(WORDS)
    elif roll < 0.8:
        word = rng.choice(rng.choice(SYNONYMS))
    elif roll < 0.9:
        word = rng.choice(WORDS) + rng.choice(SUFFIXES)
    elif roll < 0.95:
        word = str(rng.randrange(0, 2000))
    else:
        word = rng.choice(UNICODE)
    return word


def sentence(rng: random.Random, length: int) -> list[str]:
    return [_word(rng) for _ in range(length)]


def _length(rng: random.Random) -> int:
    roll = rng.random()
    if roll < 0.04:
        return rng.randrange(0, 3)
    if roll < 0.97:
        return rng.randrange(3, 40)
    return rng.randrange(40, 300)


def _mutate_token(rng: random.Random, token: str) -> str:
    roll = rng.random()
    for group in SYNONYMS:
        if token in group and roll < 0.5:
            return rng.choice(group)
    if roll < 0.6:
        return token + rng.choice(SUFFIXES)
    if roll < 0.7:
        return token.upper() if rng.random() < 0.5 else token.capitalize()
    if roll < 0.85:
        return token + rng.choice(PUNCT)
    if roll < 0.9:
        return rng.choice(PUNCT) + token
    return _word(rng)


def predict(rng: random.Random, ref: list[str]) -> list[str]:
    """A prediction derived from ``ref`` by grader-like edits."""
    roll = rng.random()
    if roll < 0.08:
        return sentence(rng, _length(rng))  # unrelated
    if roll < 0.12:
        return list(ref)  # identical
    out: list[str] = []
    rate = rng.choice((0.1, 0.25, 0.5))
    for token in ref:
        r = rng.random()
        if r < rate / 3:
            continue  # dropped
        if r < 2 * rate / 3:
            out.append(_mutate_token(rng, token))
        elif r < rate:
            out += [token, _word(rng)]  # inserted
        else:
            out.append(token)
    if out and rng.random() < 0.2:  # move a segment
        a, b = sorted(rng.sample(range(len(out) + 1), 2))
        segment, rest = out[a:b], out[:a] + out[b:]
        at = rng.randrange(len(rest) + 1)
        out = rest[:at] + segment + rest[at:]
    if out and rng.random() < 0.1:  # repeat a token
        out += [rng.choice(out)] * rng.randrange(1, 5)
    return out


def _join(rng: random.Random, tokens: list[str]) -> str:
    seps = (" ",) * 12 + ("  ", "\t", "\n", " \u00a0", "\u2003")
    text = "".join(t + rng.choice(seps) for t in tokens).rstrip() if tokens else ""
    if rng.random() < 0.05:
        text = rng.choice(("", " ", "\n", "  \t")) + text + rng.choice(("", " ", "\n"))
    return text


def pairs(n: int, seed: int = 0, *, samples_per_reference: int = 1) -> list[tuple[str, str]]:
    """``n`` (prediction, reference) pairs; each reference serves ``samples_per_reference`` rows
    in a row, as in a fine-tuning step that samples several answers per prompt."""
    rng = random.Random(seed)
    out: list[tuple[str, str]] = []
    while len(out) < n:
        ref = sentence(rng, _length(rng))
        ref_text = _join(rng, ref)
        for _ in range(samples_per_reference):
            out.append((_join(rng, predict(rng, ref)), ref_text))
    return out[:n]


def edge_cases() -> list[tuple[str, str]]:
    """Hand-picked pairs: empty, whitespace, punctuation only, one token, repeats, unicode, long."""
    rng = random.Random(12345)
    long_ref = sentence(rng, 5000)
    long_pred = predict(rng, long_ref)
    cases = [
        ("", ""), ("", "a"), ("a", ""), (" ", " "), ("\n\t", "a b"), ("a", "a"), ("a", "b"), ("A", "a"),
        ("...", "..."), ("!!! ???", "?!"), ("—", "-"), ("a.", "a"), ("a, b", "a b"),
        ("the the the the the the the", "the cat is on the mat"),
        ("a a a a", "a a"), ("a b a b a b", "b a b a"), ("a b c d", "a b c d"), ("a b c d", "d c b a"),
        ("a b c", "a b c d e"), ("one two three four five", "one two three four"),
        ("The cat sat on the mat.", "the cat sat on the mat"),
        ("the cats are running quickly", "The cat runs quick"),
        ("a feline was sitting on a rug", "the cat sat on the mat"),
        ("He bought a large automobile", "he purchased a big car"),
        ("skies dying lying", "sky die lie"), ("innings outing", "inning outings"),
        ("café naïve Straße", "cafe naive strasse"), ("İstanbul", "i̇stanbul"), ("ǅemal", "ǆemal"),
        ("ΣΊΣΥΦΟΣ", "σίσυφος"), ("日本語 テキスト", "日本語"), ("🙂 🙂", "🙂"), ("ﬁne", "fine"),
        ("\u212a", "k"), ("x\u0301", "x"), ("１２３ ＡＢＣ", "123 abc"), ("a\u00a0b", "a b"),
        ("a\u2003b c", "a b c"), ("don't can't", "do not cannot"), ("e-mail", "e mail"),
        ("1,000.5", "1000.5"), ("a_b", "a b"), ("A B C", "a b c"),
        (" ".join(long_pred), " ".join(long_ref)),
        (" ".join(long_ref), " ".join(long_ref)),
        (" ".join(long_ref[:50]), " ".join(long_ref)),
        (" ".join(long_ref), " ".join(long_ref[:50])),
        ("x " * 5000, "x " * 3000),
    ]
    return cases
