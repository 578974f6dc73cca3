"""Fuzz the server with hypothesis-generated requests: no body a client can send yields a 5xx.

Bodies are built three ways: arbitrary bytes, arbitrary JSON, and near-valid requests
(a valid grader of each CPU type with fields deleted, retyped or added, random templates,
items and samples). Every answer must be a 200 of the right shape or a 4xx in OpenAI's
error shape. Python and model graders are left out of /run here (they would start
sandboxes or call a judge); /validate sees them all.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from graders.context import RunOptions
from graders.server import ServerConfig, create_app
from tests.server_asgi import asgi_request

PATHS = [
    "/v1/fine_tuning/alpha/graders/run",
    "/v1/fine_tuning/alpha/graders/validate",
    "/openai/v1/fine_tuning/alpha/graders/run",
    "/openai/v1/fine_tuning/alpha/graders/validate",
]


class InstantEmbeddings:
    """cosine without a network, whatever OPENAI_API_KEY the environment has."""

    async def cosine_similarity(self, a: str, b: str) -> float:
        return 1.0 if a == b else 0.5


APP = create_app(ServerConfig(max_body_bytes=4096, options=RunOptions(judge=InstantEmbeddings())))

TEMPLATES = st.sampled_from(
    [
        "{{ sample.output_text }}",
        "{{ item.answer }}",
        "{{ item.list[0] }}",
        "{{ item.list[-1] }}",
        "{{ sample.output_json.a.b }}",
        "{{ sample.output_tools[0].function.name }}",
        "{{ other.x }}",
        "{{ item }}",
        "{{ sample }}",
        "{{",
        "}}",
        "<< item.answer >>",
        "{{ item.answer }} and {{ sample.output_text }}",
        "",
        "{{ item.a[999999999999999999999] }}",
        "{{ item.['x'] }}",
    ]
)
TEXT = st.one_of(TEMPLATES, st.text(max_size=30))
JSON_LEAF = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=False), st.text(max_size=20)
)
JSON_VALUE = st.recursive(
    JSON_LEAF,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
ITEMS = st.one_of(
    st.fixed_dictionaries({"answer": JSON_VALUE, "list": st.lists(JSON_VALUE, max_size=3)}),
    JSON_VALUE,
)
METRICS = [
    "fuzzy_match",
    "bleu",
    "gleu",
    "rouge_1",
    "rouge_2",
    "rouge_l",
    "cosine",
    "meteor",
    "rouge_9",
    "jaccard",
]
FORMULAS = st.one_of(
    st.sampled_from(
        ["a", "a + b", "(a + b) / 2", "a / 0", "log(a)", "max(a, b)", "a ^ 1000", "-a", "min()", "a +* b"]
    ),
    st.text(alphabet="ab+-*/^()., 0123456789loginmaxsqrt", max_size=20),
)


@st.composite
def cpu_grader(draw: st.DrawFn, depth: int = 0) -> dict[str, Any]:
    kind = draw(
        st.sampled_from(
            ["string_check", "text_similarity", "multi"]
            if depth == 0
            else ["string_check", "text_similarity"]
        )
    )
    grader: dict[str, Any]
    if kind == "string_check":
        grader = {
            "type": kind,
            "name": draw(st.text(max_size=10)),
            "operation": draw(st.sampled_from(["eq", "ne", "like", "ilike", "equals"])),
            "input": draw(TEXT),
            "reference": draw(TEXT),
        }
    elif kind == "text_similarity":
        grader = {
            "type": kind,
            "name": draw(st.text(max_size=10)),
            "evaluation_metric": draw(st.sampled_from(METRICS)),
            "input": draw(TEXT),
            "reference": draw(TEXT),
        }
        if draw(st.booleans()):
            grader["pass_threshold"] = draw(JSON_LEAF)
    else:
        keys = draw(st.lists(st.sampled_from(["a", "b", "c"]), min_size=0, max_size=3, unique=True))
        grader = {
            "type": "multi",
            "name": draw(st.text(max_size=10)),
            "graders": {key: draw(cpu_grader(depth + 1)) for key in keys},
            "calculate_output": draw(FORMULAS),
        }
    return draw(mutated(grader))


@st.composite
def io_grader(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["python", "score_model", "label_model"]))
    if kind == "python":
        source = draw(
            st.sampled_from(
                [
                    "def grade(sample, item):\n    return 1\n",
                    "def grade(:",
                    "x = 1",
                    "async def grade(a, b): pass",
                ]
            )
        )
        grader: dict[str, Any] = {"type": "python", "source": source}
    else:
        grader = {
            "type": kind,
            "name": "m",
            "model": draw(st.text(max_size=10)),
            "input": [{"role": draw(st.sampled_from(["user", "system", "robot"])), "content": draw(TEXT)}],
        }
        if kind == "label_model":
            grader["labels"] = draw(st.lists(st.text(max_size=5), max_size=3))
            grader["passing_labels"] = draw(st.lists(st.text(max_size=5), max_size=3))
        elif draw(st.booleans()):
            grader["range"] = draw(st.lists(JSON_LEAF, max_size=3))
    return draw(mutated(grader))


@st.composite
def mutated(draw: st.DrawFn, grader: dict[str, Any]) -> dict[str, Any]:
    grader = dict(grader)
    for _ in range(draw(st.integers(0, 2))):
        action = draw(st.sampled_from(["delete", "retype", "add"]))
        keys = sorted(grader)
        if action == "delete" and keys:
            del grader[draw(st.sampled_from(keys))]
        elif action == "retype" and keys:
            grader[draw(st.sampled_from(keys))] = draw(JSON_VALUE)
        elif action == "add":
            grader[draw(st.text(min_size=1, max_size=8))] = draw(JSON_VALUE)
    return grader


@st.composite
def near_valid_body(draw: st.DrawFn) -> tuple[str, bytes]:
    path = draw(st.sampled_from(PATHS))
    grader = draw(st.one_of(cpu_grader(), io_grader())) if path.endswith("validate") else draw(cpu_grader())
    body: dict[str, Any] = {"grader": grader}
    if path.endswith("run"):
        body["model_sample"] = draw(st.one_of(TEXT, st.just('{"a": {"b": 1}}'), JSON_VALUE))
        if draw(st.booleans()):
            body["item"] = draw(ITEMS)
    body = draw(mutated(body)) if draw(st.integers(0, 4)) == 0 else body
    return path, json.dumps(body).encode()


RAW_BODIES = st.tuples(
    st.sampled_from(PATHS),
    st.one_of(
        st.binary(max_size=200),
        JSON_VALUE.map(lambda v: json.dumps(v).encode()),
        st.text(max_size=100).map(lambda t: t.encode("utf-8", "surrogatepass")),
    ),
)
HEADERS = st.sampled_from(
    [
        {"content-type": "application/json"},
        {},
        {"content-type": "text/plain"},
        {"content-type": "application/json; charset=utf-16"},
        {"content-type": ""},
    ]
)


@pytest.fixture(scope="module")
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    event_loop = asyncio.new_event_loop()
    yield event_loop
    event_loop.close()


def check(loop: asyncio.AbstractEventLoop, path: str, payload: bytes, headers: dict[str, str]) -> None:
    status, _, content = loop.run_until_complete(asgi_request(APP, "POST", path, payload, headers))
    assert status < 500, (status, content[:500], payload[:500])
    decoded = json.loads(content)
    if status == 200:
        if path.endswith("run"):
            assert set(decoded) >= {"reward", "metadata", "sub_rewards"}
            assert isinstance(decoded["reward"], float | int | None)
        else:
            assert set(decoded) == {"grader"}
    else:
        assert 400 <= status < 500
        assert set(decoded["error"]) == {"message", "type", "param", "code"}


FUZZ = settings(
    max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)


@FUZZ
@given(request=near_valid_body(), headers=HEADERS)
def test_near_valid_requests_never_5xx(
    loop: asyncio.AbstractEventLoop, request: tuple[str, bytes], headers: dict[str, str]
) -> None:
    check(loop, request[0], request[1], headers)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(request=RAW_BODIES, headers=HEADERS)
def test_arbitrary_bodies_never_5xx(
    loop: asyncio.AbstractEventLoop, request: tuple[str, bytes], headers: dict[str, str]
) -> None:
    check(loop, request[0], request[1], headers)
