"""`graders serve` for real: a subprocess on a free loopback port, driven by the official openai client.

Expected values are written by hand from SEMANTICS (string_check eq is 1/0, fuzzy_match
is rapidfuzz's ratio/100, multi's formula is arithmetic on the sub-rewards) and from
OpenAI's documented error shape; nothing is computed with the code under test.
"""

from __future__ import annotations

import json
import math
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import openai
import pytest
from openai import OpenAI
from rapidfuzz import fuzz

from tests.judge_server import JudgeServer, Reply, fake_embedding

KEY = "test-key-0123"
JSON_HEADERS = {"content-type": "application/json"}
RUN = "/v1/fine_tuning/alpha/graders/run"
VALIDATE = "/v1/fine_tuning/alpha/graders/validate"

EXACT = {
    "type": "string_check",
    "name": "exact",
    "operation": "eq",
    "input": "{{ sample.output_text }}",
    "reference": "{{ item.answer }}",
}
FUZZY = {
    "type": "text_similarity",
    "name": "fuzzy",
    "evaluation_metric": "fuzzy_match",
    "input": "{{ sample.output_text }}",
    "reference": "{{ item.answer }}",
}
PYTHON = {"type": "python", "name": "py", "source": "def grade(sample, item):\n    return 1.0\n"}
SCORE_MODEL = {
    "type": "score_model",
    "name": "judge",
    "model": "gpt-4o-mini",
    "input": [{"role": "user", "content": "Score {{ sample.output_text }} against {{ item.answer }}"}],
    "range": [0, 1],
}
ERROR_FLAGS = {
    "formula_parse_error",
    "sample_parse_error",
    "truncated_observation_error",
    "unresponsive_reward_error",
    "invalid_variable_error",
    "other_error",
    "python_grader_server_error",
    "python_grader_server_error_type",
    "python_grader_runtime_error",
    "python_grader_runtime_error_details",
    "model_grader_server_error",
    "model_grader_server_error_details",
    "model_grader_refusal_error",
    "model_grader_parse_error",
    "model_grader_exceeded_max_tokens_error",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(*args: str, env: dict[str, str] | None = None) -> tuple[subprocess.Popen[bytes], int]:
    """Start `graders serve` on a free port and wait until /health answers."""
    for _attempt in range(3):
        port = free_port()
        proc = subprocess.Popen(
            [sys.executable, "-c", "import cli; cli.main()", "serve", "--port", str(port), *args],
            env={**os.environ, **(env or {})},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                httpx.get(
                    f"http://127.0.0.1:{port}/health", headers={"authorization": f"Bearer {KEY}"}, timeout=1
                )
                return proc, port
            except httpx.TransportError:
                time.sleep(0.05)
        stop(proc)  # the port was taken in the meantime, or the server failed: try another
    raise RuntimeError("graders serve did not start")


def stop(proc: subprocess.Popen[bytes]) -> str:
    if proc.poll() is None:
        proc.terminate()
    try:
        out, _ = proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
    return out.decode(errors="replace")


@pytest.fixture(scope="module")
def judge() -> Iterator[JudgeServer]:
    """A scripted OpenAI-compatible judge on loopback: every score_model answer is 0.75."""
    server = JudgeServer(default=Reply.answer(0.75)).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def server(judge: JudgeServer) -> Iterator[int]:
    judge_flags = ["--judge-base-url", judge.base_url, "--judge-api-key", "judge-key", "--no-cache"]
    proc, port = start_server("--max-body-size", "64KB", *judge_flags, env={"GRADERS_API_KEY": KEY})
    yield port
    stop(proc)


@pytest.fixture(scope="module")
def client(server: int) -> OpenAI:
    return OpenAI(base_url=f"http://127.0.0.1:{server}/v1", api_key=KEY, max_retries=0, timeout=60)


# ------------------------------------------------------------------ run, every top-level type


def test_run_string_check(client: OpenAI) -> None:
    hit = client.fine_tuning.alpha.graders.run(grader=EXACT, model_sample="Paris", item={"answer": "Paris"})
    miss = client.fine_tuning.alpha.graders.run(grader=EXACT, model_sample="paris", item={"answer": "Paris"})
    assert hit.reward == 1.0 and miss.reward == 0.0
    assert hit.metadata.name == "exact" and hit.metadata.type == "string_check"
    errors = hit.metadata.errors.model_dump()
    assert ERROR_FLAGS <= set(errors)
    assert not any(errors[flag] for flag in ERROR_FLAGS)
    assert hit.metadata.execution_time >= 0
    assert hit._request_id is not None and hit._request_id.startswith("req_")


def test_run_text_similarity(client: OpenAI) -> None:
    result = client.fine_tuning.alpha.graders.run(
        grader=FUZZY, model_sample="the capital is Paris", item={"answer": "Paris is the capital"}
    )
    expected = fuzz.ratio("the capital is Paris", "Paris is the capital") / 100
    assert result.reward == pytest.approx(expected, abs=1e-12)


def test_run_python(client: OpenAI) -> None:
    result = client.fine_tuning.alpha.graders.run(grader=PYTHON, model_sample="anything")
    assert result.metadata.type == "python"
    assert result.reward == 1.0
    assert not any(result.metadata.errors.model_dump()[flag] for flag in ERROR_FLAGS)


def test_run_python_sees_sample_and_item(client: OpenAI) -> None:
    source = (
        "def grade(sample, item):\n"
        "    return len(sample['output_text']) + item['bonus'] + sample['output_json']['x']\n"
    )
    result = client.fine_tuning.alpha.graders.run(
        grader={"type": "python", "name": "len", "source": source},
        model_sample='{"x": 2}',
        item={"bonus": 0.5},
    )
    assert result.reward == 8 + 0.5 + 2


def test_run_python_exception_is_a_runtime_flag(client: OpenAI) -> None:
    raising = {
        "type": "python",
        "name": "r",
        "source": "def grade(sample, item):\n    raise ValueError('nope')\n",
    }
    result = client.fine_tuning.alpha.graders.run(grader=raising, model_sample="x")
    errors = result.metadata.errors
    assert result.reward == 0.0 and errors.python_grader_runtime_error
    assert "ValueError" in (errors.python_grader_runtime_error_details or "")


def test_run_python_that_does_not_compile_is_a_flag_not_a_400(client: OpenAI) -> None:
    broken = {"type": "python", "name": "broken", "source": "def grade(sample, item:\n"}
    result = client.fine_tuning.alpha.graders.run(grader=broken, model_sample="x")
    errors = result.metadata.errors
    assert result.reward == 0.0
    assert errors.python_grader_runtime_error or errors.python_grader_server_error


def test_run_score_model(client: OpenAI) -> None:
    result = client.fine_tuning.alpha.graders.run(
        grader=SCORE_MODEL, model_sample="Paris", item={"answer": "Paris"}
    )
    errors = result.metadata.errors.model_dump()
    assert result.metadata.type == "score_model"
    assert ERROR_FLAGS <= set(errors) and not any(errors[flag] for flag in ERROR_FLAGS)
    assert result.reward == 0.75  # what the scripted judge answered
    assert result.model_grader_token_usage_per_model  # the judge's usage is reported


def test_run_cosine_through_the_judge(client: OpenAI) -> None:
    cosine = {**FUZZY, "name": "cos", "evaluation_metric": "cosine"}
    result = client.fine_tuning.alpha.graders.run(
        grader=cosine, model_sample="Paris", item={"answer": "Lyon"}
    )
    a, b = fake_embedding("Paris"), fake_embedding("Lyon")
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    expected = dot / (math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b)))
    assert result.reward == pytest.approx(expected, abs=1e-9)


def test_run_multi(client: OpenAI) -> None:
    multi = {
        "type": "multi",
        "name": "combined",
        # SEMANTICS §1: a key → grader map on the wire, whatever the SDK's types say.
        "graders": {"exact": EXACT, "fuzzy": FUZZY},
        "calculate_output": "0.5 * exact + 0.5 * fuzzy",
    }
    result = client.fine_tuning.alpha.graders.run(
        grader=multi,  # type: ignore[arg-type]
        model_sample="Paris!",
        item={"answer": "Paris"},
    )
    fuzzy = fuzz.ratio("Paris!", "Paris") / 100
    assert result.sub_rewards == {"exact": 0.0, "fuzzy": pytest.approx(fuzzy)}
    assert result.reward == pytest.approx(0.5 * fuzzy)
    assert result.metadata.type == "multi"


def test_run_bad_formula_is_a_flag(client: OpenAI) -> None:
    multi = {"type": "multi", "name": "m", "graders": {"a": EXACT}, "calculate_output": "a +* b"}
    result = client.fine_tuning.alpha.graders.run(grader=multi, model_sample="x", item={"answer": "x"})  # type: ignore[arg-type]
    assert result.reward == 0.0 and result.metadata.errors.formula_parse_error


def test_run_missing_variable_is_a_flag(client: OpenAI) -> None:
    result = client.fine_tuning.alpha.graders.run(grader=EXACT, model_sample="x", item={"other": 1})
    assert result.reward == 0.0 and result.metadata.errors.invalid_variable_error


def test_azure_prefix(server: int) -> None:
    azure = OpenAI(base_url=f"http://127.0.0.1:{server}/openai/v1", api_key=KEY, max_retries=0)
    assert (
        azure.fine_tuning.alpha.graders.run(grader=EXACT, model_sample="a", item={"answer": "a"}).reward
        == 1.0
    )
    assert azure.fine_tuning.alpha.graders.validate(grader=EXACT).grader is not None
    # Azure clients send the key in an `api-key` header.
    response = httpx.post(
        f"http://127.0.0.1:{server}/openai/v1/fine_tuning/alpha/graders/validate",
        json={"grader": EXACT},
        headers={"api-key": KEY},
    )
    assert response.status_code == 200


# ------------------------------------------------------------------ validate


@pytest.mark.parametrize("grader", [EXACT, FUZZY, PYTHON, SCORE_MODEL], ids=lambda g: g["type"])
def test_validate_returns_the_grader(client: OpenAI, grader: dict[str, object]) -> None:
    accepted = client.fine_tuning.alpha.graders.validate(grader=grader)  # type: ignore[arg-type]
    assert accepted.grader is not None
    assert accepted.grader.model_dump(exclude_unset=True) == grader


def test_validate_multi(client: OpenAI) -> None:
    multi = {"type": "multi", "name": "m", "graders": {"a": EXACT, "b": FUZZY}, "calculate_output": "a + b"}
    raw = client.fine_tuning.alpha.graders.with_raw_response.validate(grader=multi)  # type: ignore[arg-type]
    assert raw.http_request.read() and raw.status_code == 200
    assert raw.http_response.json() == {"grader": multi}


def test_validate_fills_a_python_name(client: OpenAI) -> None:
    raw = client.fine_tuning.alpha.graders.with_raw_response.validate(
        grader={"type": "python", "source": "def grade(sample, item):\n    return 0.5\n"}
    )
    name = raw.http_response.json()["grader"]["name"]
    assert name.startswith("grader-") and len(name) == len("grader-") + 12 and name[7:].isalnum()


# ------------------------------------------------------------------ errors, as the client sees them


def test_schema_error_is_bad_request(client: OpenAI) -> None:
    bad = {**EXACT, "operation": "equals"}
    for call in (
        lambda: client.fine_tuning.alpha.graders.run(grader=bad, model_sample="x"),  # type: ignore[arg-type]
        lambda: client.fine_tuning.alpha.graders.validate(grader=bad),  # type: ignore[arg-type]
    ):
        with pytest.raises(openai.BadRequestError) as caught:
            call()
        assert caught.value.status_code == 400
        assert caught.value.type == "invalid_request_error"
        assert caught.value.param == "grader.operation"
        assert (
            caught.value.message
            == "Error code: 400 - Invalid grader: operation: Input should be 'eq', 'ne', 'like' or 'ilike'"
        )


def test_unknown_grader_type_is_bad_request(client: OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.fine_tuning.alpha.graders.run(grader={"type": "regex", "name": "r"}, model_sample="x")  # type: ignore[arg-type]
    assert "regex" in caught.value.message
    assert caught.value.param is not None and caught.value.param.startswith("grader")


def test_label_model_is_refused_at_top_level(client: OpenAI) -> None:
    label = {
        "type": "label_model",
        "name": "l",
        "model": "gpt-4o-mini",
        "input": [{"role": "user", "content": "x"}],
        "labels": ["a", "b"],
        "passing_labels": ["a"],
    }
    with pytest.raises(openai.BadRequestError) as caught:
        client.fine_tuning.alpha.graders.run(grader=label, model_sample="x")  # type: ignore[arg-type]
    assert "top-level" in caught.value.message


def test_validate_lists_every_semantic_problem(client: OpenAI) -> None:
    bad = {
        "type": "multi",
        "name": "m",
        "graders": {"a": {**EXACT}, "p": {"type": "python", "name": "p", "source": "x = 1\n"}},
        "calculate_output": "a + nope",
    }
    with pytest.raises(openai.BadRequestError) as caught:
        client.fine_tuning.alpha.graders.validate(grader=bad)  # type: ignore[arg-type]
    assert "2 problems" in caught.value.message
    assert "calculate_output" in caught.value.message and "graders.p.source" in caught.value.message
    # /run runs the same grader and reports the problems as flags.
    result = client.fine_tuning.alpha.graders.run(grader=bad, model_sample="x", item={"answer": "x"})  # type: ignore[arg-type]
    assert result.reward == 0.0 and result.metadata.errors.formula_parse_error


def test_missing_grader(client: OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.fine_tuning.alpha.graders.run(grader=None, model_sample="x")  # type: ignore[arg-type]
    assert caught.value.message == "Error code: 400 - Missing required parameter: 'grader'."
    assert caught.value.body == {
        "message": "Missing required parameter: 'grader'.",
        "type": "invalid_request_error",
        "param": "grader",
        "code": "missing_required_parameter",
    }


def test_missing_and_wrong_type_model_sample(client: OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.fine_tuning.alpha.graders.run(grader=EXACT, model_sample=None)  # type: ignore[arg-type]
    assert caught.value.param == "model_sample" and caught.value.code == "missing_required_parameter"
    with pytest.raises(openai.BadRequestError) as caught:
        client.fine_tuning.alpha.graders.run(grader=EXACT, model_sample=42)  # type: ignore[arg-type]
    assert caught.value.param == "model_sample" and caught.value.code == "invalid_type"
    assert "expected a string, but got an integer" in caught.value.message


def test_unknown_argument(client: OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.fine_tuning.alpha.graders.validate(grader=EXACT, extra_body={"modle_sample": "x"})
    assert caught.value.body["message"] == "Unrecognized request argument supplied: modle_sample"  # type: ignore[index]


def test_invalid_json(client: OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.post(RUN[3:], cast_to=object, content=b'{"grader": {', options={"headers": JSON_HEADERS})
    assert caught.value.code == "invalid_json"
    assert "could not parse the JSON body" in caught.value.message


def test_body_not_an_object(client: OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.post(RUN[3:], cast_to=object, body=["grader"])
    assert "must be a JSON object, got an array" in caught.value.message


def test_wrong_content_type(server: int, client: OpenAI) -> None:
    with pytest.raises(openai.APIStatusError) as caught:
        client.post(
            RUN[3:],
            cast_to=object,
            content=b"grader=x",
            options={"headers": {"content-type": "application/x-www-form-urlencoded"}},
        )
    assert caught.value.status_code == 415
    assert "Content-Type: application/json" in caught.value.message


def test_oversized_body(client: OpenAI) -> None:
    with pytest.raises(openai.APIStatusError) as caught:
        client.fine_tuning.alpha.graders.run(grader=EXACT, model_sample="x" * 70_000)
    assert caught.value.status_code == 413
    assert caught.value.code == "request_too_large"
    assert "65536 bytes" in caught.value.message
    # A chunked body without a length is cut off at the limit too.
    port = client.base_url.port

    def chunks() -> Iterator[bytes]:
        yield b'{"grader": {}, "model_sample": "'
        for _ in range(100):
            yield b"x" * 1000
        yield b'"}'

    response = httpx.post(
        f"http://127.0.0.1:{port}{RUN}",
        content=chunks(),
        headers={"authorization": f"Bearer {KEY}", "content-type": "application/json"},
    )
    assert response.status_code == 413 and response.json()["error"]["code"] == "request_too_large"


def test_wrong_and_missing_key(server: int) -> None:
    wrong = OpenAI(base_url=f"http://127.0.0.1:{server}/v1", api_key="nope", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as caught:
        wrong.fine_tuning.alpha.graders.run(grader=EXACT, model_sample="x")
    assert caught.value.status_code == 401 and caught.value.code == "invalid_api_key"
    assert "Incorrect API key" in caught.value.message
    with pytest.raises(openai.AuthenticationError):
        wrong.fine_tuning.alpha.graders.validate(grader=EXACT)
    missing = httpx.post(f"http://127.0.0.1:{server}{VALIDATE}", json={"grader": EXACT})
    assert missing.status_code == 401
    assert missing.json()["error"]["message"].startswith("You didn't provide an API key")
    assert httpx.get(f"http://127.0.0.1:{server}/health").status_code == 401


def test_unknown_path_and_method(server: int, client: OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        client.post("/fine_tuning/alpha/graders/runs", cast_to=object, body={})
    assert caught.value.message == "Error code: 404 - Invalid URL (POST /v1/fine_tuning/alpha/graders/runs)"
    assert caught.value.type == "invalid_request_error"
    response = httpx.get(f"http://127.0.0.1:{server}{RUN}", headers={"authorization": f"Bearer {KEY}"})
    assert response.status_code == 405 and "error" in response.json()


def test_health(server: int) -> None:
    response = httpx.get(f"http://127.0.0.1:{server}/health", headers={"authorization": f"Bearer {KEY}"})
    assert response.json() == {"status": "ok"} and response.headers["x-request-id"].startswith("req_")


def test_access_log_json_then_clean_stop() -> None:
    proc, port = start_server("--log-json", env={"GRADERS_API_KEY": KEY})
    try:
        url = f"http://127.0.0.1:{port}{RUN}"
        headers = {"authorization": f"Bearer {KEY}"}
        ok = httpx.post(
            url, json={"grader": EXACT, "model_sample": "Paris", "item": {"answer": "Paris"}}, headers=headers
        )
        bad = httpx.post(url, json={"grader": {"type": "nope"}, "model_sample": "x"}, headers=headers)
        assert ok.status_code == 200 and bad.status_code == 400
    finally:
        output = stop(proc)  # SIGTERM: uvicorn drains and exits 0
    # uvicorn re-raises the signal after draining: killed by SIGTERM, but only once finished.
    assert proc.returncode in (0, -15) and "Application shutdown complete" in output, output
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    by_id = {line["request_id"]: line for line in lines}
    first = by_id[ok.headers["x-request-id"]]
    assert first["status"] == 200 and first["grader_type"] == "string_check" and first["reward"] == 1.0
    assert first["path"] == RUN and first["method"] == "POST" and first["client"] == "127.0.0.1"
    assert first["execution_time_ms"] >= 0 and first["duration_ms"] >= first["execution_time_ms"]
    second = by_id[bad.headers["x-request-id"]]
    assert second["status"] == 400 and second["grader_type"] == "nope" and second["reward"] is None


# ------------------------------------------------------------------ binding rules


def test_public_bind_without_key_is_refused() -> None:
    env = {k: v for k, v in os.environ.items() if k != "GRADERS_API_KEY"}
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import cli; cli.main()",
            "serve",
            "--host",
            "0.0.0.0",
            "--port",
            str(free_port()),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 2
    assert "refusing to listen on 0.0.0.0 without an API key" in done.stderr
