"""graders.server in-process: concurrency bounds, graceful shutdown, the 500 path, logging, binding rules."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import socket
import sys
import threading
import time
from typing import Any

import click
import httpx
import pytest
import uvicorn

from graders.commands.serve import parse_size
from graders.context import RunOptions
from graders.server import (
    AccessLog,
    ErrorFormatter,
    ServerConfig,
    _is_json_media_type,
    bind_refusal,
    close_backends,
    create_app,
    is_loopback,
)
from tests.server_asgi import asgi_request

RUN = "/v1/fine_tuning/alpha/graders/run"
VALIDATE = "/v1/fine_tuning/alpha/graders/validate"
JSON = {"content-type": "application/json"}
EXACT = {
    "type": "string_check",
    "name": "exact",
    "operation": "eq",
    "input": "{{ sample.output_text }}",
    "reference": "{{ item.answer }}",
}
COSINE = {
    "type": "text_similarity",
    "name": "cos",
    "evaluation_metric": "cosine",
    "input": "{{ sample.output_text }}",
    "reference": "{{ item.answer }}",
}


class SlowJudge:
    """An embeddings backend that takes ``delay`` seconds and records how many calls overlap."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.in_flight = 0
        self.peak = 0
        self.started = threading.Event()

    async def cosine_similarity(self, a: str, b: str) -> float:
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        self.started.set()
        try:
            await asyncio.sleep(self.delay)
        finally:
            self.in_flight -= 1
        return 0.25


def body(grader: dict[str, Any], sample: str = "a", item: Any = None) -> bytes:
    return json.dumps({"grader": grader, "model_sample": sample, "item": item or {"answer": "a"}}).encode()


def post(
    app: Any, path: str, payload: bytes, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], Any]:
    status, response_headers, content = asyncio.run(asgi_request(app, "POST", path, payload, headers or JSON))
    return status, response_headers, json.loads(content)


# ------------------------------------------------------------------ concurrency


def test_io_graders_wait_for_a_slot_then_get_429() -> None:
    judge = SlowJudge(0.2)
    app = create_app(ServerConfig(max_io_concurrency=1, max_io_queue=1, options=RunOptions(judge=judge)))

    async def burst() -> list[tuple[int, dict[str, str], bytes]]:
        return await asyncio.gather(*(asgi_request(app, "POST", RUN, body(COSINE), JSON) for _ in range(3)))

    results = asyncio.run(burst())
    statuses = sorted(status for status, _, _ in results)
    assert statuses == [200, 200, 429]
    assert judge.peak == 1  # never two grades at once
    refused = next(r for r in results if r[0] == 429)
    assert refused[1]["retry-after"] == "1"
    assert json.loads(refused[2])["error"]["code"] == "rate_limit_exceeded"
    rewards = {json.loads(c)["reward"] for s, _, c in results if s == 200}
    assert rewards == {0.25}


def test_cpu_graders_are_never_queued() -> None:
    judge = SlowJudge(0.3)
    app = create_app(ServerConfig(max_io_concurrency=1, max_io_queue=0, options=RunOptions(judge=judge)))

    async def mixed() -> tuple[Any, Any, float]:
        slow = asyncio.ensure_future(asgi_request(app, "POST", RUN, body(COSINE), JSON))
        await asyncio.sleep(0.05)  # the slot is now held and the queue is full
        started = time.perf_counter()
        fast = await asgi_request(app, "POST", RUN, body(EXACT), JSON)
        elapsed = time.perf_counter() - started
        return await slow, fast, elapsed

    slow, fast, elapsed = asyncio.run(mixed())
    assert slow[0] == 200 and fast[0] == 200
    assert json.loads(fast[2])["reward"] == 1.0
    assert elapsed < 0.2


def test_graceful_shutdown_finishes_in_flight_requests() -> None:
    judge = SlowJudge(0.6)
    config = uvicorn.Config(
        create_app(ServerConfig(options=RunOptions(judge=judge))),
        host="127.0.0.1",
        port=0,
        log_level="warning",
        timeout_graceful_shutdown=10,
    )
    server = uvicorn.Server(config)
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        deadline = time.monotonic() + 10
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.01)
        outcome: dict[str, Any] = {}

        def call() -> None:
            outcome["response"] = httpx.post(
                f"http://127.0.0.1:{port}{RUN}", content=body(COSINE), headers=JSON, timeout=10
            )

        caller = threading.Thread(target=call)
        caller.start()
        assert judge.started.wait(5)
        server.should_exit = True  # what SIGTERM does
        caller.join(10)
        thread.join(10)
    assert not thread.is_alive()
    assert outcome["response"].status_code == 200 and outcome["response"].json()["reward"] == 0.25
    with pytest.raises(httpx.TransportError):
        httpx.get(f"http://127.0.0.1:{port}/health", timeout=2)


def test_backends_are_closed_at_shutdown() -> None:
    closed: list[str] = []

    class Judge:
        async def aclose(self) -> None:
            closed.append("judge")

    class Limits:
        def close(self) -> None:
            closed.append("sandbox")

    asyncio.run(close_backends(RunOptions(judge=Judge(), python_limits=Limits())))
    asyncio.run(close_backends(RunOptions()))
    assert closed == ["judge", "sandbox"]


# ------------------------------------------------------------------ a bug is a 500 in OpenAI's shape


def test_an_escaped_bug_is_a_logged_500(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from graders import server

    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(server.engine, "arun_dict", broken)
    app = create_app()
    with caplog.at_level(logging.ERROR, logger="graders.server"):
        status, headers, content = post(app, RUN, body(EXACT))
    assert status == 500
    assert content == {
        "error": {
            "message": "The server had an error while processing your request; it has been logged.",
            "type": "server_error",
            "param": None,
            "code": "internal_error",
        }
    }
    errors = [r for r in caplog.records if r.name == "graders.server" and r.levelno == logging.ERROR]
    assert len(errors) == 1
    assert headers["x-request-id"] in errors[0].getMessage()
    assert errors[0].exc_info is not None and "boom" in str(errors[0].exc_info[1])


# ------------------------------------------------------------------ request decoding


@pytest.mark.parametrize(
    ("payload", "headers", "status", "code"),
    [
        (b"", JSON, 400, "invalid_json"),
        (b"{", JSON, 400, "invalid_json"),
        (b'{"grader": "\xff"}', JSON, 400, "invalid_json"),  # not UTF-8
        (b'"grader"', JSON, 400, "invalid_type"),
        (b"null", JSON, 400, "invalid_type"),
        (b'{"grader": {}}', {"content-type": "text/plain"}, 415, "unsupported_content_type"),
        (
            b'{"grader": {}}',
            {"content-type": "application/json; charset=latin-1"},
            415,
            "unsupported_content_type",
        ),
        (b'{"model_sample": "x"}', JSON, 400, "missing_required_parameter"),
        (b'{"grader": null, "model_sample": "x"}', JSON, 400, "missing_required_parameter"),
        (b'{"grader": [], "model_sample": "x"}', JSON, 400, "invalid_grader"),
        (b'{"grader": {"type": "string_check"}, "model_sample": "x"}', JSON, 400, "invalid_grader"),
    ],
)
def test_request_problems(payload: bytes, headers: dict[str, str], status: int, code: str) -> None:
    got_status, _, content = post(create_app(), RUN, payload, headers)
    assert (got_status, content["error"]["code"]) == (status, code)
    assert set(content["error"]) == {"message", "type", "param", "code"}


def test_no_content_type_is_read_as_json() -> None:
    status, _, content = post(create_app(), RUN, body(EXACT), {})
    assert status == 200 and content["reward"] == 1.0


def test_body_limit_counts_streamed_bytes() -> None:
    app = create_app(ServerConfig(max_body_bytes=100))
    payload = body(EXACT, sample="x" * 200)
    status, _, content = asyncio.run(asgi_request(app, "POST", RUN, payload, JSON, chunk=16))
    assert status == 413 and "100 bytes" in json.loads(content)["error"]["message"]
    status, _, _ = asyncio.run(
        asgi_request(app, "POST", RUN, payload, {**JSON, "content-length": str(len(payload))})
    )
    assert status == 413


def test_item_may_be_omitted_or_null() -> None:
    app = create_app()
    grader = {**EXACT, "reference": "a"}
    for payload in (
        {"grader": grader, "model_sample": "a"},
        {"grader": grader, "model_sample": "a", "item": None},
    ):
        status, _, content = post(app, RUN, json.dumps(payload).encode())
        assert status == 200 and content["reward"] == 1.0


def test_validate_response_is_the_grader() -> None:
    status, _, content = post(create_app(), VALIDATE, json.dumps({"grader": EXACT}).encode())
    assert status == 200 and content == {"grader": EXACT}


def test_key_checks() -> None:
    app = create_app(ServerConfig(api_key="s3cret"))
    payload = json.dumps({"grader": EXACT}).encode()
    for headers, status in [
        ({"authorization": "Bearer s3cret"}, 200),
        ({"authorization": "bearer s3cret"}, 200),
        ({"api-key": "s3cret"}, 200),
        ({"authorization": "Bearer s3cre"}, 401),
        ({"authorization": "Basic s3cret"}, 401),
        ({"authorization": "Bearer"}, 401),
        ({}, 401),
    ]:
        got, response_headers, content = post(app, VALIDATE, payload, {**JSON, **headers})
        assert got == status, headers
        if status == 401:
            assert content["error"]["type"] == "invalid_request_error"
            assert response_headers["www-authenticate"].startswith("Bearer")


# ------------------------------------------------------------------ small pieces


NOW = time.mktime((2026, 1, 2, 3, 4, 5, 0, 0, -1))


def access_line(log: AccessLog, **grader: Any) -> str:
    return log.line(
        NOW,
        request_id="req_1",
        client="127.0.0.1",
        method="POST",
        path=RUN,
        status=200,
        duration_ms=0.5,
        grader=grader,
    )


def test_access_log_text_and_json_lines() -> None:
    grader = {
        "grader_type": "multi",
        "reward": 0.75,
        "execution_time": 0.0002,
        "errors": {"other_error": True, "other_error_details": "x"},
    }
    line = access_line(AccessLog(io.StringIO()), **grader)
    assert line == (
        f'2026-01-02T03:04:05 req_1 127.0.0.1 "POST {RUN}" 200 multi reward=0.75 flags=other_error grade=0.2ms total=0.5ms'
    )
    as_json = json.loads(access_line(AccessLog(io.StringIO(), as_json=True), **grader))
    assert as_json == {
        "time": "2026-01-02T03:04:05",
        "request_id": "req_1",
        "client": "127.0.0.1",
        "method": "POST",
        "path": RUN,
        "status": 200,
        "grader_type": "multi",
        "reward": 0.75,
        "flags": ["other_error"],
        "execution_time_ms": 0.2,
        "duration_ms": 0.5,
    }


def test_access_log_writes_one_line_per_request() -> None:
    stream = io.StringIO()
    app = create_app(ServerConfig(access_log=AccessLog(stream)))
    status, headers, _ = post(app, RUN, body(EXACT))
    assert status == 200
    post(app, VALIDATE, b"{")
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    assert f'{headers["x-request-id"]} 127.0.0.1 "POST {RUN}" 200 string_check reward=1 grade=' in lines[0]
    assert f'"POST {VALIDATE}" 400 total=' in lines[1]


def test_access_line_cannot_be_forged_by_the_client() -> None:
    log = AccessLog(io.StringIO())
    line = log.line(
        NOW,
        request_id="req_1",
        client="127.0.0.1",
        method="POST",
        path="/v1/a\nb",
        status=400,
        duration_ms=0.5,
        grader={"grader_type": "x\n2026-01-02T03:04:05 req_2 forged"},
    )
    assert "\n" not in line
    assert '"POST "/v1/a\\nb"" 400 "x\\n2026-01-02T03:04:05 req_2 forged"' in line


def test_error_lines_carry_the_traceback() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.LogRecord(
            "graders.server", logging.ERROR, __file__, 1, "failed %s", ("req_9",), sys.exc_info()
        )
    text = ErrorFormatter().format(record)
    assert "ERROR graders.server: failed req_9" in text and "ValueError: boom" in text
    as_json = json.loads(ErrorFormatter(as_json=True).format(record))
    assert as_json["message"] == "failed req_9" and "ValueError: boom" in as_json["exception"]


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.1.2.3", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("::", False),
        ("192.168.1.4", False),
        ("example.com", False),
    ],
)
def test_is_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_bind_refusal() -> None:
    assert bind_refusal("127.0.0.1", None, False) is None
    assert bind_refusal("0.0.0.0", "key", False) is None
    assert bind_refusal("0.0.0.0", None, True) is None
    refusal = bind_refusal("0.0.0.0", None, False)
    assert refusal is not None and "--allow-public-without-key" in refusal


def test_parse_size() -> None:
    assert parse_size("10MB") == 10 * 1024 * 1024
    assert parse_size("512k") == 512 * 1024
    assert parse_size("1048576") == 1048576
    assert parse_size("2 GiB") == 2 * 1024**3
    with pytest.raises(click.BadParameter):
        parse_size("ten")


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("application/json", True),
        ("Application/JSON; charset=UTF-8", True),
        ("application/merge-patch+json", True),
        ('application/json; charset="utf-8"', True),
        ("text/json", False),
        ("multipart/form-data", False),
        ("application/json; charset=utf-16", False),
    ],
)
def test_json_media_types(value: str, ok: bool) -> None:
    assert _is_json_media_type(value) is ok


def test_odd_strings_in_a_result_are_escaped_not_a_500(monkeypatch: pytest.MonkeyPatch) -> None:
    from graders import server

    async def surrogate(*args: Any, **kwargs: Any) -> Any:
        errors = {"python_grader_runtime_error_details": "bad \udcff byte"}
        return {"reward": 0.0, "metadata": {"errors": errors, "execution_time": 0.001}}

    monkeypatch.setattr(server.engine, "arun_dict", surrogate)
    status, _, content = post(create_app(), RUN, body(EXACT))
    assert status == 200
    assert content["metadata"]["errors"]["python_grader_runtime_error_details"] == "bad \udcff byte"
