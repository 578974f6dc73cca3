"""Python grader throughput: through the sandbox (a fresh process per grade) vs in-process.

    python -m bench.python_grader [N]

Prints grades/s for both, the per-grade overhead in ms, and the CPU time one grade
costs across host, fork server and child (what bounds throughput on an idle machine).
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any

from bench.report import write_section
from graders.sandbox import PythonLimits
from graders.sandbox import pool as sandbox_pool
from graders.sandbox.outcome import interpret

SOURCE = "def grade(sample, item):\n    return 1.0 if sample['output_text'] == item['answer'] else 0.0\n"
SAMPLE = {"output_text": "Paris", "output_json": None, "output_tools": [], "choices": []}
ITEM = {"answer": "Paris"}


def _cpu_of(pid: int) -> float:
    """utime+stime of a process and its reaped children, in seconds."""
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    ticks = sum(int(x) for x in fields[11:15])
    return ticks / os.sysconf("SC_CLK_TCK")


def in_process(n: int) -> float:
    namespace: dict[str, Any] = {}
    exec(compile(SOURCE, "grader.py", "exec"), namespace)
    grade = namespace["grade"]
    started = time.perf_counter()
    for _ in range(n):
        grade(dict(SAMPLE), dict(ITEM))
    return n / (time.perf_counter() - started)


def sandboxed(n: int) -> tuple[float, float, float]:
    limits = PythonLimits(timeout=30)
    pool = sandbox_pool.get_pool()
    for _ in range(20):  # warm up
        sandbox_pool.grade(SOURCE, SAMPLE, ITEM, limits)
    server = pool.process.pid
    host0, server0 = time.process_time(), _cpu_of(server)
    started = time.perf_counter()
    futures = [pool.submit(SOURCE, SAMPLE, ITEM, limits) for _ in range(n)]
    results = [interpret(f.result()) for f in futures]
    elapsed = time.perf_counter() - started
    cpu = (time.process_time() - host0) + (_cpu_of(server) - server0)
    bad = [r for r in results if r.value != 1.0]
    if bad:
        raise SystemExit(f"sandboxed grade failed: {bad[0]}")
    one_by_one = 200
    t0 = time.perf_counter()
    for _ in range(one_by_one):
        sandbox_pool.grade(SOURCE, SAMPLE, ITEM, limits)
    latency = (time.perf_counter() - t0) / one_by_one
    return n / elapsed, cpu / n, latency


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    load = os.getloadavg()[0]
    ours, cpu_per_grade, latency = sandboxed(n)
    base = in_process(n * 50)
    overhead_ms = 1000 / ours - 1000 / base
    line = (
        f"python grader  sandbox {ours:,.0f} grades/s  in-process {base:,.0f} grades/s  "
        f"ratio {base / ours:,.0f}x slower  overhead {overhead_ms:.2f} ms/grade  "
        f"cpu {cpu_per_grade * 1000:.2f} ms/grade  one-at-a-time latency {latency * 1000:.2f} ms  "
        f"(load average {load:.1f} on {os.cpu_count()} cores)"
    )
    print(line)
    write_section(
        "python grader sandbox",
        "\n".join([
            "| | grades/s |",
            "|---|---|",
            f"| sandbox (fresh process per grade, {n} submitted at once) | {ours:,.0f} |",
            f"| in-process call (baseline, no isolation) | {base:,.0f} |",
            "",
            f"Overhead {overhead_ms:.2f} ms per grade; CPU (host + fork server + child) "
            f"{cpu_per_grade * 1000:.2f} ms per grade; one grade at a time {latency * 1000:.2f} ms. "
            f"Load average {load:.1f} when measured (other work shares the cores).",
        ]),
    )


if __name__ == "__main__":
    main()
