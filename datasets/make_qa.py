"""Write datasets/qa.jsonl: questions about capitals, a reference answer and a model output.

Deterministic (seeded) and self-contained, so the example data is made here, never
downloaded. Outputs mix exact answers, answers in a sentence, case slips, typos,
wrong cities and refusals, so every grader in datasets/ has something to tell apart.
Run: python datasets/make_qa.py
"""

from __future__ import annotations

import json
import random
from pathlib import Path

CAPITALS = [
    ("France", "Paris"), ("Germany", "Berlin"), ("Italy", "Rome"), ("Spain", "Madrid"),
    ("Portugal", "Lisbon"), ("Japan", "Tokyo"), ("China", "Beijing"), ("India", "New Delhi"),
    ("Brazil", "Brasília"), ("Argentina", "Buenos Aires"), ("Canada", "Ottawa"), ("Australia", "Canberra"),
    ("Egypt", "Cairo"), ("Kenya", "Nairobi"), ("Nigeria", "Abuja"), ("Mexico", "Mexico City"),
    ("Peru", "Lima"), ("Chile", "Santiago"), ("Norway", "Oslo"), ("Sweden", "Stockholm"),
    ("Finland", "Helsinki"), ("Poland", "Warsaw"), ("Greece", "Athens"), ("Turkey", "Ankara"),
    ("Russia", "Moscow"), ("Ukraine", "Kyiv"), ("Austria", "Vienna"), ("Switzerland", "Bern"),
    ("Netherlands", "Amsterdam"), ("Belgium", "Brussels"), ("Ireland", "Dublin"), ("Iceland", "Reykjavík"),
    ("Vietnam", "Hanoi"), ("Thailand", "Bangkok"), ("South Korea", "Seoul"), ("Indonesia", "Jakarta"),
    ("Morocco", "Rabat"), ("Ethiopia", "Addis Ababa"), ("Colombia", "Bogotá"), ("New Zealand", "Wellington"),
]


def typo(word: str, rng: random.Random) -> str:
    if len(word) < 4:
        return word + word[-1]
    i = rng.randrange(1, len(word) - 1)
    return word[:i] + word[i + 1] + word[i] + word[i + 2 :]


def model_output(country: str, capital: str, rng: random.Random) -> str:
    wrong = rng.choice([c for _, c in CAPITALS if c != capital])
    kind = rng.choices(
        ["exact", "sentence", "lower", "typo", "wrong", "wrong_sentence", "refusal", "verbose"],
        weights=[30, 25, 8, 10, 12, 7, 3, 5],
    )[0]
    return {
        "exact": capital,
        "sentence": f"The capital of {country} is {capital}.",
        "lower": capital.lower(),
        "typo": typo(capital, rng),
        "wrong": wrong,
        "wrong_sentence": f"The capital of {country} is {wrong}.",
        "refusal": "I'm not sure, sorry.",
        "verbose": f"{capital} has been the capital of {country} for a long time; it is also its seat of government.",
    }[kind]


def main() -> None:
    rng = random.Random(20250508)
    rows = []
    for i in range(400):
        country, capital = CAPITALS[i % len(CAPITALS)]
        rows.append(
            {
                "id": f"qa-{i:04d}",
                "item": {
                    "question": f"What is the capital of {country}?",
                    "reference_answer": capital,
                },
                "model_sample": model_output(country, capital, rng),
            }
        )
    out = Path(__file__).with_name("qa.jsonl")
    with out.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"wrote {len(rows)} rows to {out}")


if __name__ == "__main__":
    main()
