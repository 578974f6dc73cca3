"""Write a reinforcement fine-tuning job and its data: rft_job.json, rft_train.jsonl, rft_valid.jsonl,
and its grader alone with unit-test cases: rft_grader.json, rft_grader.cases.jsonl.

The task: short word problems with a number and a unit as the answer. The model
answers in JSON (the job sets a json_schema response format); the grader gives
0.8 for the right number and 0.2 for the right unit. Each row carries the prompt
(``messages``), the reference (``answer``, ``unit``) and ``baseline_output``, the
answer of an earlier, weaker model, so that ``graders preflight --sample-field
baseline_output`` shows how the grader spreads rewards before any money is spent.

Deterministic (seeded), self-contained, no duplicates, no row in both files.
Run: python datasets/make_rft.py
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
TRAIN, VALID = 200, 50

DEVELOPER = (
    "Solve the word problem. Reply with JSON only: "
    '{"answer": "<number, digits only>", "unit": "<unit, singular, lower case>"}.'
)

NAMES = ["Ana", "Bilal", "Chen", "Dara", "Emeka", "Freya", "Goran", "Hana", "Ivan", "Jalen", "Kiri", "Lucia"]


def problem(kind: str, rng: random.Random) -> tuple[str, int, str]:
    name = rng.choice(NAMES)
    if kind == "speed":
        speed, hours = rng.randint(3, 90), rng.randint(2, 9)
        return f"{name} travels at {speed} km per hour for {hours} hours. How far does {name} travel?", speed * hours, "km"
    if kind == "apples":
        boxes, per_box, eaten = rng.randint(2, 12), rng.randint(5, 30), rng.randint(1, 9)
        return (
            f"{name} has {boxes} boxes of {per_box} apples and eats {eaten} of them. How many apples are left?",
            boxes * per_box - eaten,
            "apple",
        )
    if kind == "minutes":
        hours, extra = rng.randint(1, 7), rng.randint(1, 59)
        return f"A film lasts {hours} hours and {extra} minutes. How long is it in minutes?", hours * 60 + extra, "minute"
    if kind == "money":
        price, count, coupon = rng.randint(2, 40), rng.randint(2, 15), rng.randint(1, 10)
        return (
            (
                f"{name} buys {count} tickets at {price} dollars each and uses a {coupon} dollar coupon. "
                f"How much does {name} pay?"
            ),
            price * count - coupon,
            "dollar",
        )
    width, length = rng.randint(2, 40), rng.randint(2, 40)
    return f"A garden is {width} m wide and {length} m long. What is its area?", width * length, "square meter"


def baseline(answer: int, unit: str, rng: random.Random) -> str:
    """An earlier model's output (JSON, as the response format asks): right, off by a slip, or wrong unit."""
    kind = rng.choices(["right", "slip", "unit"], weights=[55, 28, 17])[0]
    if kind == "slip":
        answer += rng.choice([-10, -1, 1, 2, 10])
    if kind == "unit":
        unit = {"km": "mile", "apple": "box", "minute": "hour", "dollar": "cent"}.get(unit, "meter")
    return json.dumps({"answer": str(answer), "unit": unit})


def rows(rng: random.Random) -> list[dict[str, Any]]:
    seen: set[str] = set()
    out: list[dict[str, Any]] = []
    kinds = ["speed", "apples", "minutes", "money", "area"]
    while len(out) < TRAIN + VALID:
        question, answer, unit = problem(kinds[len(out) % len(kinds)], rng)
        if question in seen:
            continue  # the same problem twice would be a duplicate (or leak into validation)
        seen.add(question)
        out.append(
            {
                "messages": [{"role": "developer", "content": DEVELOPER}, {"role": "user", "content": question}],
                "answer": str(answer),
                "unit": unit,
                "baseline_output": baseline(answer, unit, rng),
            }
        )
    return out


GRADER = {
    "type": "multi",
    "name": "number_and_unit",
    "graders": {
        "number": {
            "type": "string_check",
            "name": "right number",
            "input": "{{ sample.output_json.answer }}",
            "reference": "{{ item.answer }}",
            "operation": "eq",
        },
        "unit": {
            "type": "string_check",
            "name": "right unit",
            "input": "{{ sample.output_json.unit }}",
            "reference": "{{ item.unit }}",
            "operation": "ilike",
        },
    },
    "calculate_output": "0.8 * number + 0.2 * unit",
}

JOB = {
    "model": "o4-mini-2025-04-16",
    "training_file": "file-rft-train-upload-id",
    "validation_file": "file-rft-valid-upload-id",
    "suffix": "word-problems",
    "seed": 42,
    "method": {
        "type": "reinforcement",
        "reinforcement": {
            "grader": GRADER,
            "response_format": {
                "type": "json_schema",
                "json_schema": {
                    "name": "answer",
                    "strict": True,
                    "schema": {
                        "type": "object",
                        "properties": {"answer": {"type": "string"}, "unit": {"type": "string"}},
                        "required": ["answer", "unit"],
                        "additionalProperties": False,
                    },
                },
            },
            "hyperparameters": {"n_epochs": 2, "reasoning_effort": "medium", "eval_interval": 5, "eval_samples": 4},
        },
    },
    "metadata": {"project": "word-problems", "dataset": "datasets/make_rft.py"},
}


# Unit tests of GRADER for `graders test datasets/rft_grader.json datasets/rft_grader.cases.jsonl`;
# expected rewards by hand from calculate_output = 0.8 * number + 0.2 * unit.
CASES = [
    {"name": "right", "item": {"answer": "40", "unit": "km"}, "model_sample": '{"answer": "40", "unit": "km"}', "expect": 1},
    {"name": "unit case does not matter", "item": {"answer": "40", "unit": "km"}, "model_sample": '{"answer": "40", "unit": "KM"}', "expect": 1},
    {"name": "wrong unit", "item": {"answer": "40", "unit": "km"}, "model_sample": '{"answer": "40", "unit": "mile"}', "expect": 0.8},
    {"name": "wrong number", "item": {"answer": "40", "unit": "km"}, "model_sample": '{"answer": "41", "unit": "km"}', "expect": {"reward": 0.2, "tol": 1e-12}},
    {"name": "number as JSON number", "item": {"answer": "40", "unit": "km"}, "model_sample": '{"answer": 40, "unit": "km"}', "expect": 1},
    {"name": "wrong both", "item": {"answer": "40", "unit": "km"}, "model_sample": '{"answer": "4", "unit": "m"}', "expect": {"max": 0}},
    {"name": "not JSON", "item": {"answer": "40", "unit": "km"}, "model_sample": "40 km", "expect": {"error": "invalid_variable_error"}},
    {"name": "missing unit key", "item": {"answer": "40", "unit": "km"}, "model_sample": '{"answer": "40"}', "expect": {"error": "invalid_variable_error"}},
]


def write_jsonl(path: Path, data: list[dict[str, Any]]) -> None:
    with path.open("w", encoding="utf-8") as handle:
        for row in data:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")


def main() -> None:
    data = rows(random.Random(20250508))
    write_jsonl(HERE / "rft_train.jsonl", data[:TRAIN])
    write_jsonl(HERE / "rft_valid.jsonl", data[TRAIN:])
    (HERE / "rft_job.json").write_text(json.dumps(JOB, indent=2) + "\n", encoding="utf-8")
    (HERE / "rft_grader.json").write_text(json.dumps(GRADER, indent=2) + "\n", encoding="utf-8")
    write_jsonl(HERE / "rft_grader.cases.jsonl", CASES)
    print(f"wrote rft_job.json, {TRAIN} training rows and {VALID} validation rows to {HERE}")


if __name__ == "__main__":
    main()
