"""WordNet 3.0 for METEOR, from local files only: never downloaded at run time.

Where the dictionary comes from, first match wins:

1. ``$GRADERS_WORDNET_DIR``: a WordNet dict directory (``index.noun``, ``data.noun``, ...);
2. an NLTK data directory holding ``corpora/wordnet`` or ``corpora/wordnet.zip``, searched
   in nltk's own default order (``$NLTK_DATA``, ``~/nltk_data``, ``sys.prefix``..., ``/usr/...``);
3. ``/usr/share/wordnet``, where Debian's ``wordnet-base`` package puts WordNet 3.0.

METEOR only asks WordNet one question: the lemma names of every synset that
``wordnet.synsets(word)`` returns. Loading nltk's reader takes seconds, so the
answer's ingredients (per part of speech: lemma form -> synonym names, plus the
morphology exception lists) are extracted once into a compact index cached on disk
(``$GRADERS_CACHE_DIR`` or ``$XDG_CACHE_HOME/graders`` or ``~/.cache/graders``) that
loads in tens of milliseconds. :func:`synonyms` re-implements nltk's ``_morphy`` on it.

``python -m metrics.wordnet`` prints where WordNet was found and builds the index
(exit 1 with the install command when there is none).
"""

from __future__ import annotations

import hashlib
import io
import marshal
import os
import re
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from graders.errors import MetricUnavailableError

WORDNET_VERSION = "3.0"
INSTALL_COMMAND = "apt-get install -y wordnet-base wordnet-sense-index"
SYSTEM_DIRS = ("/usr/share/wordnet",)
# Bump when the index layout or what is extracted changes; old cache files are then ignored.
INDEX_FORMAT = 1

POS_FILES = {"n": "noun", "v": "verb", "a": "adj", "r": "adv"}  # nltk's POS_LIST order
DICT_FILES = tuple(f"{kind}.{name}" for kind in ("index", "data") for name in POS_FILES.values()) + tuple(
    f"{name}.exc" for name in POS_FILES.values()
)

# nltk WordNetCorpusReader.MORPHOLOGICAL_SUBSTITUTIONS (ADV has none).
SUBSTITUTIONS: dict[str, tuple[tuple[str, str], ...]] = {
    "n": (("s", ""), ("ses", "s"), ("ves", "f"), ("xes", "x"), ("zes", "z"), ("ches", "ch"),
          ("shes", "sh"), ("men", "man"), ("ies", "y")),
    "v": (("s", ""), ("ies", "y"), ("es", "e"), ("es", ""), ("ed", "e"), ("ed", ""), ("ing", "e"),
          ("ing", "")),
    "a": (("er", ""), ("est", ""), ("er", "e"), ("est", "e")),
    "r": (),
}

_VERSION_RE = re.compile(r"Word[nN]et (\d+\+?|\d+\.\d+) Copyright")
_MARKER_RE = re.compile(r"(.*?)(\([^()]*\))?$")  # nltk strips a trailing "(a)"/"(p)"/"(ip)" marker
_UPPER_RE = re.compile(r"[A-Z]")


class WordNetMissing(MetricUnavailableError):
    """No usable WordNet 3.0 on this machine."""


def missing_message(extra: str = "") -> str:
    return (
        "evaluation_metric 'meteor' needs WordNet 3.0, which is not installed"
        + (f" ({extra})" if extra else "")
        + f". Install it with `{INSTALL_COMMAND}` (as root, Debian/Ubuntu; `make install` does this), "
        "or point GRADERS_WORDNET_DIR at a WordNet 3.0 dict directory; an NLTK data directory with "
        "corpora/wordnet is also used. No score was produced."
    )


@dataclass(frozen=True)
class Source:
    """One place holding the WordNet dict files: a directory, or nltk's ``wordnet.zip``."""

    kind: str  # "env" | "nltk_data" | "system"
    path: Path  # the dict directory, or the zip file
    member: str = ""  # inside a zip: the directory prefix, e.g. "wordnet/"

    def read_text(self, name: str) -> str:
        if self.member:
            with zipfile.ZipFile(self.path) as zf:
                return zf.read(self.member + name).decode("utf-8")
        return (self.path / name).read_text(encoding="utf-8")

    def has_files(self) -> bool:
        if self.member:
            try:
                with zipfile.ZipFile(self.path) as zf:
                    names = set(zf.namelist())
            except (OSError, zipfile.BadZipFile):
                return False
            return all(self.member + f in names for f in DICT_FILES)
        return all((self.path / f).is_file() for f in DICT_FILES)

    def version(self) -> str | None:
        head = self.read_text("data.adj")[:4000] if self.member else _head(self.path / "data.adj")
        match = _VERSION_RE.search(head)
        return match.group(1) if match else None

    def fingerprint(self) -> str:
        """Changes whenever the dict files change (path, size, mtime)."""
        if self.member:
            st = self.path.stat()
            parts = [f"{self.path}!{self.member}:{st.st_size}:{st.st_mtime_ns}"]
        else:
            parts = []
            for f in DICT_FILES:
                st = (self.path / f).stat()
                parts.append(f"{self.path / f}:{st.st_size}:{st.st_mtime_ns}")
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:20]

    def describe(self) -> str:
        where = f"{self.path}/{self.member}" if self.member else str(self.path)
        return f"{self.kind}:{where}"


def _head(path: Path) -> str:
    with open(path, encoding="utf-8", errors="replace") as fh:
        return fh.read(4000)


def nltk_data_paths() -> list[Path]:
    """nltk.data.path's default on POSIX, computed without importing nltk (slow)."""
    paths = [os.path.expanduser(d) for d in os.environ.get("NLTK_DATA", "").split(os.pathsep) if d]
    if "APPENGINE_RUNTIME" not in os.environ and os.path.expanduser("~/") != "~/":
        paths.append(os.path.expanduser("~/nltk_data"))
    paths += [
        os.path.join(sys.prefix, "nltk_data"),
        os.path.join(sys.prefix, "share", "nltk_data"),
        os.path.join(sys.prefix, "lib", "nltk_data"),
        "/usr/share/nltk_data",
        "/usr/local/share/nltk_data",
        "/usr/lib/nltk_data",
        "/usr/local/lib/nltk_data",
    ]
    return [Path(p) for p in paths]


def candidate_sources() -> list[Source]:
    found: list[Source] = []
    for base in nltk_data_paths():
        found.append(Source("nltk_data", base / "corpora" / "wordnet"))
        found.append(Source("nltk_data", base / "corpora" / "wordnet.zip", member="wordnet/"))
    found += [Source("system", Path(d)) for d in SYSTEM_DIRS]
    return found


def find_source() -> Source:
    """The WordNet 3.0 to use, or :class:`WordNetMissing` naming the install command."""
    configured = os.environ.get("GRADERS_WORDNET_DIR")
    if configured:
        # An explicit setting that does not work is an error, never a silent fallback.
        env = Source("env", Path(configured).expanduser())
        if not env.has_files():
            raise WordNetMissing(missing_message(f"GRADERS_WORDNET_DIR={configured} lacks the dict files"))
        if env.version() != WORDNET_VERSION:
            raise WordNetMissing(missing_message(f"GRADERS_WORDNET_DIR holds WordNet {env.version()}"))
        return env
    wrong: list[str] = []
    for source in candidate_sources():
        if not source.has_files():
            continue
        version = source.version()
        if version == WORDNET_VERSION:
            return source
        wrong.append(f"{source.describe()} is WordNet {version}")
    raise WordNetMissing(missing_message("; ".join(wrong)))


def cache_dir() -> Path:
    if os.environ.get("GRADERS_CACHE_DIR"):
        return Path(os.environ["GRADERS_CACHE_DIR"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "graders"


# ---------------------------------------------------------------- the index

Lemmas = dict[str, dict[str, tuple[str, ...]]]  # pos -> lemma form -> synonym names
Exceptions = dict[str, dict[str, list[str]]]  # pos -> inflected form -> base forms


def _synset_names(text: str) -> dict[int, tuple[str, ...]]:
    """offset -> lemma names of that synset, as nltk's ``Lemma.name()`` gives them.

    Names with "_" are dropped (METEOR skips them) and so are names with an ASCII capital:
    METEOR compares names with lower-cased, Porter-stemmed tokens, which never contain one.
    """
    out: dict[int, tuple[str, ...]] = {}
    for line in text.splitlines():
        if not line or line[0] == " ":
            continue
        fields = line.split("|", 1)[0].split()
        n_lemmas = int(fields[3], 16)
        names = []
        for k in range(n_lemmas):
            match = _MARKER_RE.match(fields[4 + 2 * k])
            assert match is not None
            name = match.group(1)
            if "_" not in name and not _UPPER_RE.search(name):
                names.append(name)
        out[int(fields[0])] = tuple(names)
    return out


def _index_offsets(text: str) -> dict[str, list[int]]:
    """lemma form -> synset offsets, parsed the way nltk's ``_load_lemma_pos_offset_map`` does."""
    out: dict[str, list[int]] = {}
    for line in text.splitlines():
        if not line or line[0] == " ":
            continue
        tokens = line.split()
        n_synsets = int(tokens[2])
        n_pointers = int(tokens[3])
        start = 4 + n_pointers + 2  # skip pointers, n_senses, tagsense_cnt
        out[tokens[0]] = [int(t) for t in tokens[start : start + n_synsets]]
    return out


def build_index(source: Source) -> tuple[Lemmas, Exceptions]:
    lemmas: Lemmas = {}
    exceptions: Exceptions = {}
    shared: dict[tuple[str, ...], tuple[str, ...]] = {}  # one object per distinct tuple: smaller cache
    for pos, name in POS_FILES.items():
        synsets = _synset_names(source.read_text(f"data.{name}"))
        forms: dict[str, tuple[str, ...]] = {}
        for form, offsets in _index_offsets(source.read_text(f"index.{name}")).items():
            names = sorted({n for off in offsets for n in synsets[off]})
            if names:  # a form without usable names adds nothing to any union
                key = tuple(names)
                forms[sys.intern(form)] = shared.setdefault(key, key)
        lemmas[pos] = forms
        exc: dict[str, list[str]] = {}
        for line in source.read_text(f"{name}.exc").splitlines():
            terms = line.split()
            if terms:
                exc[terms[0]] = terms[1:]
        exceptions[pos] = exc
    return lemmas, exceptions


@dataclass
class Index:
    source: Source
    lemmas: Lemmas
    exceptions: Exceptions
    cache_file: Path | None

    def synonyms(self, word: str) -> frozenset[str]:
        """The set nltk's METEOR builds for ``word``: every ``lemma.name()`` without "_" of every
        synset in ``wordnet.synsets(word)``, plus ``word`` itself (see module doc on capitals)."""
        form = word.lower()
        out = {word}
        for pos, subs in SUBSTITUTIONS.items():
            forms = self.lemmas[pos]
            exc = self.exceptions[pos].get(form)
            # nltk _morphy: the exception list replaces the rules when the form is listed.
            candidates = [form, *exc] if exc is not None else [form] + [
                form[: -len(old)] + new for old, new in subs if form.endswith(old)
            ]
            for candidate in candidates:
                names = forms.get(candidate)
                if names:
                    out.update(names)
        return frozenset(out)


def _cache_path(source: Source) -> Path:
    return cache_dir() / f"wordnet{WORDNET_VERSION}-index-v{INDEX_FORMAT}-{source.fingerprint()}.marshal"


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_index(source: Source | None = None, *, use_cache: bool = True) -> Index:
    source = source or find_source()
    path = _cache_path(source) if use_cache else None
    if path is not None:
        try:
            header, lemmas, exceptions = marshal.loads(path.read_bytes())
            if header == (INDEX_FORMAT, source.fingerprint()):
                return Index(source, lemmas, exceptions, path)
        except (OSError, ValueError, EOFError, TypeError):
            pass  # missing or unreadable: rebuild below
    lemmas, exceptions = build_index(source)
    if path is not None:
        try:
            _write_atomic(path, marshal.dumps(((INDEX_FORMAT, source.fingerprint()), lemmas, exceptions)))
        except OSError:
            path = None  # read-only home: still correct, only slower next time
    return Index(source, lemmas, exceptions, path)


@lru_cache(maxsize=1)
def index() -> Index:
    """The process-wide index (found, loaded or built on first use)."""
    return load_index()


# ------------------------------------------------ the oracle's nltk data dir

LEXNAMES = (
    "adj.all adj.pert adv.all noun.Tops noun.act noun.animal noun.artifact noun.attribute noun.body "
    "noun.cognition noun.communication noun.event noun.feeling noun.food noun.group noun.location "
    "noun.motive noun.object noun.person noun.phenomenon noun.plant noun.possession noun.process "
    "noun.quantity noun.relation noun.shape noun.state noun.substance noun.time verb.body verb.change "
    "verb.cognition verb.communication verb.competition verb.consumption verb.contact verb.creation "
    "verb.emotion verb.motion verb.perception verb.possession verb.social verb.stative verb.weather "
    "adj.ppl"
).split()  # WordNet 3.0 lexnames(5WN); Debian's wordnet-base ships the man page, not the file
_LEX_CATEGORY = {"noun": 1, "verb": 2, "adj": 3, "adv": 4}


def nltk_data_dir(source: Source | None = None) -> Path | None:
    """An NLTK data directory whose ``corpora/wordnet`` is ``source``, for the reference oracle.

    None when ``source`` already lives in an NLTK data directory nltk searches. Otherwise
    the dict files are copied (nltk refuses symlinks and hard links that leave its root)
    next to the index cache, with the ``lexnames`` file nltk's reader insists on.
    """
    source = source or find_source()
    if source.kind == "nltk_data":
        return None
    root = cache_dir() / f"nltk_data-wordnet-{source.fingerprint()}"
    target = root / "corpora" / "wordnet"
    if (target / "lexnames").is_file():
        return root
    target.mkdir(parents=True, exist_ok=True)
    extra = ("index.sense", "cntlist.rev", "lexnames")
    for name in DICT_FILES + extra:
        if (source.path / name).is_file():
            _write_atomic(target / name, (source.path / name).read_bytes())
    if not (target / "lexnames").is_file():
        body = io.StringIO()
        for i, lexname in enumerate(LEXNAMES):
            body.write(f"{i:02d}\t{lexname}\t{_LEX_CATEGORY[lexname.split('.')[0]]}\n")
        _write_atomic(target / "lexnames", body.getvalue().encode())
    return root


def main(argv: list[str] | None = None) -> int:
    try:
        idx = load_index()
    except WordNetMissing as exc:
        print(exc.details, file=sys.stderr)
        return 1
    forms = sum(len(v) for v in idx.lemmas.values())
    print(f"WordNet {WORDNET_VERSION} from {idx.source.describe()}; {forms} lemma forms")
    print(f"index cache: {idx.cache_file or '(not writable: rebuilt in memory)'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
