"""graders.backends: retries, Retry-After, timeouts, concurrency, cache, embeddings, remote run.

Everything goes over real HTTP to the scripted judge on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import email.utils
import math
import time
from pathlib import Path
from typing import Any

import pytest

import graders
from graders.backends import Judge, JudgeRequestError, RemoteRunner, RetryPolicy
from graders.backends.transport import retry_after_seconds
from tests.judge_server import CHAT, EMBEDDINGS, GRADERS_RUN, JudgeServer, Reply


def make_judge(server: JudgeServer, **kw: Any) -> Judge:
    kw.setdefault("cache", False)
    kw.setdefault("backoff", 0.01)
    kw.setdefault("max_retries", 3)
    return Judge(base_url=server.base_url, api_key="k", **kw)


BODY = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}


# ---------------------------------------------------------------- retry policy


def test_retry_after_headers() -> None:
    assert retry_after_seconds({"retry-after-ms": "250"}) == 0.25
    assert retry_after_seconds({"retry-after": "3"}) == 3.0
    assert retry_after_seconds({}) is None
    assert retry_after_seconds({"retry-after": "soon"}) is None
    future = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 28 <= (retry_after_seconds({"retry-after": future}) or 0) <= 31


def test_backoff_doubles_with_jitter_and_honours_retry_after() -> None:
    policy = RetryPolicy(max_retries=5, backoff=1.0, max_backoff=6.0)
    for attempt, full in [(0, 1.0), (1, 2.0), (2, 4.0), (3, 6.0), (4, 6.0)]:
        assert full / 2 <= policy.wait(attempt, None) <= full
    assert policy.wait(0, 2.5) == 2.5  # the server's word, not the backoff
    assert policy.wait(0, 100.0) == 6.0  # capped


# ---------------------------------------------------------------- retries over HTTP


def test_429_with_retry_after_is_waited_out_then_succeeds(judge_server: JudgeServer) -> None:
    judge_server.queue(Reply.error(429, "rate limited", retry_after="0.3"), Reply.answer(0.5))
    judge = make_judge(judge_server)
    answer = asyncio.run(judge.complete(BODY))
    first, second = judge_server.received(CHAT)
    assert second.at - first.at >= 0.29  # waited what Retry-After asked (backoff is 0.01)
    assert answer["choices"][0]["message"]["content"] == '{"steps": [{"description": "compared", "conclusion": "done"}], "result": 0.5}'
    assert (judge.stats.requests, judge.stats.retries, judge.stats.failures) == (2, 1, 0)


def test_5xx_retried_until_it_gives_up(judge_server: JudgeServer) -> None:
    judge_server.default = Reply.error(502, "bad gateway")
    judge = make_judge(judge_server, max_retries=3)
    with pytest.raises(JudgeRequestError) as caught:
        asyncio.run(judge.complete(BODY))
    assert caught.value.status == 502
    assert "after 4 attempts" in caught.value.details and "bad gateway" in caught.value.details
    assert len(judge_server.received(CHAT)) == 4


def test_400_is_not_retried(judge_server: JudgeServer) -> None:
    judge_server.default = Reply.error(400, "unknown model")
    judge = make_judge(judge_server)
    with pytest.raises(JudgeRequestError, match="HTTP 400: unknown model"):
        asyncio.run(judge.complete(BODY))
    assert len(judge_server.received(CHAT)) == 1


def test_timeout_is_retried_and_can_succeed(judge_server: JudgeServer) -> None:
    judge_server.queue(Reply.answer(0.1, delay=1.0), Reply.answer(0.2))
    judge = make_judge(judge_server, timeout=0.3)
    answer = asyncio.run(judge.complete(BODY))
    assert '"result": 0.2' in answer["choices"][0]["message"]["content"]
    assert judge.stats.retries == 1


def test_timeout_gives_up_with_details(judge_server: JudgeServer) -> None:
    judge_server.default = Reply.answer(0.1, delay=1.0)
    judge = make_judge(judge_server, timeout=0.2, max_retries=1)
    with pytest.raises(JudgeRequestError, match=r"after 2 attempts: timed out after 0.2 s"):
        asyncio.run(judge.complete(BODY))


def test_connection_refused_is_a_server_error() -> None:
    with JudgeServer() as gone:
        url = gone.base_url
    judge = Judge(base_url=url, api_key="k", cache=False, backoff=0.01, max_retries=1)
    with pytest.raises(JudgeRequestError, match="connection failed"):
        asyncio.run(judge.complete(BODY))


def test_concurrency_is_bounded(judge_server: JudgeServer) -> None:
    judge_server.default = Reply.answer(1.0, delay=0.2)
    judge = make_judge(judge_server, concurrency=3)

    async def main() -> float:
        started = time.perf_counter()
        await asyncio.gather(*(judge.complete({**BODY, "seed": i}) for i in range(9)))
        return time.perf_counter() - started

    elapsed = asyncio.run(main())
    assert 0.58 <= elapsed < 3.0  # three waves of three, 0.2 s each
    arrivals = sorted(r.at for r in judge_server.received(CHAT))
    # No fourth request arrives before the first wave has been answered.
    assert arrivals[3] - arrivals[0] >= 0.19


# ---------------------------------------------------------------- cache


def test_cache_hit_makes_no_request_and_persists(judge_server: JudgeServer, tmp_path: Path) -> None:
    judge_server.default = Reply.answer(0.7)
    with make_judge(judge_server, cache=True, cache_dir=tmp_path) as judge:
        first = asyncio.run(judge.complete(BODY))
        again = asyncio.run(judge.complete(BODY))
        assert again == first
        assert (judge.stats.requests, judge.stats.cache_hits) == (1, 1)
        asyncio.run(judge.complete({**BODY, "temperature": 0.5}))  # any change is a miss
        assert judge.stats.requests == 2
    assert len(judge_server.received(CHAT)) == 2

    # A new judge (a new process, as far as the cache can tell) reads the same file.
    with make_judge(judge_server, cache=True, cache_dir=tmp_path) as reborn:
        assert asyncio.run(reborn.complete(BODY)) == first
        assert reborn.stats.requests == 0
    assert len(judge_server.received(CHAT)) == 2


def test_failures_are_not_cached(judge_server: JudgeServer, tmp_path: Path) -> None:
    judge_server.queue(Reply.error(400, "nope"), Reply.answer(0.3))
    with make_judge(judge_server, cache=True, cache_dir=tmp_path) as judge:
        with pytest.raises(JudgeRequestError):
            asyncio.run(judge.complete(BODY))
        asyncio.run(judge.complete(BODY))
        assert judge.stats.requests == 2


def test_model_grader_cache_hit_through_the_engine(judge_server: JudgeServer, tmp_path: Path) -> None:
    grader = {
        "type": "score_model",
        "name": "s",
        "model": "m",
        "input": [{"role": "user", "content": "{{ sample.output_text }}"}],
    }
    judge_server.default = Reply.answer(0.75)
    with make_judge(judge_server, cache=True, cache_dir=tmp_path) as judge:
        options = graders.RunOptions(judge=judge)
        rewards = [graders.run(grader, "same", options=options).reward for _ in range(3)]
    assert rewards == [0.75] * 3
    assert len(judge_server.received(CHAT)) == 1


# ---------------------------------------------------------------- embeddings and cosine


def test_cosine_similarity_of_embeddings(judge_server: JudgeServer) -> None:
    judge_server.embeddings.update({"cat": [1.0, 0.0, 0.0], "kitten": [1.0, 1.0, 0.0], "dog": [0.0, 0.0, 2.0]})
    judge = make_judge(judge_server)
    assert asyncio.run(judge.cosine_similarity("cat", "kitten")) == pytest.approx(1 / math.sqrt(2), abs=1e-12)
    assert asyncio.run(judge.cosine_similarity("cat", "dog")) == 0.0
    (first, _) = judge_server.received(EMBEDDINGS)
    assert first.body == {"model": "text-embedding-3-large", "input": ["cat", "kitten"], "encoding_format": "float"}


def test_embedding_model_is_configurable_and_cached_per_text(judge_server: JudgeServer, tmp_path: Path) -> None:
    with make_judge(judge_server, cache=True, cache_dir=tmp_path, embedding_model="nomic-embed-text") as judge:
        asyncio.run(judge.cosine_similarity("a", "b"))
        asyncio.run(judge.cosine_similarity("a", "c"))  # only "c" is new
        asyncio.run(judge.cosine_similarity("c", "b"))  # nothing is new
    inputs = [r.body["input"] for r in judge_server.received(EMBEDDINGS)]
    assert inputs == [["a", "b"], ["c"]]
    assert {r.body["model"] for r in judge_server.received(EMBEDDINGS)} == {"nomic-embed-text"}


def test_cosine_text_similarity_through_the_engine(judge_server: JudgeServer) -> None:
    judge_server.embeddings.update({"Paris": [3.0, 4.0], "paris": [4.0, 3.0]})
    grader = {
        "type": "text_similarity",
        "name": "cos",
        "input": "{{ sample.output_text }}",
        "reference": "{{ item.ref }}",
        "evaluation_metric": "cosine",
    }
    judge = make_judge(judge_server)
    response = graders.run(grader, "Paris", {"ref": "paris"}, options=graders.RunOptions(judge=judge))
    assert response.metadata.errors.flags_set() == []
    assert response.reward == pytest.approx(24 / 25, abs=1e-12)  # (3*4 + 4*3) / (5 * 5)


def test_embeddings_failure_is_a_server_error_flag(judge_server: JudgeServer) -> None:
    judge_server.queue(Reply.error(500, "down"), Reply.error(500, "down"), path=EMBEDDINGS)
    grader = {"type": "text_similarity", "name": "cos", "input": "a", "reference": "b", "evaluation_metric": "cosine"}
    judge = make_judge(judge_server, max_retries=1)
    response = graders.run(grader, "x", options=graders.RunOptions(judge=judge))
    assert response.metadata.errors.flags_set() == ["model_grader_server_error"]
    assert "embeddings" in (response.metadata.errors.model_grader_server_error_details or "")


# ---------------------------------------------------------------- remote run


def test_remote_runner_posts_to_graders_run(judge_server: JudgeServer) -> None:
    def respond(body: dict[str, Any]) -> dict[str, Any]:
        local = graders.run(body["grader"], body["model_sample"], body.get("item"))
        return local.model_dump(mode="json")

    judge_server.run_responder = respond
    grader = {"type": "string_check", "name": "eq", "input": "{{ sample.output_text }}", "reference": "{{ item.a }}", "operation": "eq"}
    runner = RemoteRunner(base_url=judge_server.base_url, api_key="k", backoff=0.01)
    response = runner.run(grader, "yes", {"a": "yes"})
    assert response.reward == 1.0 and response.metadata.name == "eq"
    (sent,) = judge_server.received(GRADERS_RUN)
    assert sent.body == {"grader": grader, "model_sample": "yes", "item": {"a": "yes"}}
    assert sent.headers["authorization"] == "Bearer k"


def test_remote_runner_reports_a_refusal(judge_server: JudgeServer) -> None:
    judge_server.queue(Reply.error(400, "Invalid grader"), path=GRADERS_RUN)
    runner = RemoteRunner(base_url=judge_server.base_url, api_key="k", backoff=0.01)
    with pytest.raises(JudgeRequestError) as caught:
        runner.run({"type": "string_check"}, "x")
    assert caught.value.status == 400 and "Invalid grader" in caught.value.details


# ---------------------------------------------------------------- configuration


def test_environment_configures_the_default_judge(monkeypatch: pytest.MonkeyPatch, judge_server: JudgeServer) -> None:
    from graders.backends import JudgeConfig, default_judge

    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    assert default_judge() is None and not JudgeConfig().configured
    monkeypatch.setenv("OPENAI_BASE_URL", judge_server.base_url + "/")
    monkeypatch.setenv("GRADERS_CACHE_DIR", "/nonexistent-never-written")
    config = JudgeConfig(cache=False)
    # A self-hosted URL without a key gets a placeholder key; the trailing slash is dropped.
    assert config.resolved_base_url == judge_server.base_url and config.resolved_api_key == "no-key"


@pytest.mark.parametrize("bad", [{"concurrency": 0}, {"timeout": 0}, {"max_retries": -1}])
def test_bad_settings_are_refused(bad: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        Judge(cache=False, **bad)


# ---------------------------------------------------------------- CLI flags


def test_cli_judge_flags_and_cache_dir(judge_server: JudgeServer, tmp_path: Path) -> None:
    import json

    from click.testing import CliRunner

    from cli import main

    grader = tmp_path / "g.json"
    grader.write_text(json.dumps({
        "type": "score_model", "name": "s", "model": "m",
        "input": [{"role": "user", "content": "{{ sample.output_text }}"}],
    }))
    judge_server.default = Reply.answer(0.35)
    args = ["run", str(grader), "--model-sample", "x", "--judge-base-url", judge_server.base_url,
            "--judge-api-key", "cli-key", "--judge-timeout", "5", "--judge-concurrency", "2"]
    for _ in range(2):
        result = CliRunner().invoke(main, [*args, "--cache-dir", str(tmp_path / "cache")])
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout)["reward"] == 0.35
    assert len(judge_server.received(CHAT)) == 1  # the second run was a cache hit
    assert judge_server.received(CHAT)[0].headers["authorization"] == "Bearer cli-key"
    result = CliRunner().invoke(main, [*args, "--no-cache"])
    assert result.exit_code == 0 and len(judge_server.received(CHAT)) == 2


def test_proxy_environment_uses_httpx_own_transport(judge_server: JudgeServer, monkeypatch: pytest.MonkeyPatch) -> None:
    # HTTPS_PROXY set: the judge goes through httpx's transport (which honours proxies);
    # the judge URL is plain http, so this request is not proxied and must still arrive.
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.invalid:3128")
    judge_server.default = Reply.answer(0.45)
    judge = make_judge(judge_server)
    answer = asyncio.run(judge.complete(BODY))
    assert '"result": 0.45' in answer["choices"][0]["message"]["content"]
    assert judge_server.received(CHAT)[0].headers["authorization"] == "Bearer k"
