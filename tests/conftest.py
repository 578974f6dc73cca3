from __future__ import annotations

import json
from pathlib import Path
from typing import Any

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
