"""A scripted OpenAI-compatible judge on loopback, for tests and benchmarks.

It answers, over real HTTP:

* ``POST /v1/chat/completions`` from a script of :class:`Reply` objects: fixed
  structured answers, refusals, malformed JSON, ``finish_reason: length``, HTTP
  errors (429 with ``Retry-After``, 500s) and slow answers;
* ``POST /v1/embeddings`` with vectors from ``embeddings`` (text → vector) or a
  deterministic vector derived from the text;
* ``POST /v1/fine_tuning/alpha/graders/run`` from ``run_responder`` (a function of
  the request body), so the remote-run backend is tested without our own server.

Every request is recorded (path, headers, JSON body) so that a test asserts what
was sent as well as what came back. Replies come, in order of precedence, from
``responder(request)`` (if it returns a Reply), then the queue of the endpoint,
then ``default``.

Run standalone (the benchmark does): ``python -m tests.judge_server --delay 0.1``
prints ``port N`` and serves until killed.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
import uvicorn

CHAT = "/v1/chat/completions"
EMBEDDINGS = "/v1/embeddings"
GRADERS_RUN = "/v1/fine_tuning/alpha/graders/run"

DEFAULT_USAGE = {
    "prompt_tokens": 11,
    "completion_tokens": 7,
    "total_tokens": 18,
    "prompt_tokens_details": {"cached_tokens": 2},
}


@dataclass
class Reply:
    """One scripted answer. ``status != 200`` answers with an OpenAI error body."""

    status: int = 200
    content: str | None = None
    refusal: str | None = None
    finish_reason: str = "stop"
    usage: dict[str, Any] | None = field(default_factory=lambda: dict(DEFAULT_USAGE))
    model: str | None = None  # None: echo the requested model
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    body: Any = None  # a whole JSON body, sent as is (graders/run, odd shapes)

    # ------------------------------------------------------------ constructors
    @classmethod
    def answer(cls, result: Any, steps: list[dict[str, str]] | None = None, **kw: Any) -> Reply:
        steps = steps if steps is not None else [{"description": "compared", "conclusion": "done"}]
        return cls(content=json.dumps({"steps": steps, "result": result}), **kw)

    @classmethod
    def text(cls, content: str, **kw: Any) -> Reply:
        return cls(content=content, **kw)

    @classmethod
    def refuse(cls, message: str = "I can't help with that.", **kw: Any) -> Reply:
        return cls(content=None, refusal=message, **kw)

    @classmethod
    def truncated(cls, **kw: Any) -> Reply:
        return cls(content='{"steps": [{"description": "the answer is', finish_reason="length", **kw)

    @classmethod
    def error(cls, status: int, message: str = "scripted failure", retry_after: str | None = None, **kw: Any) -> Reply:
        headers = {"retry-after": retry_after} if retry_after is not None else {}
        return cls(status=status, content=message, headers=headers, usage=None, **kw)


@dataclass
class Recorded:
    path: str
    headers: dict[str, str]
    body: Any
    at: float


def fake_embedding(text: str, dims: int = 8) -> list[float]:
    """A deterministic vector per text (the same text always gets the same vector)."""
    digest = hashlib.sha256(text.encode()).digest()
    return [(b - 128) / 128 for b in digest[:dims]]


class JudgeServer:
    """``with JudgeServer() as judge: judge.base_url`` — uvicorn in a thread on 127.0.0.1."""

    def __init__(self, default: Reply | None = None, http: str = "h11") -> None:
        self.http = http
        self.default = default or Reply.answer(1.0)
        self.queues: dict[str, deque[Reply]] = {CHAT: deque(), EMBEDDINGS: deque(), GRADERS_RUN: deque()}
        self.responder: Callable[[Recorded], Reply | None] | None = None
        self.embeddings: dict[str, list[float]] = {}
        self.run_responder: Callable[[dict[str, Any]], dict[str, Any]] | None = None
        self.requests: list[Recorded] = []
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    # ------------------------------------------------------------ scripting
    def reset(self) -> JudgeServer:
        """Forget every script and recorded request: a clean judge for the next test."""
        self.requests.clear()
        for queue in self.queues.values():
            queue.clear()
        self.responder = None
        self.run_responder = None
        self.embeddings.clear()
        self.default = Reply.answer(1.0)
        return self

    def queue(self, *replies: Reply, path: str = CHAT) -> None:
        self.queues[path].extend(replies)

    def received(self, path: str = CHAT) -> list[Recorded]:
        return [r for r in self.requests if r.path == path]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    # ------------------------------------------------------------ lifecycle
    def start(self) -> JudgeServer:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self.app, log_level="error", lifespan="off", ws="none", http=self.http,
            interface="asgi3", proxy_headers=False, access_log=False,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]}, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("test judge did not start")
            time.sleep(0.005)
        self._socket = sock
        return self

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=10)
            self._socket.close()
            self._server = None

    def __enter__(self) -> JudgeServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------ ASGI
    async def app(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        chunks = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        raw = b"".join(chunks)
        try:
            body = orjson.loads(raw) if raw else None
        except orjson.JSONDecodeError:
            body = None
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        recorded = Recorded(scope["path"], headers, body, time.monotonic())
        self.requests.append(recorded)
        status, payload, extra = await self._answer(recorded)
        data = orjson.dumps(payload)
        out_headers = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]
        out_headers += [(k.encode(), v.encode()) for k, v in extra.items()]
        await send({"type": "http.response.start", "status": status, "headers": out_headers})
        await send({"type": "http.response.body", "body": data})

    def _next_reply(self, recorded: Recorded) -> Reply:
        if self.responder is not None:
            reply = self.responder(recorded)
            if reply is not None:
                return reply
        queue = self.queues.get(recorded.path)
        if queue:
            return queue.popleft()
        if recorded.path == CHAT:
            return self.default
        return Reply()

    async def _answer(self, recorded: Recorded) -> tuple[int, Any, dict[str, str]]:
        if recorded.path not in self.queues:
            return 404, _error_body(f"no route {recorded.path}", "not_found"), {}
        reply = self._next_reply(recorded)
        if reply.delay:
            await asyncio.sleep(reply.delay)
        if reply.status != 200:
            return reply.status, _error_body(reply.content or "error", "server_error"), reply.headers
        if reply.body is not None:
            return 200, reply.body, reply.headers
        body = recorded.body or {}
        if recorded.path == EMBEDDINGS:
            return 200, self._embeddings(body), reply.headers
        if recorded.path == GRADERS_RUN:
            if self.run_responder is None:
                return 500, _error_body("no run_responder scripted", "server_error"), {}
            return 200, self.run_responder(body), reply.headers
        return 200, self._completion(body, reply), reply.headers

    def _completion(self, body: dict[str, Any], reply: Reply) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": reply.content, "refusal": reply.refusal}
        out: dict[str, Any] = {
            "id": "chatcmpl-test",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": reply.model or body.get("model", "unknown"),
            "choices": [{"index": 0, "message": message, "finish_reason": reply.finish_reason, "logprobs": None}],
        }
        if reply.usage is not None:
            out["usage"] = reply.usage
        return out

    def _embeddings(self, body: dict[str, Any]) -> dict[str, Any]:
        inputs = body.get("input")
        texts = [inputs] if isinstance(inputs, str) else list(inputs or [])
        data = [
            {"object": "embedding", "index": i, "embedding": self.embeddings.get(t) or fake_embedding(t)}
            for i, t in enumerate(texts)
        ]
        return {
            "object": "list",
            "data": data,
            "model": body.get("model"),
            "usage": {"prompt_tokens": len(texts), "total_tokens": len(texts)},
        }


def _error_body(message: str, kind: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": None, "code": None}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--delay", type=float, default=0.0, help="seconds before each chat answer")
    parser.add_argument("--result", type=float, default=0.5)
    args = parser.parse_args()
    server = JudgeServer(default=Reply.answer(args.result, delay=args.delay), http="auto")
    server.start()
    print(f"port {server.port}", flush=True)
    # Standalone: no recording (a benchmark would grow the list without bound).
    server.requests = _Discard()
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        server.stop()


class _Discard(list):  # type: ignore[type-arg]
    def append(self, item: Any) -> None:
        pass


if __name__ == "__main__":
    main()
