"""Authoring python graders from .py files: run / validate / export / doctor, limits flags, image parity."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from cli import main
from graders.sandbox.image import IMAGE_PACKAGES, import_warnings
from graders.sandbox.limits import DEFAULT_LIMITS, PythonLimits

GOOD = "def grade(sample, item):\n    return 1.0 if sample['output_text'] == item.get('answer') else 0.0\n"


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def write(tmp_path, name: str, text: str):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_defaults_are_openais():
    # SEMANTICS §6: 2 minutes, 2 GB memory, 1 GB disk, 2 CPUs.
    assert (DEFAULT_LIMITS.timeout, DEFAULT_LIMITS.memory_mb, DEFAULT_LIMITS.disk_mb) == (120.0, 2048, 1024)
    assert DEFAULT_LIMITS.effective_cpu_seconds == 240.0
    with pytest.raises(ValueError):
        PythonLimits(timeout=0)


def test_run_a_py_file(runner, tmp_path):
    path = write(tmp_path, "exact.py", GOOD)
    result = runner.invoke(main, ["run", path, "--model-sample", "Paris", "--item", '{"answer": "Paris"}'])
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert body["reward"] == 1.0
    assert body["metadata"]["name"] == "exact"


def test_run_timeout_flag(runner, tmp_path):
    path = write(tmp_path, "slow.py", "import time\ndef grade(s, i):\n    time.sleep(30)\n")
    result = runner.invoke(main, ["run", path, "--model-sample", "x", "--python-timeout", "1"])
    assert result.exit_code == 0, result.output
    errors = json.loads(result.output)["metadata"]["errors"]
    assert errors["python_grader_server_error"] is True
    assert errors["python_grader_server_error_type"] == "timeout"


def test_run_memory_flag(runner, tmp_path):
    path = write(tmp_path, "big.py", "def grade(s, i):\n    x = bytearray(200 << 20)\n    return 1.0\n")
    small = runner.invoke(main, ["run", path, "--model-sample", "x", "--python-memory-mb", "64"])
    errors = json.loads(small.output)["metadata"]["errors"]
    assert errors["python_grader_server_error_type"] == "memory_limit"
    roomy = runner.invoke(main, ["run", path, "--model-sample", "x", "--python-memory-mb", "512"])
    assert json.loads(roomy.output)["reward"] == 1.0


@pytest.mark.parametrize(
    ("source", "needle"),
    [("def grade(sample, item)\n    return 1\n", "SyntaxError"),
     ("def score(sample, item):\n    return 1\n", "no function grade")],
)
def test_run_reports_source_problems_as_runtime_errors(runner, tmp_path, source, needle):
    path = write(tmp_path, "bad.py", source)
    result = runner.invoke(main, ["run", path, "--model-sample", "x"])
    assert result.exit_code == 0, result.output
    errors = json.loads(result.output)["metadata"]["errors"]
    assert errors["python_grader_runtime_error"] is True
    assert needle in errors["python_grader_runtime_error_details"]


def test_run_refuses_oversize_source(runner, tmp_path):
    path = write(tmp_path, "huge.py", GOOD + "#" * (256 * 1024))
    result = runner.invoke(main, ["run", path, "--model-sample", "x"])
    assert result.exit_code == 1
    assert "256 kB" in result.output


@pytest.mark.parametrize(
    ("source", "needle"),
    [("def grade(sample, item)\n    return 1\n", "does not compile"),
     ("def score(sample, item):\n    return 1\n", "no top-level function grade"),
     ("def grade(sample):\n    return 1\n", "two positional parameters"),
     (GOOD + "#" * (256 * 1024), "256 kB")],
)
def test_validate_refuses(runner, tmp_path, source, needle):
    result = runner.invoke(main, ["validate", write(tmp_path, "bad.py", source)])
    assert result.exit_code == 1
    assert needle in result.output


def test_validate_just_under_the_limit_is_accepted(runner, tmp_path):
    source = GOOD + "#" * (256 * 1024 - len(GOOD.encode()) - 1)
    assert len(source.encode()) == 256 * 1024 - 1
    result = runner.invoke(main, ["validate", write(tmp_path, "edge.py", source)])
    assert result.exit_code == 0, result.output


def test_validate_warns_on_imports_outside_the_image(runner, tmp_path):
    source = "import numpy\nimport json\nfrom helpers import x\nfrom . import y\n" + GOOD
    result = runner.invoke(main, ["validate", write(tmp_path, "g.py", source)])
    assert result.exit_code == 0, result.output
    assert "import 'helpers'" in result.stderr
    assert "relative import" in result.stderr
    assert "numpy" not in result.stderr and "'json'" not in result.stderr


def test_export_prints_grader_json(runner, tmp_path):
    path = write(tmp_path, "my_grader.py", GOOD)
    result = runner.invoke(main, ["export", path, "--image-tag", "2025-05-08"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"type": "python", "name": "my_grader", "source": GOOD,
                                         "image_tag": "2025-05-08"}


def test_export_refuses_a_broken_source(runner, tmp_path):
    result = runner.invoke(main, ["export", write(tmp_path, "b.py", "def grade(:\n")])
    assert result.exit_code == 1


def test_doctor(runner):
    result = runner.invoke(main, ["doctor", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["features"]["network_namespace"] is True


def test_import_warnings_unit():
    assert import_warnings("import os, re\nimport sklearn.metrics\nfrom scipy import stats\n") == []
    (warning,) = import_warnings("import torch\n")
    assert "torch" in warning and "line 1" in warning
    assert import_warnings("def grade(:") == []  # does not parse: validation reports that, not us
    assert IMAGE_PACKAGES["numpy"] == "2.2.4"
