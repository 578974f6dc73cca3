"""Preflight on a 100,000-row training file: rows/s, against the floor of just parsing the file.

The job is datasets/rft_job.json (a multi grader of two string checks reading
``{{ item.answer }}`` / ``{{ item.unit }}``); the rows are its word problems, made
unique by numbering. Measured in the same run:

* ``parse only`` — ``json.loads`` of every line, nothing else: the baseline any
  checker pays;
* ``preflight`` — format, duplicate hashes and item references on every row;
* ``preflight + dry run`` — the same plus the grader run on every row.

Run: python -m bench.preflight [ROWS]
"""

from __future__ import annotations

import json
import random
import sys
import tempfile
import time
from pathlib import Path

from bench.report import write_section

ROOT = Path(__file__).resolve().parents[1]
JOB = ROOT / "datasets" / "rft_job.json"


def make_rows(path: Path, n: int) -> None:
    sys.path.insert(0, str(ROOT / "datasets"))
    import make_rft

    base = make_rft.rows(random.Random(1))
    with path.open("w", encoding="utf-8") as handle:
        for i in range(n):
            row = dict(base[i % len(base)])
            row["messages"] = [row["messages"][0], {"role": "user", "content": f"#{i} {row['messages'][1]['content']}"}]
            handle.write(json.dumps(row) + "\n")


def parse_only(path: Path) -> int:
    count = 0
    with path.open("rb") as handle:
        for raw in handle:
            json.loads(raw)
            count += 1
    return count


def timed(fn: object, *args: object, **kwargs: object) -> tuple[float, object]:
    started = time.perf_counter()
    value = fn(*args, **kwargs)  # type: ignore[operator]
    return time.perf_counter() - started, value


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    from graders.preflight import preflight

    with tempfile.TemporaryDirectory() as tmp:
        train = Path(tmp) / "train.jsonl"
        make_rows(train, n)
        size_mb = train.stat().st_size / 1e6
        t_parse, _ = timed(parse_only, train)
        t_check, report = timed(preflight, JOB, training_file=train)
        assert report.ok and report.files[0].rows == n, [str(f) for f in report.findings[:5]]  # type: ignore[attr-defined]
        t_dry, report = timed(preflight, JOB, training_file=train, sample_field="baseline_output")
        assert report.ok, [str(f) for f in report.findings[:5]]  # type: ignore[attr-defined]
    lines = [
        f"preflight  {n:,} rows ({size_mb:.0f} MB)",
        f"  parse only (baseline)  {n / t_parse:>10,.0f} rows/s  {t_parse:6.2f} s",
        f"  preflight              {n / t_check:>10,.0f} rows/s  {t_check:6.2f} s  ratio {t_parse / t_check:.2f}x of parse-only",
        f"  preflight + dry run    {n / t_dry:>10,.0f} rows/s  {t_dry:6.2f} s  ratio {t_parse / t_dry:.2f}x of parse-only",
    ]
    text = "\n".join(lines)
    print(text)
    write_section(
        "preflight",
        "`python -m bench.preflight` — datasets/rft_job.json (multi of two string_check) on a generated "
        f"{n:,}-row training file. Checks: row format, duplicate hashes, item references; the dry run "
        "also grades every row. The machine is shared with other jobs, so absolute numbers may be low.\n\n"
        f"```\n{text}\n```",
    )


if __name__ == "__main__":
    main()
