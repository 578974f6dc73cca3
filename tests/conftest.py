from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.judge_server import JudgeServer

GOLDEN = Path(__file__).with_name("golden")


def golden(name: str) -> list[dict[str, Any]]:
    """The cases of tests/golden/<name>.json."""
    return json.loads((GOLDEN / f"{name}.json").read_text(encoding="utf-8"))["cases"]


def exact_grader() -> dict[str, Any]:
    """A fresh copy of the string_check grader many tests use: sample text == item.answer."""
    return {
        "type": "string_check",
        "name": "exact",
        "input": "{{ sample.output_text }}",
        "reference": "{{ item.answer }}",
        "operation": "eq",
    }


@pytest.fixture(scope="module")
def scripted_judge() -> Iterator[JudgeServer]:
    """The scripted OpenAI-compatible judge (tests/judge_server.py), one per test module."""
    with JudgeServer() as srv:
        yield srv


@pytest.fixture
def judge_server(scripted_judge: JudgeServer) -> JudgeServer:
    """The module's judge with every script and recorded request forgotten."""
    return scripted_judge.reset()
