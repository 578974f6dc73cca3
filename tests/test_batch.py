"""graders.batch: malformed lines, order and count, resume, the I/O pipeline, the Python API."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from graders import batch
from graders.context import RunOptions
from tests.conftest import exact_grader

EXACT = exact_grader()
MULTI = {
    "type": "multi",
    "name": "mix",
    "graders": {
        "exact": EXACT,
        "fuzzy": {
            "type": "text_similarity",
            "name": "fuzzy",
            "input": "{{ sample.output_text }}",
            "reference": "{{ item.answer }}",
            "evaluation_metric": "fuzzy_match",
        },
    },
    "calculate_output": "(exact + fuzzy) / 2",
}


def write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def read_out(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def without_time(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for row in rows:
        row.get("metadata", {}).pop("execution_time", None)
    return rows


def dataset(n: int) -> list[str]:
    answers = ["Paris", "Berlin", "Rome", "Madrid"]
    rows = []
    for i in range(n):
        answer = answers[i % 4]
        sample = answer if i % 3 else answer.lower() + "!"
        rows.append(json.dumps({"id": f"r{i}", "item": {"answer": answer}, "model_sample": sample}))
    return rows


MALFORMED = [
    json.dumps({"id": "a", "item": {"answer": "Paris"}, "model_sample": "Paris"}),  # line 1: 1.0
    '{"item": {"answer": "Paris"}, "model_sample": ',  # 2: bad JSON
    "[1, 2, 3]",  # 3: not an object
    json.dumps({"model_sample": "Paris"}),  # 4: no item
    json.dumps({"id": 7, "item": "Paris", "model_sample": "Paris"}),  # 5: item not an object
    json.dumps({"item": {"answer": "Rome"}, "model_sample": 12}),  # 6: model_sample not a string
    json.dumps({"item": {"answer": "Rome"}, "sample": "Rome"}),  # 7: sample not an object
    "",  # 8: empty line
    json.dumps({"item": {"answer": "Rome"}, "sample": {"output_text": "Rome"}}),  # 9: 1.0
    json.dumps({"item": {"answer": "Rome"}, "model_sample": "Roma"}),  # 10: 0.0
]


@pytest.mark.parametrize("jobs", [1, 2])
def test_malformed_lines_are_reported_with_line_numbers_and_the_rest_is_scored(tmp_path: Path, jobs: int) -> None:
    data = write_lines(tmp_path / "in.jsonl", MALFORMED)
    out = tmp_path / "out.jsonl"
    summary = batch.score_file(EXACT, data, out, jobs=jobs, chunk_size=3)
    rows = read_out(out)
    assert [r["row"] for r in rows] == list(range(10))
    errors = {r["row"] + 1: r["error"] for r in rows if "error" in r}
    assert sorted(errors) == [2, 3, 4, 5, 6, 7, 8]
    for line, error in errors.items():
        assert error["line"] == line
    assert errors[2]["message"].startswith("invalid JSON")
    assert "got list" in errors[3]["message"]
    assert "item" in errors[4]["message"]
    assert "'item' must be an object" in errors[5]["message"]
    assert "'model_sample' must be a string" in errors[6]["message"]
    assert "'sample' must be an object" in errors[7]["message"]
    assert errors[8]["message"] == "empty line"
    assert rows[4]["id"] == 7  # the id is carried even when the row cannot be graded
    scored = {r["row"]: r for r in rows if "error" not in r}
    assert {k: v["reward"] for k, v in scored.items()} == {0: 1.0, 8: 1.0, 9: 0.0}
    assert scored[0]["id"] == "a" and "id" not in scored[8]
    assert list(scored[0]) == ["row", "id", "reward", "metadata", "sub_rewards", "model_grader_token_usage_per_model"]
    assert summary.rows == 10 and summary.scored == 3 and summary.unreadable == 7


def test_output_equals_the_run_response_of_each_row(tmp_path: Path) -> None:
    import graders

    lines = dataset(50)
    data = write_lines(tmp_path / "in.jsonl", lines)
    out = tmp_path / "out.jsonl"
    batch.score_file(MULTI, data, out, jobs=1)
    for line, got in zip(lines, read_out(out), strict=True):
        row = json.loads(line)
        expected = graders.run(MULTI, row["model_sample"], row["item"]).model_dump(mode="json")
        got.pop("row"), got.pop("id")
        got["metadata"].pop("execution_time"), expected["metadata"].pop("execution_time")
        assert got == expected


def test_order_and_count_with_several_workers(tmp_path: Path) -> None:
    data = write_lines(tmp_path / "in.jsonl", dataset(1000))
    one, two = tmp_path / "one.jsonl", tmp_path / "two.jsonl"
    batch.score_file(MULTI, data, one, jobs=1)
    batch.score_file(MULTI, data, two, jobs=2, chunk_size=37)
    rows = read_out(two)
    assert len(rows) == 1000
    assert [r["row"] for r in rows] == list(range(1000))
    assert [r["id"] for r in rows] == [f"r{i}" for i in range(1000)]
    assert without_time(rows) == without_time(read_out(one))


def test_sample_field_takes_the_sample_from_a_flat_row(tmp_path: Path) -> None:
    data = write_lines(
        tmp_path / "in.jsonl",
        [
            json.dumps({"answer": "Paris", "output": {"text": "Paris"}}),
            json.dumps({"answer": "Paris", "output": {"text": "Lyon"}}),
            json.dumps({"answer": "Paris"}),
        ],
    )
    out = tmp_path / "out.jsonl"
    batch.score_file(EXACT, data, out, sample_field="output.text")
    rows = read_out(out)
    assert [r.get("reward") for r in rows] == [1.0, 0.0, None]
    assert "output.text" in rows[2]["error"]["message"] and rows[2]["error"]["line"] == 3


def test_resume_keeps_complete_lines_drops_a_torn_line_and_finishes(tmp_path: Path) -> None:
    data = write_lines(tmp_path / "in.jsonl", dataset(300))
    full, partial = tmp_path / "full.jsonl", tmp_path / "partial.jsonl"
    batch.score_file(MULTI, data, full, jobs=1)
    lines = full.read_bytes().splitlines(keepends=True)
    partial.write_bytes(b"".join(lines[:120]) + lines[120][:40])  # 120 complete rows and a torn one
    summary = batch.score_file(MULTI, data, partial, jobs=2, chunk_size=50, resume=True)
    assert without_time(read_out(partial)) == without_time(read_out(full))
    assert summary.rows == 300 and summary.timed_rows == 180
    # Resuming a finished file scores nothing and still summarises every row.
    again = batch.score_file(MULTI, data, partial, resume=True)
    assert again.rows == 300 and again.timed_rows == 0


def test_resume_refuses_an_output_of_another_run(tmp_path: Path) -> None:
    data = write_lines(tmp_path / "in.jsonl", dataset(10))
    out = tmp_path / "out.jsonl"
    out.write_text('{"row": 5, "reward": 1.0}\n', encoding="utf-8")
    with pytest.raises(batch.OutputMismatch):
        batch.score_file(EXACT, data, out, resume=True)


def test_without_resume_an_existing_output_is_replaced(tmp_path: Path) -> None:
    data = write_lines(tmp_path / "in.jsonl", dataset(5))
    out = tmp_path / "out.jsonl"
    out.write_text("old\n" * 20, encoding="utf-8")
    batch.score_file(EXACT, data, out)
    assert len(read_out(out)) == 5


def test_recover_counts_lines_written_by_the_json_fallback(tmp_path: Path) -> None:
    big = 2**70  # orjson refuses integers beyond 64 bits; the json fallback writes them
    data = write_lines(tmp_path / "in.jsonl", [json.dumps({"id": big, "item": {"answer": "a"}, "model_sample": "a"})])
    out = tmp_path / "out.jsonl"
    batch.score_file(EXACT, data, out)
    assert read_out(out)[0]["id"] == big
    assert batch.recover(out) == 1


def test_count_lines_counts_a_last_line_without_newline(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"a\nb\nc")
    assert batch.count_lines(path) == 3
    path.write_bytes(b"a\n\n")
    assert batch.count_lines(path) == 2
    path.write_bytes(b"")
    assert batch.count_lines(path) == 0


def test_score_rows_yields_outputs_in_order_and_summarize_counts_them() -> None:
    rows: list[Any] = [
        {"id": 1, "item": {"answer": "Paris"}, "model_sample": "Paris"},
        {"item": {"answer": "Paris"}, "model_sample": "Lyon"},
        "not a row",
    ]
    outputs = list(batch.score_rows(EXACT, rows))
    assert [o["row"] for o in outputs] == [0, 1, 2]
    assert [o.get("reward") for o in outputs] == [1.0, 0.0, None]
    assert outputs[2]["error"]["line"] == 3
    summary = batch.summarize(EXACT, outputs, threshold=0.5)
    assert (summary.rows, summary.scored, summary.unreadable, summary.passed) == (3, 2, 1, 1)


# ----- the I/O pipeline, with an in-process scripted judge -----


class ScriptedJudge:
    """Answers 1 when the rendered prompt contains 'Paris', else 0; records concurrency."""

    def __init__(self, delay: float = 0.01) -> None:
        self.delay = delay
        self.in_flight = self.peak = self.calls = 0

    async def complete(self, body: dict[str, Any]) -> dict[str, Any]:
        self.calls += 1
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            await asyncio.sleep(self.delay)
        finally:
            self.in_flight -= 1
        result = 1.0 if "Paris" in json.dumps(body["messages"]) else 0.0
        return {
            "model": body["model"],
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "stop",
                    "message": {"role": "assistant", "content": json.dumps({"steps": [], "result": result})},
                }
            ],
            "usage": {"prompt_tokens": 10, "completion_tokens": 3, "total_tokens": 13},
        }


JUDGED = {
    "type": "score_model",
    "name": "judge",
    "model": "judge-1",
    "input": [{"role": "user", "content": "Is {{ sample.output_text }} the capital? Answer {{ item.answer }}"}],
}
MIXED = {
    "type": "multi",
    "name": "mixed",
    "graders": {"judge": JUDGED, "exact": EXACT},
    "calculate_output": "(judge + exact) / 2",
}


def test_io_graders_run_concurrently_in_order(tmp_path: Path) -> None:
    judge = ScriptedJudge()
    data = write_lines(tmp_path / "in.jsonl", dataset(40) + ["{bad"])
    out = tmp_path / "out.jsonl"
    summary = batch.score_file(MIXED, data, out, concurrency=8, options=RunOptions(judge=judge))
    rows = read_out(out)
    assert [r["row"] for r in rows] == list(range(41))
    assert 1 < judge.peak <= 8
    for i, row in enumerate(rows[:40]):
        answer = ["Paris", "Berlin", "Rome", "Madrid"][i % 4]
        exact = 1.0 if i % 3 else 0.0
        judged = 1.0 if answer == "Paris" else 0.0
        assert row["sub_rewards"] == {"judge": judged, "exact": exact}
        assert row["reward"] == (judged + exact) / 2
        assert row["model_grader_token_usage_per_model"]["judge-1"]["prompt_tokens"] == 10
    assert rows[40]["error"]["line"] == 41
    assert summary.judge["judge-1"]["calls"] == 40
    assert summary.judge["judge-1"]["prompt_tokens"] == 400
    assert summary.judge["judge-1"]["completion_tokens"] == 120


def test_score_rows_with_an_io_grader() -> None:
    judge = ScriptedJudge(delay=0.001)
    rows = [json.loads(line) for line in dataset(12)]
    outputs = list(batch.score_rows(JUDGED, rows, options=RunOptions(judge=judge), concurrency=4))
    assert [o["reward"] for o in outputs] == [1.0 if i % 4 == 0 else 0.0 for i in range(12)]
    assert judge.peak <= 4


def test_an_exception_in_the_io_pipeline_reaches_the_caller() -> None:
    class Broken:
        async def complete(self, body: dict[str, Any]) -> dict[str, Any]:
            raise RuntimeError("boom")

    rows = [json.loads(line) for line in dataset(3)]
    with pytest.raises(RuntimeError, match="boom"):
        list(batch.score_rows(JUDGED, rows, options=RunOptions(judge=Broken())))


@pytest.mark.parametrize(
    "raw",
    [b'{"a": 1.5, "b": [1, "x"]}\n', b"NaN\n", b'{"n": 123456789012345678901234567890}', b"{bad\n", b"\n",
     b"  \r\n", b'"\\ud800"', b"\xef\xbb\xbf{}", b"[1, 2]", b'{"a": 1, "a": 2}', b"1e400"],
)
def test_fast_decode_matches_the_shared_line_reader(raw: bytes) -> None:
    from graders.jsonl import decode_line

    fast, shared = batch.fast_decode(3, raw), decode_line(3, raw)
    assert (fast.index, fast.error) == (shared.index, shared.error)
    assert repr(fast.value) == repr(shared.value)


def test_stopping_early_cancels_slow_requests_in_flight() -> None:
    import time

    class SlowAfterFirst(ScriptedJudge):
        async def complete(self, body: dict[str, Any]) -> dict[str, Any]:
            self.delay = 0.0 if self.calls == 0 else 30.0
            return await super().complete(body)

    judge = SlowAfterFirst()
    rows = [json.loads(line) for line in dataset(8)]
    outputs = batch.score_rows(JUDGED, rows, options=RunOptions(judge=judge), concurrency=4)
    first = next(outputs)
    assert first["row"] == 0
    started = time.monotonic()
    outputs.close()  # what a Ctrl-C does: the rows in flight are cancelled, not awaited
    assert time.monotonic() - started < 5
    assert judge.in_flight == 0
