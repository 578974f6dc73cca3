"""``python -m bench.server``: string_check ``/run`` over HTTP vs the same grade through the Python API.

The server is ``graders serve`` in its own process (access log on, as shipped, written
to /dev/null); the load comes from a third process: a minimal keep-alive HTTP/1.1
client on asyncio (uvloop when installed) holding ``--connections`` connections, each
sending the next request as soon as the previous answer is read. Latency is measured
per request from write to the last body byte. The baseline is ``graders.run`` in a
loop in this process: what the same grade costs without HTTP.

Target (issue 6): ≥ 1,500 req/s with p99 ≤ 50 ms at 32 connections, no errors.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.report import write_section

GRADER = {
    "type": "string_check",
    "name": "exact",
    "operation": "eq",
    "input": "{{ sample.output_text }}",
    "reference": "{{ item.answer }}",
}
SAMPLE, ITEM = "Paris", {"answer": "Paris"}
PATH = "/v1/fine_tuning/alpha/graders/run"
KEY = "bench-key"


# ------------------------------------------------------------------ load generator (separate process)


async def _connection(
    host: str,
    port: int,
    request: bytes,
    stop_at: float,
    warm_until: float,
    latencies: list[float],
    errors: list[str],
) -> int:
    reader, writer = await asyncio.open_connection(host, port)
    done = 0
    try:
        while True:
            started = time.perf_counter()
            if started >= stop_at:
                break
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            payload = await reader.readexactly(length)
            finished = time.perf_counter()
            if started < warm_until:
                continue
            if status != 200 or b'"reward":1.0' not in payload:
                errors.append(f"{status} {payload[:200]!r}")
            latencies.append(finished - started)
            done += 1
    finally:
        writer.close()
    return done


async def _load(host: str, port: int, connections: int, seconds: float, warmup: float) -> dict[str, Any]:
    body = json.dumps({"grader": GRADER, "model_sample": SAMPLE, "item": ITEM}).encode()
    request = (
        f"POST {PATH} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {KEY}\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    latencies: list[float] = []
    errors: list[str] = []
    now = time.perf_counter()
    warm_until, stop_at = now + warmup, now + warmup + seconds
    await asyncio.gather(
        *(
            _connection(host, port, request, stop_at, warm_until, latencies, errors)
            for _ in range(connections)
        )
    )
    return {"latencies": latencies, "errors": errors[:5], "error_count": len(errors), "seconds": seconds}


def load_main(host: str, port: int, connections: int, seconds: float, warmup: float) -> None:
    try:
        import uvloop

        run = uvloop.run
    except ImportError:
        run = asyncio.run
    result = run(_load(host, port, connections, seconds, warmup))
    json.dump(result, sys.stdout)


# ------------------------------------------------------------------ the benchmark


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start_server(port: int, extra: list[str]) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import cli; cli.main()",
            "serve",
            "--port",
            str(port),
            "--api-key",
            KEY,
            *extra,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return proc
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("server did not start")


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process (Linux): server cost per request whatever the contention."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure_server(connections: int, seconds: float, warmup: float, extra: list[str]) -> dict[str, Any]:
    port = _free_port()
    server = _start_server(port, extra)
    cpu_before = _cpu_seconds(server.pid)
    try:
        out = subprocess.run(
            [
                sys.executable,
                "-m",
                "bench.server",
                "--load",
                "--port",
                str(port),
                "--connections",
                str(connections),
                "--seconds",
                str(seconds),
                "--warmup",
                str(warmup),
            ],
            capture_output=True,
            check=True,
        ).stdout
        cpu_after = _cpu_seconds(server.pid)
    finally:
        server.terminate()
        server.wait(30)
    result = json.loads(out)
    lat = result["latencies"]
    cpu_us = None
    if cpu_before is not None and cpu_after is not None:
        # The warm-up requests are not counted in `lat`: estimate them at the measured rate.
        total = len(lat) * (1 + warmup / seconds)
        cpu_us = (cpu_after - cpu_before) / total * 1e6
    return {
        "cpu_us": cpu_us,
        "rps": len(lat) / result["seconds"],
        "p50_ms": _percentile(lat, 0.50) * 1000,
        "p99_ms": _percentile(lat, 0.99) * 1000,
        "requests": len(lat),
        "errors": result["error_count"],
        "error_examples": result["errors"],
    }


def measure_in_process(seconds: float) -> dict[str, Any]:
    import graders

    for _ in range(1000):  # warm caches (compiled templates, pydantic validators)
        graders.run(GRADER, SAMPLE, ITEM)
    latencies: list[float] = []
    stop_at = time.perf_counter() + seconds
    while True:
        started = time.perf_counter()
        if started >= stop_at:
            break
        result = graders.run(GRADER, SAMPLE, ITEM)
        latencies.append(time.perf_counter() - started)
        assert result.reward == 1.0
    return {
        "rps": len(latencies) / seconds,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": _percentile(latencies, 0.99) * 1000,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--load", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--no-write", action="store_true", help="do not update bench/results.md")
    args = parser.parse_args()
    if args.load:
        load_main("127.0.0.1", args.port, args.connections, args.seconds, args.warmup)
        return 0

    baseline = measure_in_process(min(args.seconds, 3.0))
    logged = measure_server(args.connections, args.seconds, args.warmup, [])
    quiet = measure_server(args.connections, args.seconds, args.warmup, ["--no-access-log"])
    ok = logged["rps"] >= 1500 and logged["p99_ms"] <= 50 and logged["errors"] == 0
    rows = [
        ("graders serve, access log on", logged),
        ("graders serve, --no-access-log", quiet),
    ]
    lines = [
        (
            f"string_check `/run`, {args.connections} keep-alive connections from a separate process on "
            f"loopback, {args.seconds:g} s after {args.warmup:g} s warm-up; baseline `graders.run` "
            "in-process, one thread."
        ),
        "",
        "| | req/s | p50 ms | p99 ms | errors | server CPU µs/request |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for label, r in rows:
        cpu = "n/a" if r["cpu_us"] is None else f"{r['cpu_us']:.0f}"
        lines.append(
            f"| {label} | {r['rps']:,.0f} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | {r['errors']} | {cpu} |"
        )
    lines.append(
        f"| `graders.run` in-process (baseline) | {baseline['rps']:,.0f} | {baseline['p50_ms']:.3f} | "
        f"{baseline['p99_ms']:.3f} | 0 | {1e6 / baseline['rps']:.0f} |"
    )
    lines += [
        "",
        (
            f"Server / in-process throughput: {logged['rps'] / baseline['rps']:.2f}x. "
            f"Target ≥ 1,500 req/s, p99 ≤ 50 ms, no errors: **{'met' if ok else 'NOT met'}**."
        ),
        (
            f"The machine has {os.cpu_count()} cores shared by the server, the load generator and whatever "
            "else is running; figures taken while other work runs are low."
        ),
    ]
    table = "\n".join(lines)
    print(table)
    for label, r in rows:
        if r["error_examples"]:
            print(f"{label}: error examples: {r['error_examples']}", file=sys.stderr)
    if not args.no_write:
        write_section("server", table)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
