"""``graders score`` as a real process: kill -9 and Ctrl-C mid-run, then --resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from graders import batch
from tests.test_batch import MULTI, dataset, read_out, without_time

ROWS = 20_000


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("score_cli")
    grader = root / "grader.json"
    grader.write_text(json.dumps(MULTI), encoding="utf-8")
    data = root / "data.jsonl"
    lines = dataset(ROWS)
    lines[7] = "{not json"  # an unreadable row survives resume too
    data.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    reference = root / "reference.jsonl"
    batch.score_file(MULTI, data, reference, jobs=2)
    return {"grader": grader, "data": data, "reference": reference, "root": root}


def score_cmd(files: dict[str, Path], out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "cli", "score", str(files["grader"]), str(files["data"]), "-o", str(out),
            "--jobs", "2", *extra]


def start_and_wait_for_output(cmd: list[str], out: Path) -> subprocess.Popen[str]:
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if out.exists() and out.stat().st_size > 0:
            return proc
        if proc.poll() is not None:
            raise AssertionError(f"finished before any output: {proc.communicate()}")
        time.sleep(0.005)
    proc.kill()
    raise AssertionError("no output within 60 s")


def reap_group(proc: subprocess.Popen[str]) -> None:
    """The workers of the killed run: gone with their parent, or stopped here."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def assert_same_as_reference(out: Path, reference: Path) -> None:
    got, expected = read_out(out), read_out(reference)
    assert len(got) == ROWS
    assert without_time(got) == without_time(expected)


def test_kill_9_mid_run_then_resume_gives_the_uninterrupted_result(files: dict[str, Path]) -> None:
    out = files["root"] / "killed.jsonl"
    proc = start_and_wait_for_output(score_cmd(files, out), out)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    reap_group(proc)
    kept = out.read_bytes().count(b"\n")
    assert 0 < kept < ROWS, "the run must be killed mid-way"
    resumed = subprocess.run(score_cmd(files, out, "--resume"), capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert f"rows        {ROWS:,}" in resumed.stdout  # the summary covers the whole file
    assert_same_as_reference(out, files["reference"])


def test_ctrl_c_stops_cleanly_says_how_to_resume_and_resume_finishes(files: dict[str, Path]) -> None:
    out = files["root"] / "interrupted.jsonl"
    proc = start_and_wait_for_output(score_cmd(files, out), out)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    reap_group(proc)
    assert proc.returncode == 130, (stdout, stderr)
    assert "interrupted" in stderr and "--resume" in stderr
    data = out.read_bytes()
    assert data.endswith(b"\n")
    rows: list[Any] = [json.loads(line) for line in data.splitlines()]
    assert 0 < len(rows) < ROWS
    assert [r["row"] for r in rows] == list(range(len(rows)))
    resumed = subprocess.run(score_cmd(files, out, "--resume"), capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert_same_as_reference(out, files["reference"])
