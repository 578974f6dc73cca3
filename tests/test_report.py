"""graders.report: the HTML report's content, and that a real browser renders its histogram."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from graders import batch
from graders.report import histogram_svg
from tests.test_batch import MULTI, write_lines

LINES = [
    json.dumps({"id": "good", "item": {"answer": "Paris"}, "model_sample": "Paris"}),
    json.dumps({"id": "low", "item": {"answer": "Paris"}, "model_sample": "<script>alert(1)</script>"}),
    "{broken",
    json.dumps({"id": "flag", "item": {}, "model_sample": "Rome"}),
]


@pytest.fixture
def report(tmp_path: Path) -> Path:
    data = write_lines(tmp_path / "in.jsonl", LINES)
    path = tmp_path / "report.html"
    batch.score_file(MULTI, data, tmp_path / "out.jsonl", report=path, threshold=0.5)
    return path


def test_report_shows_histogram_errors_and_rendered_inputs(report: Path) -> None:
    html = report.read_text(encoding="utf-8")
    assert html.count('class="hist"') == 3  # the reward and two sub-graders
    assert html.count('class="bar"') == 30
    assert "invalid JSON" in html and "{broken" in html  # the unreadable row, with its raw line
    assert "invalid_variable_error" in html  # the flagged row
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>" not in html  # inputs are escaped
    assert "graders.exact.input" in html  # each template of the grader, rendered
    assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")  # self-contained


def test_histogram_svg_bars_are_proportional() -> None:
    svg = histogram_svg([{"lo": 0.0, "hi": 0.5, "count": 1}, {"lo": 0.5, "hi": 1.0, "count": 3}], height=134)
    # plot height = 134 - 34 - 14 = 86: bars of 86/3 and 86
    assert 'height="28.7"' in svg and 'height="86.0"' in svg


@pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium is not installed (apt-get install chromium)")
def test_report_renders_in_headless_chromium(report: Path, tmp_path: Path) -> None:
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
    dom = subprocess.run(
        ["chromium", *flags, "--dump-dom", report.as_uri()], capture_output=True, text=True, timeout=120
    )
    assert dom.returncode == 0, dom.stderr
    assert 'id="reward-histogram"' in dom.stdout and "<rect" in dom.stdout
    shot = tmp_path / "report.png"
    run = subprocess.run(
        ["chromium", *flags, f"--screenshot={shot}", "--window-size=1100,900", report.as_uri()],
        capture_output=True, text=True, timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000
