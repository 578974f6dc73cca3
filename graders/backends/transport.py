"""One OpenAI-compatible endpoint, called politely: bounded concurrency, retries, cache.

Chat Completions and Embeddings go out as JSON through the lean keep-alive httpx
transport of ``graders.backends.http`` (called directly with an ``httpx.Request``; with
a proxy configured, through a plain ``httpx.AsyncClient`` instead); ``/fine_tuning/alpha/graders/run``
goes through the official ``openai`` client (``fine_tuning.alpha.graders.run``). The
typed SDK methods were not used for the judge: building a request through them cost
about 1 ms of CPU each (the request transform, option copies, URL re-parsing), which
alone capped a batch below the judge's answer rate (bench/model_graders.py); the
judge needs nothing from them but the JSON body. The SDK's own retries are off, so
the backoff here is the one documented policy, tunable in tests.

Clients and slots belong to the event loop that made them, so they are made lazily
per running loop and closed when that loop's ``asyncio.run`` winds down (a guard
task is cancelled then and closes them): ``engine.run`` starts a fresh loop per call
and must never meet a client bound to a dead one.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import random
import threading
import time
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson

from graders.backends._httpx import httpx
from graders.backends.cache import ResponseCache, request_key
from graders.backends.config import JudgeConfig
from graders.backends.http import KeepAliveTransport, make_http_client, proxy_configured
from graders.errors import ModelGraderServerError

if TYPE_CHECKING:
    import openai

# 408 and 409 are what OpenAI's own client retries besides 429 and 5xx.
RETRY_STATUSES = frozenset({408, 409, 429})


class JudgeRequestError(ModelGraderServerError):
    """A request failed for good (after retries, or at once for a 4xx). Sets model_grader_server_error."""

    def __init__(self, details: str, status: int | None = None) -> None:
        self.status = status
        super().__init__(details)


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 4
    backoff: float = 0.5
    max_backoff: float = 30.0

    def wait(self, attempt: int, retry_after: float | None) -> float:
        """Seconds before retry number ``attempt`` (0-based): what the server asked, else backoff."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_backoff)
        # Exponential with jitter in [50%, 100%] so that a burst of 429s does not retry in step.
        full: float = min(self.backoff * 2.0**attempt, self.max_backoff)
        return full * random.uniform(0.5, 1.0)


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """``retry-after-ms`` (OpenAI's), else ``Retry-After`` in seconds or as an HTTP date."""
    for name, divisor in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        try:
            return float(value) / divisor
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        return max(when.timestamp() - time.time(), 0.0)
    return None


@dataclass
class Stats:
    requests: int = 0  # HTTP requests sent, retries included
    cache_hits: int = 0
    retries: int = 0
    failures: int = 0


class _LoopState:
    """One loop's clients and its slots: a slot is the right to have one request in flight."""

    def __init__(self, http: httpx.AsyncClient, direct: KeepAliveTransport | None, concurrency: int) -> None:
        self.http = http
        # The lean transport itself, called without the client around it when there is no
        # proxy: the client's per-request work (URL parsing, header merging, cookies) was a
        # third of the CPU of a judge call.
        self.direct = direct
        self.sdk: openai.AsyncOpenAI | None = None  # made on first use (remote runs only)
        self.slots: asyncio.Semaphore = asyncio.Semaphore(concurrency)
        self.guard: asyncio.Task[None] | None = None

    async def close(self) -> None:
        await self.http.aclose()
        if self.sdk is not None:
            await self.sdk.close()


ENDPOINTS = ("chat/completions", "embeddings", "fine_tuning/alpha/graders/run")


class Transport:
    def __init__(self, config: JudgeConfig, cache: ResponseCache | None = None) -> None:
        self.config = config
        self.base_url = config.resolved_base_url
        self.policy = RetryPolicy(config.max_retries, config.backoff, config.max_backoff)
        self.cache = cache
        self.stats = Stats()
        self._states: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopState] = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()
        self._api_key = config.resolved_api_key or ""
        self._urls = {e: httpx.URL(f"{self.base_url}/{e}") for e in ENDPOINTS}
        self._request_headers = httpx.Headers(self._headers())
        t = config.timeout
        self._extensions = {"timeout": {"connect": t, "read": t, "write": t, "pool": t}}

    # ------------------------------------------------------------ per-loop client
    def _state(self) -> _LoopState:
        loop = asyncio.get_running_loop()
        with self._lock:
            state = self._states.get(loop)
            if state is None:
                api_key = self.config.resolved_api_key
                if api_key is None:
                    raise JudgeRequestError(
                        "no judge is configured: set OPENAI_API_KEY (and OPENAI_BASE_URL for a "
                        "self-hosted server) or pass --judge-base-url / --judge-api-key"
                    )
                direct = None if proxy_configured() else KeepAliveTransport()
                http = make_http_client(self.config.timeout, self._headers(), direct)
                state = _LoopState(http, direct, self.config.concurrency)
                self._states[loop] = state
                state.guard = loop.create_task(self._guard(loop, state), name="graders-judge-client")
        return state

    async def _guard(self, loop: asyncio.AbstractEventLoop, state: _LoopState) -> None:
        try:
            await loop.create_future()  # until the loop's runner cancels us on shutdown
        finally:
            with self._lock:
                if self._states.get(loop) is state:
                    del self._states[loop]
            await state.close()

    async def aclose(self) -> None:
        """Close this loop's client now (otherwise it closes when the loop shuts down)."""
        loop = asyncio.get_running_loop()
        with self._lock:
            state = self._states.pop(loop, None)
        if state is not None:
            if state.guard is not None:
                state.guard.cancel()
            await state.close()

    # ------------------------------------------------------------ requests
    async def post(self, endpoint: str, body: dict[str, Any], *, use_cache: bool = True) -> Any:
        """POST ``body`` to ``endpoint`` (one of ENDPOINTS); the response JSON."""
        key = None
        if self.cache is not None and use_cache:
            key = request_key(self.base_url, endpoint, body)
            hit = await self.cache.get(key)
            if hit is not None:
                self.stats.cache_hits += 1
                return hit
        value = await self._send_with_retries(endpoint, body)
        if key is not None and self.cache is not None:
            await self.cache.put(key, value)
        return value

    async def _send_with_retries(self, endpoint: str, body: dict[str, Any]) -> Any:
        state = self._state()
        attempt = 0
        while True:
            try:
                async with state.slots:
                    self.stats.requests += 1
                    return await self._send(state, endpoint, body)
            except _HTTPStatus as exc:
                retryable = exc.status in RETRY_STATUSES or exc.status >= 500
                failure = f"HTTP {exc.status}: {exc.message}"
                status: int | None = exc.status
                retry_after = retry_after_seconds(exc.headers)
            except httpx.TimeoutException:
                retryable, status, retry_after = True, None, None
                failure = f"timed out after {self.config.timeout:g} s"
            except httpx.TransportError as exc:
                retryable, status, retry_after = True, None, None
                failure = f"connection failed: {exc.__cause__ or exc}"
            except (ValueError, orjson.JSONDecodeError) as exc:  # a 200 whose body is not JSON
                retryable, status, retry_after = False, None, None
                failure = f"response is not JSON: {exc}"
            if not retryable or attempt >= self.policy.max_retries:
                self.stats.failures += 1
                tries = f" after {attempt + 1} attempts" if attempt else ""
                raise JudgeRequestError(f"POST {self.base_url}/{endpoint} failed{tries}: {failure}", status)
            await asyncio.sleep(self.policy.wait(attempt, retry_after))
            attempt += 1
            self.stats.retries += 1

    def _headers(self) -> dict[str, str]:
        headers = {
            "Authorization": f"Bearer {self._api_key}",
            "Content-Type": "application/json",
            "Accept": "application/json",
            "User-Agent": "graders-toolkit (OpenAI-compatible judge client)",
        }
        if ".azure.com" in self.base_url:
            headers["api-key"] = self._api_key  # Azure OpenAI's key header
        return headers

    async def _send(self, state: _LoopState, endpoint: str, body: dict[str, Any]) -> Any:
        if endpoint == "fine_tuning/alpha/graders/run":
            return await self._sdk_run(state, body)
        if endpoint not in ENDPOINTS:
            raise ValueError(f"unknown endpoint {endpoint!r}")
        content = orjson.dumps(body)
        if state.direct is not None:
            request = httpx.Request(
                "POST", self._urls[endpoint], headers=self._request_headers, content=content, extensions=self._extensions
            )
            response = await state.direct.handle_async_request(request)
        else:
            response = await state.http.post(self._urls[endpoint], content=content)
        if response.status_code != 200:
            text = response.text
            try:
                parsed: Any = json.loads(text)
            except ValueError:
                parsed = None
            raise _HTTPStatus(response.status_code, _error_message(parsed, text), response.headers)
        return orjson.loads(response.content)

    async def _sdk_run(self, state: _LoopState, body: dict[str, Any]) -> Any:
        import openai  # heavy (about a second): only remote runs need the SDK

        if state.sdk is None:
            state.sdk = openai.AsyncOpenAI(
                base_url=self.base_url,
                api_key=self._api_key,
                timeout=self.config.timeout,
                max_retries=0,
                http_client=make_http_client(self.config.timeout),
            )
        try:
            raw: Any = await state.sdk.fine_tuning.alpha.graders.with_raw_response.run(**body)
        except openai.APIStatusError as exc:
            message = _error_message(exc.body if isinstance(exc.body, dict) else None, exc.response.text)
            raise _HTTPStatus(exc.status_code, message, exc.response.headers) from None
        except openai.APITimeoutError:
            raise httpx.ReadTimeout("the remote did not answer in time") from None
        except openai.APIConnectionError as exc:
            raise httpx.ConnectError(str(exc.__cause__ or exc)) from None
        return json.loads(raw.http_response.content)


class _HTTPStatus(Exception):
    def __init__(self, status: int, message: str, headers: Mapping[str, str]) -> None:
        super().__init__(f"HTTP {status}: {message}")
        self.status, self.message, self.headers = status, message, headers


def _error_message(body: Any, text: str) -> str:
    """OpenAI's ``{"error": {"message": ...}}``, else the start of the body."""
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            return str(inner["message"])
        if isinstance(inner, str):
            return inner
    return (text or "(empty body)")[:500]
