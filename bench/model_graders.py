"""score_model throughput against a judge that answers after 100 ms, at concurrency 64.

The bound is 64 requests in flight / 0.1 s = 640 rows/s; the target is 90% of it.
The baseline, measured in the same run, is the obvious client: the official SDK's
typed ``chat.completions.create`` on its default httpx transport at the same
concurrency, with the same request bodies.

The test judge (tests/judge_server.py) runs in its own process so that its CPU is
not ours. ``python -m bench.model_graders [ROWS]``.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.report import write_section

ROOT = Path(__file__).resolve().parent.parent
CONCURRENCY = 64
DELAY = 0.1
BOUND = CONCURRENCY / DELAY

GRADER = {
    "type": "score_model",
    "name": "judge",
    "model": "gpt-4o-mini",
    "input": [
        {"role": "system", "content": "Score the answer from 0 to 1 against the reference."},
        {"role": "user", "content": "Answer: {{ sample.output_text }}\nReference: {{ item.reference }}"},
    ],
    "sampling_params": {"temperature": 0, "seed": 1},
}


def start_judge() -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.judge_server", "--delay", str(DELAY), "--result", "0.5"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    port = int(proc.stdout.readline().split()[1])
    return proc, f"http://127.0.0.1:{port}/v1"


async def ours(base_url: str, rows: list[tuple[str, dict[str, Any]]]) -> tuple[float, float, float]:
    import graders
    from graders.backends import Judge
    from graders.validation import parse_grader

    model = parse_grader(GRADER)
    judge = Judge(base_url=base_url, api_key="bench", concurrency=CONCURRENCY, cache=False)
    options = graders.RunOptions(judge=judge)
    slots = asyncio.Semaphore(CONCURRENCY)

    async def one(sample: str, item: dict[str, Any]) -> float:
        async with slots:
            return (await graders.arun(model, sample, item, options=options)).reward

    await asyncio.gather(*(one(s, i) for s, i in rows[:CONCURRENCY]))  # warm the connections
    wall, cpu = time.perf_counter(), time.process_time()
    rewards = await asyncio.gather(*(one(s, i) for s, i in rows))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    assert judge.stats.failures == 0 and all(r == 0.5 for r in rewards), "judge answers were not all graded"
    await judge.aclose()
    return len(rows) / wall, cpu / len(rows) * 1000, wall


async def sdk_baseline(base_url: str, rows: list[tuple[str, dict[str, Any]]]) -> float:
    import json

    import openai

    from graders.model_graders import build_request
    from graders.validation import parse_grader

    model = parse_grader(GRADER)
    client = openai.AsyncOpenAI(base_url=base_url, api_key="bench", max_retries=0)
    slots = asyncio.Semaphore(CONCURRENCY)

    async def one(sample: str, item: dict[str, Any]) -> float:
        body = build_request(model, {"sample": {"output_text": sample}, "item": item})  # type: ignore[arg-type]
        async with slots:
            completion = await client.chat.completions.create(**body)
        return float(json.loads(completion.choices[0].message.content or "{}")["result"])

    await asyncio.gather(*(one(s, i) for s, i in rows[:CONCURRENCY]))
    wall = time.perf_counter()
    await asyncio.gather(*(one(s, i) for s, i in rows))
    wall = time.perf_counter() - wall
    await client.close()
    return len(rows) / wall


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    rows = [(f"answer {i}", {"reference": f"reference {i % 50}"}) for i in range(n)]
    proc, base_url = start_judge()
    try:
        rate, cpu_ms, wall = asyncio.run(ours(base_url, rows))
        baseline = asyncio.run(sdk_baseline(base_url, rows))
    finally:
        proc.terminate()
        proc.wait()
    share = rate / BOUND
    verdict = "met" if share >= 0.9 else "NOT met"
    print(
        f"score_model  ours {rate:,.0f} rows/s  bound {BOUND:,.0f} rows/s  ({share:.0%} of bound, target 90% {verdict})"
        f"  sdk baseline {baseline:,.0f} rows/s  ratio {rate / baseline:.1f}x  client CPU {cpu_ms:.2f} ms/row"
    )
    write_section(
        "Model graders (judge answering after 100 ms, concurrency 64)",
        f"""
`python -m bench.model_graders` — {n:,} score_model rows through `graders.arun` against the
test judge (tests/judge_server.py, its own process), concurrency {CONCURRENCY}.

| client | rows/s | share of bound ({BOUND:,.0f} rows/s) |
|---|---|---|
| ours (graders.backends.Judge) | {rate:,.0f} | {share:.0%} (target 90%: {verdict}) |
| openai SDK `chat.completions.create`, default transport | {baseline:,.0f} | {baseline / BOUND:.0%} |

Ours is {rate / baseline:.1f}x the SDK baseline; client CPU {cpu_ms:.2f} ms per row, {wall:.2f} s wall.
The machine is shared with other work (2 cores), so figures can be low.
""",
    )


if __name__ == "__main__":
    main()
