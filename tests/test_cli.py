"""The `graders validate` and `graders run` command forms (issue 2), through the real console script."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
GRADERS = [sys.executable, "-c", "import cli; cli.main()"]

STRING_CHECK = {"type": "string_check", "name": "exact", "input": "{{ sample.output_text }}", "reference": "{{ item.answer }}", "operation": "eq"}


def graders_cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*GRADERS, *args], input=stdin, capture_output=True, text=True, cwd=ROOT, timeout=60)


def write(tmp_path: Path, name: str, value: Any) -> str:
    path = tmp_path / name
    path.write_text(value if isinstance(value, str) else json.dumps(value), encoding="utf-8")
    return str(path)


def test_validate_valid_file(tmp_path: Path) -> None:
    done = graders_cli("validate", write(tmp_path, "g.json", STRING_CHECK))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"grader": STRING_CHECK}


def test_validate_from_stdin() -> None:
    done = graders_cli("validate", "-", stdin=json.dumps(STRING_CHECK))
    assert done.returncode == 0 and json.loads(done.stdout)["grader"] == STRING_CHECK


def test_validate_example_dataset_grader() -> None:
    done = graders_cli("validate", "datasets/qa_grader.json")
    assert done.returncode == 0
    assert json.loads(done.stdout)["grader"] == json.loads((ROOT / "datasets/qa_grader.json").read_text())


BAD = [
    ("malformed JSON", '{"type": "string_check",', "", "malformed JSON"),
    ("unknown type", {"type": "regex", "name": "x"}, "grader.type", "regex"),
    ("wrong field type", {**STRING_CHECK, "input": 3}, "grader.input", "string"),
    ("missing field", {k: v for k, v in STRING_CHECK.items() if k != "reference"}, "grader.reference", "required"),
    ("bad enum", {**STRING_CHECK, "operation": "startswith"}, "grader.operation", "'eq'"),
    (
        "passing_labels not in labels",
        {
            "type": "multi",
            "name": "m",
            "calculate_output": "l",
            "graders": {
                "l": {
                    "type": "label_model",
                    "name": "l",
                    "model": "m",
                    "input": [{"role": "user", "content": "x"}],
                    "labels": ["a", "b"],
                    "passing_labels": ["c"],
                }
            },
        },
        "grader.graders.l.passing_labels",
        "'c'",
    ),
]


@pytest.mark.parametrize(("case", "grader", "param", "fragment"), BAD, ids=[b[0] for b in BAD])
def test_validate_invalid(tmp_path: Path, case: str, grader: Any, param: str, fragment: str) -> None:
    done = graders_cli("validate", write(tmp_path, "g.json", grader))
    assert done.returncode == 1
    error = json.loads(done.stdout)["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["type"] == "invalid_request_error"
    assert error["param"] == (param or "grader")
    assert fragment in error["message"]
    # the readable list on stderr names the JSON path of each problem
    problem_lines = [line for line in done.stderr.splitlines() if line.startswith("  - ")]
    assert len(problem_lines) == 1
    assert problem_lines[0].startswith(f"  - {param.removeprefix('grader.') or '<root>'}: ")


def test_validate_lists_every_problem_on_stderr(tmp_path: Path) -> None:
    done = graders_cli("validate", write(tmp_path, "g.json", {"type": "string_check", "name": 5, "operation": "x"}))
    assert done.returncode == 1
    listed = sorted(line.split(":")[0].strip(" -") for line in done.stderr.splitlines() if line.startswith("  - "))
    assert listed == ["input", "name", "operation", "reference"]


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    assert graders_cli("validate").returncode == 2
    assert graders_cli("validate", str(tmp_path / "missing.json")).returncode == 2
    grader = write(tmp_path, "g.json", STRING_CHECK)
    assert graders_cli("run", grader).returncode == 2  # no model sample
    assert graders_cli("run", grader, "--model-sample", "x", "--model-sample-file", grader).returncode == 2
    assert graders_cli("run", grader, "--model-sample", "x", "--item", "{bad").returncode == 2


def test_run_prints_the_run_response(tmp_path: Path) -> None:
    done = graders_cli("run", write(tmp_path, "g.json", STRING_CHECK), "--model-sample", "Paris", "--item", '{"answer": "Paris"}')
    assert done.returncode == 0, done.stderr
    response = json.loads(done.stdout)
    assert response["reward"] == 1.0
    assert response["metadata"]["name"] == "exact" and response["metadata"]["type"] == "string_check"
    assert response["metadata"]["errors"]["invalid_variable_error"] is False
    assert set(response) == {"reward", "metadata", "sub_rewards", "model_grader_token_usage_per_model"}


def test_run_item_from_file_and_sample_from_file(tmp_path: Path) -> None:
    item = write(tmp_path, "item.json", {"answer": "multi\nline"})
    sample = write(tmp_path, "sample.txt", "multi\nline")
    done = graders_cli("run", write(tmp_path, "g.json", STRING_CHECK), "--model-sample-file", sample, "--item", f"@{item}")
    assert done.returncode == 0 and json.loads(done.stdout)["reward"] == 1.0


def test_run_zero_reward_still_exits_0(tmp_path: Path) -> None:
    done = graders_cli("run", write(tmp_path, "g.json", STRING_CHECK), "--model-sample", "Lyon", "--item", '{"answer": "Paris"}')
    assert done.returncode == 0 and json.loads(done.stdout)["reward"] == 0.0


def test_run_schema_refusal_behaves_as_validate(tmp_path: Path) -> None:
    done = graders_cli("run", write(tmp_path, "g.json", {**STRING_CHECK, "operation": "nope"}), "--model-sample", "x")
    assert done.returncode == 1
    assert json.loads(done.stdout)["error"]["param"] == "grader.operation"


def test_run_semantic_problem_runs_with_a_flag(tmp_path: Path) -> None:
    grader = {"type": "multi", "name": "m", "graders": {"a": STRING_CHECK}, "calculate_output": "a +"}
    done = graders_cli("run", write(tmp_path, "g.json", grader), "--model-sample", "x", "--item", '{"answer": "x"}')
    assert done.returncode == 0
    response = json.loads(done.stdout)
    assert response["metadata"]["errors"]["formula_parse_error"] is True and response["reward"] == 0


def test_py_file_is_a_python_grader(tmp_path: Path) -> None:
    path = tmp_path / "my_grader.py"
    path.write_text("def grade(sample, item):\n    return 1.0\n")
    done = graders_cli("validate", str(path))
    assert done.returncode == 0
    grader = json.loads(done.stdout)["grader"]
    assert grader == {"type": "python", "name": "my_grader", "source": path.read_text()}
