"""The judge: Chat Completions for score_model / label_model, Embeddings for cosine.

One ``Judge`` is shared by every grade of a run (``RunOptions(judge=...)``); it is safe
to use from any event loop and from several loops in turn (see ``transport``).
"""

from __future__ import annotations

import math
import os
from dataclasses import replace
from typing import Any

from graders.backends.cache import ResponseCache, request_key
from graders.backends.config import JudgeConfig
from graders.backends.transport import JudgeRequestError, Stats, Transport


class Judge:
    """``Judge(base_url=..., api_key=..., concurrency=..., cache=False, ...)`` — see :class:`JudgeConfig`."""

    def __init__(self, config: JudgeConfig | None = None, **overrides: Any) -> None:
        config = config or JudgeConfig()
        if overrides:
            config = replace(config, **overrides)
        self.config = config
        self.cache = ResponseCache(config.cache_dir) if config.cache else None
        self.transport = Transport(config, self.cache)

    @property
    def configured(self) -> bool:
        return self.config.configured

    @property
    def stats(self) -> Stats:
        return self.transport.stats

    @property
    def base_url(self) -> str:
        return self.transport.base_url

    # ------------------------------------------------------------ chat
    async def complete(self, body: dict[str, Any]) -> dict[str, Any]:
        """One Chat Completions request; the response JSON (cached by the full body)."""
        value = await self.transport.post("chat/completions", body)
        if not isinstance(value, dict):
            raise JudgeRequestError(f"chat/completions answered {type(value).__name__}, not an object")
        return value

    # ------------------------------------------------------------ embeddings
    async def embed(self, texts: list[str], model: str | None = None) -> list[list[float]]:
        """Embeddings of ``texts``; each text is cached on its own, the misses go in one request."""
        model = model or self.config.embedding_model
        vectors: list[list[float] | None] = [None] * len(texts)
        keys: list[str | None] = [None] * len(texts)
        if self.cache is not None:
            for i, text in enumerate(texts):
                keys[i] = request_key(self.base_url, "embeddings", _embedding_body(model, [text]))
                vectors[i] = await self.cache.get(keys[i])  # type: ignore[arg-type]
            self.transport.stats.cache_hits += sum(v is not None for v in vectors)
        missing = [i for i, v in enumerate(vectors) if v is None]
        if missing:
            body = _embedding_body(model, [texts[i] for i in missing])
            answer = await self.transport.post("embeddings", body, use_cache=False)
            fetched = _read_embeddings(answer, len(missing))
            for i, vector in zip(missing, fetched):
                vectors[i] = vector
                key = keys[i]
                if self.cache is not None and key is not None:
                    await self.cache.put(key, vector)
        return [v for v in vectors if v is not None]

    async def cosine_similarity(self, text: str, reference: str) -> float:
        """Cosine of the embeddings of two texts (text_similarity ``cosine``, SEMANTICS §5)."""
        a, b = await self.embed([text, reference])
        return cosine(a, b)

    # ------------------------------------------------------------ lifecycle
    async def aclose(self) -> None:
        await self.transport.aclose()
        self.close()

    def close(self) -> None:
        if self.cache is not None:
            self.cache.close()

    def __enter__(self) -> Judge:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _embedding_body(model: str, texts: list[str]) -> dict[str, Any]:
    # Floats explicitly: the SDK would otherwise ask for base64 and we read the raw body.
    return {"model": model, "input": texts, "encoding_format": "float"}


def _read_embeddings(answer: Any, count: int) -> list[list[float]]:
    try:
        data = sorted(answer["data"], key=lambda d: d.get("index", 0))
        vectors = [[float(x) for x in d["embedding"]] for d in data]
    except (KeyError, TypeError, ValueError) as exc:
        raise JudgeRequestError(f"embeddings response is malformed: {exc!r}") from None
    if len(vectors) != count:
        raise JudgeRequestError(f"embeddings response has {len(vectors)} vectors for {count} inputs")
    return vectors


def cosine(a: list[float], b: list[float]) -> float:
    if len(a) != len(b):
        raise JudgeRequestError(f"embeddings differ in length ({len(a)} vs {len(b)})")
    norm = math.sqrt(math.fsum(x * x for x in a)) * math.sqrt(math.fsum(y * y for y in b))
    if norm == 0.0:
        return 0.0  # a zero vector is similar to nothing [ours]
    return math.fsum(x * y for x, y in zip(a, b)) / norm


_DEFAULT: dict[tuple[str | None, str | None], Judge] = {}


def default_judge() -> Judge | None:
    """The judge described by the environment (``OPENAI_API_KEY`` / ``OPENAI_BASE_URL``), or None.

    Used when a model grader runs without ``RunOptions.judge``; one per environment,
    reused, so that its cache and connection pools are shared across runs.
    """
    env = (os.environ.get("OPENAI_BASE_URL"), os.environ.get("OPENAI_API_KEY"))
    judge = _DEFAULT.get(env)
    if judge is None:
        config = JudgeConfig()
        if not config.configured:
            return None
        judge = _DEFAULT.setdefault(env, Judge(config))
    return judge
