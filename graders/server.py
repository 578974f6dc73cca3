"""The HTTP server: OpenAI's ``/run`` and ``/validate`` endpoints over ``graders.engine`` (SEMANTICS §9).

Decode, call the engine, encode: no grading logic lives here. What the server adds
is what a network endpoint needs and the Python API does not:

* every refusal in OpenAI's error shape ``{"error": {message, type, param, code}}``,
  so the official ``openai`` client raises its usual exceptions (400 → BadRequestError,
  401 → AuthenticationError, ...); a bug that escapes is a 500 in the same shape, logged;
* an optional bearer key, a request-body limit, and a bound on python/model grades in
  flight (a burst queues, then gets 429, which the official client retries);
* an access log line per request (request id, grader type, reward, times).

``create_app(ServerConfig(...))`` builds the ASGI app; ``graders serve`` runs it on uvicorn.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import ipaddress
import json
import logging
import os
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TextIO

import orjson
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from graders import engine
from graders.context import RunOptions
from graders.errors import GraderInvalid
from graders.results import ERROR_FLAGS
from graders.validation import parse_grader

DEFAULT_MAX_BODY = 10 * 1024 * 1024
PREFIXES = ("/v1", "/openai/v1")  # OpenAI's, and the one Azure OpenAI uses
RUN_FIELDS = frozenset({"grader", "model_sample", "item"})
VALIDATE_FIELDS = frozenset({"grader"})

error_log = logging.getLogger("graders.server")


@dataclass
class ServerConfig:
    """Everything ``graders serve`` turns its flags into."""

    api_key: str | None = None
    max_body_bytes: int = DEFAULT_MAX_BODY
    # python/model grades in flight at once, and how many more may wait before a 429.
    max_io_concurrency: int = 8
    max_io_queue: int = 256
    options: RunOptions = field(default_factory=RunOptions)
    # Where access lines go; None = no access log.
    access_log: AccessLog | None = None


class RequestError(Exception):
    """A refusal of the request itself, rendered in OpenAI's error shape."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        type: str = "invalid_request_error",
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body = {"error": {"message": message, "type": type, "param": param, "code": code}}
        self.headers = headers


def encode_json(value: Any) -> bytes:
    try:
        return orjson.dumps(value)
    except TypeError:
        # orjson refuses a lone surrogate (say in a grader's error details) or an unknown type:
        # escape it rather than turn one odd string into a 500.
        return json.dumps(value, ensure_ascii=True, default=str).encode()


def error_response(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json", headers=headers)


# ------------------------------------------------------------------ request decoding


def _json_type(value: Any) -> str:
    names = {bool: "a boolean", int: "an integer", float: "a number", str: "a string", list: "an array"}
    if value is None:
        return "null"
    return names.get(type(value), "an object")


async def read_json_object(request: Request, limit: int, allowed: frozenset[str]) -> dict[str, Any]:
    """The request body as a JSON object, or a RequestError saying what is wrong with it."""
    content_type = declared = None
    for name, value in request.scope["headers"]:  # raw headers: cheaper than Starlette's Headers
        if name == b"content-type":
            content_type = value.decode("latin-1")
        elif name == b"content-length":
            declared = value
    # A missing content type is tolerated (OpenAI parses the body regardless); a wrong one is not,
    # since `curl -d` sends form encoding and the user should hear why.
    if content_type is not None and not _is_json_media_type(content_type):
        raise RequestError(
            415,
            f"Unsupported content type '{content_type}': send the body as JSON with "
            "'Content-Type: application/json'.",
            code="unsupported_content_type",
        )
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    raw = await _read_body(request.receive, limit)
    if not raw.strip():
        raise RequestError(400, "The request body is empty; send a JSON object.", code="invalid_json")
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise RequestError(
            400,
            f"We could not parse the JSON body of your request ({exc}). The body must be valid "
            'UTF-8 JSON, for example {"grader": {...}, "model_sample": "..."}.',
            code="invalid_json",
        ) from None
    if not isinstance(body, dict):
        raise RequestError(
            400, f"The request body must be a JSON object, got {_json_type(body)}.", code="invalid_type"
        )
    for key in body:
        if key not in allowed:
            raise RequestError(
                400, f"Unrecognized request argument supplied: {key}", param=key, code="unknown_parameter"
            )
    return body


async def _read_body(receive: Receive, limit: int) -> bytes:
    """The whole body, refusing it as soon as it passes ``limit`` (chunked bodies have no length)."""
    message = await receive()
    body: bytes = message.get("body", b"")
    if not message.get("more_body", False):  # the common case: one message
        if len(body) > limit:
            raise _too_large(limit)
        return body
    chunks = [body]
    size = len(body)
    while message.get("more_body", False):
        message = await receive()
        if message["type"] == "http.disconnect":
            raise RequestError(400, "The client disconnected before sending the whole body.")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def _is_json_media_type(value: str) -> bool:
    media, _, params = value.partition(";")
    media = media.strip().lower()
    if media != "application/json" and not (media.startswith("application/") and media.endswith("+json")):
        return False
    for param in params.split(";"):
        name, _, charset = param.partition("=")
        if name.strip().lower() == "charset" and charset.strip().strip('"').lower() not in ("utf-8", "utf8"):
            return False
    return True


def _too_large(limit: int) -> RequestError:
    return RequestError(
        413,
        f"The request body is larger than this server's limit of {limit} bytes.",
        code="request_too_large",
    )


def _required(body: dict[str, Any], name: str) -> Any:
    if name not in body or body[name] is None:
        raise RequestError(
            400, f"Missing required parameter: '{name}'.", param=name, code="missing_required_parameter"
        )
    return body[name]


# ------------------------------------------------------------------ concurrency


class IOLimiter:
    """At most ``concurrency`` python/model grades at once; ``queue`` more may wait, the rest get 429."""

    def __init__(self, concurrency: int, queue: int) -> None:
        self._semaphore = asyncio.Semaphore(max(1, concurrency))
        self._queue = max(0, queue)
        self._waiting = 0

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        if self._semaphore.locked():
            if self._waiting >= self._queue:
                raise RequestError(
                    429,
                    "The server is busy with python/model grades; retry shortly.",
                    type="requests",
                    code="rate_limit_exceeded",
                    headers={"retry-after": "1"},
                )
            self._waiting += 1
            try:
                await self._semaphore.acquire()
            finally:
                self._waiting -= 1
        else:
            await self._semaphore.acquire()
        try:
            yield
        finally:
            self._semaphore.release()


# ------------------------------------------------------------------ endpoints


def _note(request: Request, **values: Any) -> None:
    """Record what the access log should say about this request."""
    record = request.scope.get("graders.log")
    if record is not None:
        record.update(values)


def make_endpoints(config: ServerConfig) -> tuple[Callable[[Request], Awaitable[Response]], ...]:
    limiter = IOLimiter(config.max_io_concurrency, config.max_io_queue)
    options = config.options
    limit = config.max_body_bytes

    async def run(request: Request) -> Response:
        body = await read_json_object(request, limit, RUN_FIELDS)
        grader = _required(body, "grader")
        model_sample = _required(body, "model_sample")
        if not isinstance(model_sample, str):
            raise RequestError(
                400,
                f"Invalid type for 'model_sample': expected a string, but got {_json_type(model_sample)} instead.",
                param="model_sample",
                code="invalid_type",
            )
        _note(request, grader_type=grader.get("type") if isinstance(grader, dict) else None)
        model = parse_grader(grader)
        item = body.get("item")
        # CPU graders take microseconds and never suspend: run them inline, unqueued.
        if engine.needs_io(model):
            async with limiter.slot():
                result = await engine.arun_dict(model, model_sample, item, options=options)
        else:
            result = await engine.arun_dict(model, model_sample, item, options=options)
        _note(
            request,
            reward=result["reward"],
            execution_time=result["metadata"]["execution_time"],
            errors=result["metadata"]["errors"],
        )
        # arun_dict is already the wire JSON (equal to RunResponse.model_dump): no pydantic round trip.
        return Response(encode_json(result), media_type="application/json")

    async def validate(request: Request) -> Response:
        body = await read_json_object(request, limit, VALIDATE_FIELDS)
        grader = _required(body, "grader")
        _note(request, grader_type=grader.get("type") if isinstance(grader, dict) else None)
        model = engine.validate(grader)
        return Response(encode_json({"grader": engine.accepted_json(model)}), media_type="application/json")

    async def health(request: Request) -> Response:
        return Response(b'{"status":"ok"}', media_type="application/json")

    return run, validate, health


# ------------------------------------------------------------------ error handlers


async def _on_request_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestError)
    return error_response(exc.status, exc.body, exc.headers)


async def _on_grader_invalid(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, GraderInvalid)
    _note(request, problems=len(exc.problems))
    return error_response(400, exc.to_openai_error())


async def _on_http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        message = f"Invalid URL ({request.method} {request.url.path})"
    elif exc.status_code == 405:
        message = f"Method {request.method} is not allowed on {request.url.path}"
    else:
        message = str(exc.detail)
    body = {"error": {"message": message, "type": "invalid_request_error", "param": None, "code": None}}
    return error_response(exc.status_code, body, dict(exc.headers or {}))


INTERNAL_ERROR = {
    "error": {
        "message": "The server had an error while processing your request; it has been logged.",
        "type": "server_error",
        "param": None,
        "code": "internal_error",
    }
}


async def _on_bug(request: Request, exc: Exception) -> Response:
    # Starlette re-raises after this response; OuterMiddleware logs it once.
    return error_response(500, INTERNAL_ERROR)


# ------------------------------------------------------------------ outer middleware


Endpoint = Callable[[Request], Awaitable[Response]]


class OuterMiddleware:
    """Request id, bearer key, access log, and the last line of defence against a 500 page.

    ``fast`` maps the POST paths of /run and /validate straight to their endpoints: the
    Starlette stack (two exception middlewares, the router's regex scan, the route wrapper)
    costs about as much as a string_check grade, so the hot path skips it. Everything
    else (/health, 404, 405, lifespan) goes through Starlette.
    """

    def __init__(
        self,
        app: ASGIApp,
        api_key: str | None,
        fast: dict[str, Endpoint] | None = None,
        access_log: AccessLog | None = None,
    ) -> None:
        self.app = app
        self.api_key = api_key.encode() if api_key else None
        self.fast = fast or {}
        self.access_log = access_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = "req_" + os.urandom(12).hex()
        record: dict[str, Any] = {}
        scope["graders.log"] = record
        status = 0

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            refusal = self._auth_refusal(scope)
            endpoint = self.fast.get(scope["path"]) if scope["method"] == "POST" else None
            if refusal is not None:
                await refusal(scope, receive, send_with_id)
            elif endpoint is not None:
                response = await _call_endpoint(endpoint, Request(scope, receive))
                await response(scope, receive, send_with_id)
            else:
                await self.app(scope, receive, send_with_id)
        except Exception:  # noqa: BLE001 -- the last line of defence: log it, answer 500
            error_log.exception("unhandled error in %s %s (%s)", scope["method"], scope["path"], request_id)
            if status == 0:
                await error_response(500, INTERNAL_ERROR)(scope, receive, send_with_id)
        finally:
            if self.access_log is not None:
                client = scope.get("client")
                self.access_log.write(
                    request_id=request_id,
                    client=client[0] if client else None,
                    method=scope["method"],
                    path=scope["path"],
                    status=status,
                    duration_ms=round((time.perf_counter() - started) * 1000, 3),
                    grader=record,
                )

    def _auth_refusal(self, scope: Scope) -> Response | None:
        if self.api_key is None:
            return None
        given = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                scheme, _, token = value.partition(b" ")
                if scheme.lower() == b"bearer":
                    given = token.strip()
            elif name == b"api-key" and given is None:  # Azure OpenAI's header
                given = value.strip()
        if given and hmac.compare_digest(given, self.api_key):
            return None
        if not given:
            message = (
                "You didn't provide an API key. You need to provide your API key in an Authorization "
                "header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY)."
            )
            code = None
        else:
            message = "Incorrect API key provided. Use the key this grader server was started with."
            code = "invalid_api_key"
        body = {"error": {"message": message, "type": "invalid_request_error", "param": None, "code": code}}
        return error_response(401, body, {"www-authenticate": 'Bearer realm="graders"'})


# ------------------------------------------------------------------ the app


async def _call_endpoint(endpoint: Endpoint, request: Request) -> Response:
    """The endpoint's response, or the error response Starlette's handlers would give."""
    try:
        return await endpoint(request)
    except RequestError as exc:
        return await _on_request_error(request, exc)
    except GraderInvalid as exc:
        return await _on_grader_invalid(request, exc)


def create_app(config: ServerConfig | None = None) -> ASGIApp:
    config = config or ServerConfig()
    run, validate, health = make_endpoints(config)
    endpoints: dict[str, Endpoint] = {}
    for prefix in PREFIXES:
        endpoints[f"{prefix}/fine_tuning/alpha/graders/run"] = run
        endpoints[f"{prefix}/fine_tuning/alpha/graders/validate"] = validate
    routes = [Route("/health", health, methods=["GET"])]
    routes += [Route(path, endpoint, methods=["POST"]) for path, endpoint in endpoints.items()]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await close_backends(config.options)

    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={
            RequestError: _on_request_error,
            GraderInvalid: _on_grader_invalid,
            HTTPException: _on_http_exception,
            Exception: _on_bug,
        },
    )
    return OuterMiddleware(app, config.api_key, fast=endpoints, access_log=config.access_log)


async def close_backends(options: RunOptions) -> None:
    """Close whatever the run options hold (judge client, sandbox pool) at shutdown."""
    for backend in (options.judge, options.python_limits):
        for name in ("aclose", "close"):
            closer = getattr(backend, name, None)
            if callable(closer):
                outcome = closer()
                if asyncio.iscoroutine(outcome):
                    await outcome
                break


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def bind_refusal(host: str, api_key: str | None, allow_public_without_key: bool) -> str | None:
    """Why binding ``host`` is refused, or None: a public bind needs a key unless explicitly allowed."""
    if is_loopback(host) or api_key or allow_public_without_key:
        return None
    return (
        f"refusing to listen on {host} without an API key: anyone who can reach this address could "
        "run python graders and spend your judge budget. Set --api-key (or GRADERS_API_KEY), "
        "or pass --allow-public-without-key if you really mean it."
    )


# ------------------------------------------------------------------ logging


class AccessLog:
    """One line per request on a text stream (stderr by default), text or JSON.

    Text: ``2026-01-02T03:04:05 req_… 127.0.0.1 "POST /v1/…/run" 200 string_check reward=1 grade=0.03ms total=0.4ms``.

    Written directly rather than through ``logging``: a LogRecord plus a Formatter cost
    about 20 µs, as much as a string_check request itself.
    """

    def __init__(self, stream: TextIO | None = None, *, as_json: bool = False) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.as_json = as_json
        self._clock = _SecondClock()

    def write(self, **fields: Any) -> None:
        self.stream.write(self.line(time.time(), **fields) + "\n")
        self.stream.flush()

    def line(
        self,
        now: float,
        *,
        request_id: str,
        client: str | None,
        method: str,
        path: str,
        status: int,
        duration_ms: float,
        grader: dict[str, Any],
    ) -> str:
        grade_s = grader.get("execution_time")
        grade_ms = None if grade_s is None else round(grade_s * 1000, 3)
        errors = grader.get("errors")
        flags = [flag for flag in ERROR_FLAGS if errors.get(flag)] if errors else None
        grader_type, reward = grader.get("grader_type"), grader.get("reward")
        stamp = self._clock.stamp(now)
        if self.as_json:
            return orjson.dumps(
                {
                    "time": stamp,
                    "request_id": request_id,
                    "client": client,
                    "method": method,
                    "path": path,
                    "status": status,
                    "grader_type": grader_type,
                    "reward": reward,
                    "flags": flags or None,
                    "execution_time_ms": grade_ms,
                    "duration_ms": duration_ms,
                },
                default=str,
            ).decode()
        line = f'{stamp} {request_id} {client} "{method} {_printable(path)}" {status}'
        if grader_type is not None:
            line += f" {_printable(grader_type)}"
        if reward is not None:
            line += f" reward={reward:g}"
        if flags:
            line += f" flags={','.join(flags)}"
        if grade_ms is not None:
            line += f" grade={grade_ms}ms"
        return f"{line} total={duration_ms}ms"


class _SecondClock:
    """ISO local time to the second, formatted once per second (strftime per line is not free)."""

    def __init__(self) -> None:
        self._second = -1
        self._stamp = ""

    def stamp(self, now: float) -> str:
        second = int(now)
        if second != self._second:
            self._stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(second))
            self._second = second
        return self._stamp


def _printable(value: Any) -> str:
    """Client-controlled text (path, grader type) as one safe token: JSON-quoted unless plain."""
    if isinstance(value, str) and value.isprintable() and " " not in value and '"' not in value:
        return value
    return orjson.dumps(value, default=str).decode()


class ErrorFormatter(logging.Formatter):
    """Error lines with their traceback: text, or one JSON object per line with ``--log-json``."""

    def __init__(self, as_json: bool = False) -> None:
        super().__init__()
        self.as_json = as_json
        self._clock = _SecondClock()

    def format(self, record: logging.LogRecord) -> str:
        trace = self.formatException(record.exc_info) if record.exc_info else None
        stamp = self._clock.stamp(record.created)
        if self.as_json:
            fields = {
                "time": stamp,
                "level": record.levelname,
                "logger": record.name,
                "message": record.getMessage(),
                "exception": trace,
            }
            return orjson.dumps(fields).decode()
        line = f"{stamp} {record.levelname} {record.name}: {record.getMessage()}"
        return f"{line}\n{trace}" if trace else line


def configure_logging(*, as_json: bool = False) -> None:
    """Errors (with tracebacks) of ``graders.server`` on stderr, text or JSON."""
    handler = logging.StreamHandler()
    handler.setFormatter(ErrorFormatter(as_json))
    error_log.handlers[:] = [handler]
    error_log.propagate = False
