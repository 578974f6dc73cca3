"""text_similarity metrics: ours vs the reference library call, on the same pairs, same run.

For each metric: pairs/s of ``metrics.METRICS[name]`` and of ``metrics.reference`` on the
same 10,000 seeded pairs (metrics/corpus.py), their ratio and max |difference|; then
the time to the first METEOR score in a fresh process (index cached on disk, as after
``make install``). On a shared machine a run is noisy: the pairs are timed in blocks,
ours and the reference alternate block by block, and each block keeps its fastest of
``--repeat`` runs (caches are emptied before every run of ours, so a block never
profits from the previous run; the per-word stem and WordNet memos stay, as nltk keeps
the synsets it has loaded). CPU time of this process is measured, not wall time.

With the optional C n-gram kernel (metrics/_ngram_kernel.c) when it built; ``--pure-python``
measures the exact fallback path instead.

    python -m bench.metrics [--pairs 10000] [--repeat 3] [--samples-per-reference 1] [--pure-python] [metric ...]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from collections.abc import Callable

from bench.report import write_section
from metrics import METRICS, clear_caches, corpus, ngrams, reference

BLOCK = 500
TARGETS = {"fuzzy_match": 0.8}  # vs a bare rapidfuzz loop; every other metric: 5x its reference


def _time(fn: Callable[[str, str], float], pairs: list[tuple[str, str]]) -> tuple[float, list[float]]:
    start = time.process_time()
    out = [fn(p, r) for p, r in pairs]
    return time.process_time() - start, out


def measure(name: str, pairs: list[tuple[str, str]], repeat: int) -> dict[str, float]:
    ours = METRICS[name]
    ref = reference.REFERENCE[name]
    if name == "fuzzy_match":
        from rapidfuzz.fuzz import ratio

        ref = ratio  # the target is a bare rapidfuzz loop (its number is x100, not compared)
    ours_time = ref_time = 0.0
    diff = 0.0
    for start in range(0, len(pairs), BLOCK):
        block = pairs[start : start + BLOCK]
        best_ours = best_ref = float("inf")
        got: list[float] = []
        for _ in range(repeat):
            clear_caches(words=False)
            t, got = _time(ours, block)
            best_ours = min(best_ours, t)
            t, _ = _time(ref, block)
            best_ref = min(best_ref, t)
        ours_time += best_ours
        ref_time += best_ref
        expected = [reference.REFERENCE[name](p, r) for p, r in block]
        diff = max([diff] + [abs(a - b) for a, b in zip(got, expected)])
    return {"ours": len(pairs) / ours_time, "ref": len(pairs) / ref_time, "diff": diff}


FIRST_METEOR = """
import time
t0 = time.perf_counter()
from metrics import METRICS
score = METRICS["meteor"]("the cats were sitting on a rug", "a cat sat on the mat")
print(time.perf_counter() - t0)
"""


def first_meteor(runs: int = 5) -> tuple[float, float]:
    """(in-process seconds from `import metrics` to the first score, whole process wall seconds)."""
    subprocess.run([sys.executable, "-m", "metrics.wordnet"], check=True, capture_output=True)  # cache
    inner, outer = [], []
    for _ in range(runs):
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-c", FIRST_METEOR], check=True, capture_output=True, text=True)
        outer.append(time.perf_counter() - start)
        inner.append(float(done.stdout.strip()))
    return min(inner), min(outer)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--samples-per-reference", type=int, default=1)
    parser.add_argument("--no-write", action="store_true", help="print only, leave bench/results.md alone")
    parser.add_argument("--pure-python", action="store_true", help="n-gram metrics without the C kernel")
    parser.add_argument("metrics", nargs="*", default=sorted(METRICS))
    args = parser.parse_args(argv)
    if args.pure_python:
        ngrams.kernel = None
    path = "C n-gram kernel" if ngrams.kernel is not None else "pure-Python n-gram path (no C kernel)"
    print(f"bleu, gleu, rouge_1..5: {path}", flush=True)

    # One core for both sides: ours and the reference run in this one thread, pinned.
    cpu = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpu})
    pairs = corpus.pairs(args.pairs, seed=2024, samples_per_reference=args.samples_per_reference)
    reference.REFERENCE["meteor"]("warm", "up")  # nltk's WordNet loads once, outside the timing
    METRICS["meteor"]("warm", "up")
    rows = []
    failed = []
    for name in args.metrics:
        r = measure(name, pairs, args.repeat)
        ratio = r["ours"] / r["ref"]
        target = TARGETS.get(name, 5.0)
        ok = ratio >= target and r["diff"] <= 1e-9
        if not ok:
            failed.append(name)
        baseline = "bare rapidfuzz.fuzz.ratio loop" if name == "fuzzy_match" else reference.CALLS[name]
        rows.append(
            f"| {name} | {r['ours']:,.0f} | {r['ref']:,.0f} | {ratio:.1f}x (target {target:g}x) | "
            f"{r['diff']:.1g} | {baseline} |"
        )
        print(rows[-1], flush=True)
    inner, outer = first_meteor()
    print(f"first METEOR score: {inner:.3f} s after `import metrics`, {outer:.3f} s whole process", flush=True)

    spr = args.samples_per_reference
    body = "\n".join(
        [
            f"`python -m bench.metrics --pairs {args.pairs} --samples-per-reference {spr}`: "
            f"{args.pairs:,} seeded pairs (metrics/corpus.py), each reference used by {spr} "
            f"consecutive row(s); the same pairs for ours and the reference, in one process "
            f"pinned to one CPU, alternating block by block; CPU time, best of {args.repeat} per "
            f"block of {BLOCK}, caches emptied before every run of ours; bleu, gleu and "
            f"rouge_1..5 on the {path}. "
            "The machine is shared with other jobs, so absolute rates are low and noisy; "
            "the ratio is what the run compares.",
            "",
            "| metric | ours pairs/s | reference pairs/s | ratio | max abs diff | reference call |",
            "|---|---:|---:|---:|---:|---|",
            *rows,
            "",
            f"First METEOR score in a new process (WordNet index cached on disk): {inner:.3f} s from "
            f"`import metrics` to the score, {outer:.3f} s for the whole `python -c` process (target 0.5 s).",
        ]
    )
    if not args.no_write:
        write_section(f"text_similarity metrics (samples per reference: {spr})", body)
    if failed:
        print(f"below target: {', '.join(failed)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
