"""The README's Python examples run as written (the front door stays true)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BLOCKS = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(encoding="utf-8"), re.S)
# Blocks that need a running server or a judge, or are fragments of a test module, are
# covered by their own tests (tests/test_server.py, tests/test_model_graders.py, tests/test_testing.py).
RUNNABLE = [b for b in BLOCKS if b.lstrip().startswith(("import graders", "import json")) and "OpenAI(" not in b]


def test_the_readme_has_runnable_python_examples() -> None:
    assert len(RUNNABLE) >= 3


@pytest.mark.parametrize("block", RUNNABLE, ids=lambda b: b.strip().splitlines()[-1][:40])
def test_readme_python_block_runs(block: str, tmp_path: Path) -> None:
    (tmp_path / "datasets").symlink_to(ROOT / "datasets")
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    env["PYTHONPATH"] = str(ROOT)
    done = subprocess.run([sys.executable, "-c", block], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    # A printed result the README shows as "# [..]" under its print() must be what it prints.
    for shown in re.findall(r"^# (\[[^\]]*\])", block, re.M):
        assert shown in done.stdout, (shown, done.stdout)
