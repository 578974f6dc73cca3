"""CLI start-up: `graders validate` on a small grader, against `python -c pass` as the baseline.

Target (issue 2): median ≤ 0.3 s on this machine, heavy libraries imported lazily.
Run: python -m bench.startup
"""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.report import write_section

RUNS = 15
TARGET_S = 0.3
# The floor any CLI built on the named dependencies pays: click, pydantic and one model.
FLOOR = (
    "import click\nfrom pydantic import BaseModel, TypeAdapter\n"
    "class A(BaseModel):\n    x: int\nTypeAdapter(A).validate_python({'x': 1})\n"
)
GRADER = {"type": "string_check", "name": "exact", "input": "{{ sample.output_text }}", "reference": "{{ item.answer }}", "operation": "eq"}


def median_seconds(*commands: list[str]) -> list[float]:
    """The median wall time of each command, run in turn (a, b, c, a, b, c, ...): this VM's speed
    drifts from minute to minute, and interleaving keeps a drift from landing on one command."""
    times: list[list[float]] = [[] for _ in commands]
    for _ in range(RUNS):
        for command, series in zip(commands, times):
            started = time.perf_counter()
            subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            series.append(time.perf_counter() - started)
    return [statistics.median(series) for series in times]


def main() -> None:
    console_script = shutil.which("graders", path=str(Path(sys.executable).parent)) or "graders"
    with tempfile.TemporaryDirectory() as tmp:
        grader = Path(tmp) / "grader.json"
        grader.write_text(json.dumps(GRADER))
        baseline, floor, ours = median_seconds(
            [sys.executable, "-c", "pass"], [sys.executable, "-c", FLOOR], [console_script, "validate", str(grader)]
        )
    verdict = "ok" if ours <= TARGET_S else "OVER TARGET"
    line = (
        f"graders validate  median {ours * 1000:.0f} ms   python -c pass  median {baseline * 1000:.0f} ms   "
        f"ratio {ours / baseline:.1f}x   target ≤ {TARGET_S * 1000:.0f} ms: {verdict}\n"
        f"floor: import click + pydantic and validate one model  median {floor * 1000:.0f} ms"
    )
    print(line)
    write_section(
        "CLI start-up (bench/startup.py)",
        f"| command | median of {RUNS} |\n|---|---|\n| `graders validate grader.json` | {ours * 1000:.0f} ms |\n"
        f"| `python -c pass` (baseline) | {baseline * 1000:.0f} ms |\n"
        f"| floor: `import click`, pydantic `BaseModel` + `TypeAdapter` of one model | {floor * 1000:.0f} ms |\n\nratio {ours / baseline:.1f}x; target ≤ 300 ms: **{verdict}**",
    )


if __name__ == "__main__":
    main()
