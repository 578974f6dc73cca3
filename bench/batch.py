"""``python -m bench.batch``: ``graders score`` on 100,000 rows vs a plain loop over the reference libraries.

The grader is a multi of string_check + fuzzy_match + rouge_l. Ours is the real CLI
(a subprocess, start-up included); the baseline is a plain Python loop that reads
the same file and calls ``rapidfuzz.fuzz.ratio`` and rouge-score's ``RougeScorer``
for the same three scores (timed on the first ``--loop-rows`` / 2 rows just before
ours and again just after, its rate is per row). Memory is the peak summed RSS of the whole process tree (parent,
forkserver, workers), polled every 100 ms; shared pages count once per process, so
it over-states. ``--million`` also scores 1,000,000 rows to show RSS does not grow.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.report import write_section

GRADER = {
    "type": "multi",
    "name": "bench",
    "graders": {
        "exact": {"type": "string_check", "name": "exact", "operation": "eq",
                  "input": "{{ sample.output_text }}", "reference": "{{ item.answer }}"},
        "fuzzy": {"type": "text_similarity", "name": "fuzzy", "evaluation_metric": "fuzzy_match",
                  "input": "{{ sample.output_text }}", "reference": "{{ item.answer }}"},
        "rouge": {"type": "text_similarity", "name": "rouge", "evaluation_metric": "rouge_l",
                  "input": "{{ sample.output_text }}", "reference": "{{ item.answer }}"},
    },
    "calculate_output": "(exact + fuzzy + rouge) / 3",
}

WORDS = (
    "the a an of to in is was capital city river mountain answer paris berlin rome madrid france germany "
    "italy spain largest north south east west population known for its museums bridges old new"
).split()


def make_rows(path: Path, n: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    with open(path, "w", encoding="utf-8") as handle:
        for i in range(n):
            # Answers of a sentence or two (12-40 words), as graded model outputs usually are.
            answer = " ".join(rng.choice(WORDS) for _ in range(rng.randint(12, 40)))
            if rng.random() < 0.2:
                sample = answer
            else:
                words = answer.split()
                start = rng.randint(0, len(words) // 3)
                kept = [w for w in words[start:] if rng.random() < 0.8]
                sample = " ".join(kept + [rng.choice(WORDS) for _ in range(rng.randint(0, 8))])
            handle.write(json.dumps({"id": f"r{i}", "item": {"answer": answer}, "model_sample": sample}) + "\n")


def tree_rss(pid: int) -> int:
    """Summed RSS (bytes) of ``pid`` and every descendant."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/status") as status:
                for line in status:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) * 1024
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as children:
                    todo.extend(int(c) for c in children.read().split())
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
    return total


def run_ours(grader: Path, data: Path, out: Path, jobs: int | None) -> tuple[float, int, str]:
    cmd = [sys.executable, "-m", "cli", "score", str(grader), str(data), "-o", str(out)]
    if jobs:
        cmd += ["--jobs", str(jobs)]
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    peak = 0
    while proc.poll() is None:
        peak = max(peak, tree_rss(proc.pid))
        time.sleep(0.1)  # the /proc walk costs CPU that the scorer would otherwise get
    elapsed = time.perf_counter() - started
    stdout = proc.stdout.read() if proc.stdout else ""
    if proc.returncode:
        raise SystemExit(f"graders score failed ({proc.returncode})")
    return elapsed, peak, stdout


def run_loop(data: Path, rows: int) -> tuple[float, list[float]]:
    """The baseline: what one would write by hand with the reference libraries."""
    from rapidfuzz import fuzz
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False)
    rewards = []
    started = time.perf_counter()
    with open(data, encoding="utf-8") as handle:
        for _, line in zip(range(rows), handle):
            row = json.loads(line)
            sample, answer = row["model_sample"], row["item"]["answer"]
            exact = 1.0 if sample == answer else 0.0
            fuzzy = fuzz.ratio(sample, answer) / 100.0
            rouge = scorer.score(answer, sample)["rougeL"].fmeasure
            rewards.append((exact + fuzzy + rouge) / 3)
    return time.perf_counter() - started, rewards


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--loop-rows", type=int, default=20_000)
    parser.add_argument("--jobs", type=int, default=None)
    parser.add_argument("--million", action="store_true", help="also score 1,000,000 rows (RSS growth)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-batch-") as tmp:
        root = Path(tmp)
        grader, data, out = root / "grader.json", root / "rows.jsonl", root / "out.jsonl"
        grader.write_text(json.dumps(GRADER), encoding="utf-8")
        make_rows(data, args.rows)
        # The loop runs before and after ours: this VM's speed drifts from minute to minute,
        # and sandwiching keeps a drift from landing on one side of the ratio only.
        loop_rows = min(args.loop_rows, args.rows)
        before_time, loop_rewards = run_loop(data, loop_rows // 2)
        elapsed, peak, _ = run_ours(grader, data, out, args.jobs)
        ours = args.rows / elapsed
        after_time, _ = run_loop(data, loop_rows // 2)
        loop_time = before_time + after_time
        loop = 2 * len(loop_rewards) / loop_time
        with open(out, encoding="utf-8") as handle:
            got = [json.loads(line)["reward"] for _, line in zip(range(len(loop_rewards)), handle)]
        diff = max(abs(a - b) for a, b in zip(got, loop_rewards))
        lines = [
            f"batch  ours {ours:,.0f} rows/s  loop {loop:,.0f} rows/s  ratio {ours / loop:.1f}x  "
            f"max|diff| {diff:.1e}  peak RSS {peak / 2**20:,.0f} MB ({args.rows:,} rows)"
        ]
        table = [
            "| rows | `graders score` rows/s | plain loop rows/s | ratio | max abs diff | peak tree RSS |",
            "|---:|---:|---:|---:|---:|---:|",
            f"| {args.rows:,} | {ours:,.0f} | {loop:,.0f} | {ours / loop:.1f}x | {diff:.1e} | {peak / 2**20:,.0f} MB |",
        ]
        if args.million:
            big = root / "rows1m.jsonl"
            with open(big, "wb") as handle:
                for _ in range(1_000_000 // args.rows):
                    handle.write(data.read_bytes())
            out.unlink()
            elapsed_m, peak_m, _ = run_ours(grader, big, out, args.jobs)
            lines.append(
                f"batch  1,000,000 rows: {1_000_000 / elapsed_m:,.0f} rows/s  peak RSS {peak_m / 2**20:,.0f} MB "
                f"(vs {peak / 2**20:,.0f} MB at {args.rows:,})"
            )
            table.append(f"| 1,000,000 | {1_000_000 / elapsed_m:,.0f} | | | | {peak_m / 2**20:,.0f} MB |")
    print("\n".join(lines))
    body = "\n".join(table) + (
        "\n\nGrader: multi of string_check + fuzzy_match + rouge_l. Ours: the `graders score` CLI as a "
        "subprocess (start-up included, every core). Loop: json + `rapidfuzz.fuzz.ratio` + rouge-score "
        f"`RougeScorer(['rougeL'])` in one process, timed on the first {len(loop_rewards):,} rows twice, just "
        "before and just after ours (this VM's speed drifts; the sandwich keeps a drift off one side). Peak RSS: the summed "
        "RSS of the scoring process tree (shared pages counted once per process). The machine is shared "
        "with other jobs, so absolute rates vary from run to run."
    )
    write_section("batch", body)


if __name__ == "__main__":
    main()
