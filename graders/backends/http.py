"""A lean HTTP/1.1 keep-alive transport for the ``openai`` client's httpx.

Why: with the default transport (httpcore over anyio) one small JSON request costs
about 2 ms of CPU here, and its pool scans every connection on each request, so a
batch at concurrency 64 was CPU-bound far below what the judge could answer. This
transport speaks plain HTTP/1.1 over ``asyncio`` streams (0.15 ms a request on the
same machine) and is injected into httpx the documented way
(``httpx.AsyncClient(transport=...)``); the official client above it is unchanged:
same auth, headers, error classes and timeouts.

It does only what a JSON API needs: keep-alive connections per origin, TLS,
``Content-Length`` and chunked bodies, ``Connection: close``. It asks for
uncompressed answers. When a proxy is configured in the environment the judge uses
httpx's own transport instead (see ``make_http_client``).
"""

from __future__ import annotations

import asyncio
import os
import ssl
import zlib
from collections import defaultdict, deque
from typing import Any

from graders.backends._httpx import httpx

_PROXY_VARS = ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "https_proxy", "http_proxy", "all_proxy")
_MAX_HEAD = 64 * 1024

Origin = tuple[str, str, int]
Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter]


def proxy_configured() -> bool:
    return any(os.environ.get(name) for name in _PROXY_VARS)


def make_http_client(
    timeout: float, headers: dict[str, str] | None = None, transport: KeepAliveTransport | None = None
) -> httpx.AsyncClient:
    """The httpx client for one event loop: the lean transport unless a proxy is configured."""
    if transport is None and proxy_configured():
        return httpx.AsyncClient(timeout=timeout, headers=headers)
    lean = transport or KeepAliveTransport()
    return httpx.AsyncClient(timeout=timeout, headers=headers, transport=lean, trust_env=False)


class KeepAliveTransport(httpx.AsyncBaseTransport):
    def __init__(self) -> None:
        self._idle: defaultdict[Origin, deque[Connection]] = defaultdict(deque)
        self._ssl: ssl.SSLContext | None = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        origin: Origin = (url.scheme, url.host, url.port or (443 if url.scheme == "https" else 80))
        body = await request.aread()
        head = _request_head(request, body)
        timeout = _total_timeout(request)
        try:
            async with asyncio.timeout(timeout):
                return await self._exchange(origin, head + body, request)
        except TimeoutError:
            raise httpx.ReadTimeout(f"no complete answer within {timeout} s", request=request) from None

    async def _exchange(self, origin: Origin, payload: bytes, request: httpx.Request) -> httpx.Response:
        # A kept-alive connection may have been closed by the server meanwhile: if one
        # fails before any answer arrives, try once more on a fresh connection.
        for reused in (True, False):
            conn = self._take_idle(origin) if reused else None
            if reused and conn is None:
                continue
            if conn is None:
                conn = await self._connect(origin, request)
            reader, writer = conn
            keep = False
            try:
                writer.write(payload)
                await writer.drain()
                status, headers, content, keep = await _read_response(reader)
            except (ConnectionError, asyncio.IncompleteReadError, _EmptyAnswer) as exc:
                _close(writer)
                if reused:
                    continue
                raise httpx.RemoteProtocolError(f"connection lost: {exc!r}", request=request) from None
            except BaseException:
                _close(writer)  # cancelled or timed out mid-answer: the connection is unusable
                raise
            if keep:
                self._idle[origin].append(conn)
            else:
                _close(writer)
            return httpx.Response(status, headers=headers, content=content, request=request)
        raise AssertionError("unreachable")

    def _take_idle(self, origin: Origin) -> Connection | None:
        idle = self._idle[origin]
        while idle:
            reader, writer = idle.pop()
            if reader.at_eof() or writer.is_closing():
                _close(writer)
                continue
            return reader, writer
        return None

    async def _connect(self, origin: Origin, request: httpx.Request) -> Connection:
        scheme, host, port = origin
        context = None
        if scheme == "https":
            if self._ssl is None:
                self._ssl = _ssl_context()
            context = self._ssl
        try:
            return await asyncio.open_connection(host, port, ssl=context, server_hostname=host if context else None)
        except OSError as exc:
            raise httpx.ConnectError(f"cannot connect to {host}:{port}: {exc}", request=request) from None

    async def aclose(self) -> None:
        writers = [w for idle in self._idle.values() for _, w in idle]
        self._idle.clear()
        for writer in writers:
            writer.close()
        for writer in writers:
            try:
                await writer.wait_closed()
            except (ConnectionError, ssl.SSLError):
                pass


class _EmptyAnswer(Exception):
    """The server closed the connection without answering (a stale keep-alive)."""


def _ssl_context() -> ssl.SSLContext:
    try:
        import certifi

        return ssl.create_default_context(cafile=certifi.where())
    except ImportError:
        return ssl.create_default_context()


def _total_timeout(request: httpx.Request) -> float | None:
    timeouts: dict[str, Any] = request.extensions.get("timeout") or {}
    values = [v for v in (timeouts.get("read"), timeouts.get("connect"), timeouts.get("write")) if v is not None]
    return max(values) if values else None


def _request_head(request: httpx.Request, body: bytes) -> bytes:
    target = request.url.raw_path.decode("ascii")
    lines = [f"{request.method} {target} HTTP/1.1"]
    seen_length = False
    for name, value in request.headers.multi_items():
        lower = name.lower()
        if lower == "accept-encoding":
            continue  # we do not decompress; ask for identity below
        if lower == "content-length":
            seen_length = True
        if lower == "transfer-encoding":
            continue  # the body is already read whole and sent with a length
        lines.append(f"{name}: {value}")
    lines.append("Accept-Encoding: identity")
    if not seen_length and (body or request.method in ("POST", "PUT", "PATCH")):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, list[tuple[str, str]], bytes, bool]:
    while True:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError as exc:
            if not exc.partial:
                raise _EmptyAnswer() from None
            raise
        except asyncio.LimitOverrunError:
            raise httpx.RemoteProtocolError("response head too long") from None
        lines = head[:-4].decode("latin-1").split("\r\n")
        version, _, rest = lines[0].partition(" ")
        status = int(rest[:3])
        headers = []
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers.append((name.strip(), value.strip()))
        if 100 <= status < 200:
            continue  # an interim answer (100 Continue): the real one follows
        break
    fields = {name.lower(): value for name, value in headers}
    keep = version == "HTTP/1.1" and fields.get("connection", "").lower() != "close"
    if fields.get("transfer-encoding", "").lower() == "chunked":
        content = await _read_chunked(reader)
    elif "content-length" in fields:
        content = await reader.readexactly(int(fields["content-length"]))
    elif status in (204, 304):
        content = b""
    else:
        content = await reader.read()  # delimited by close
        keep = False
    encoding = fields.get("content-encoding", "").lower()
    if encoding in ("gzip", "deflate"):  # asked for identity, but a server may insist
        content = zlib.decompress(content, 16 + zlib.MAX_WBITS if encoding == "gzip" else zlib.MAX_WBITS)
    # The body is handed over decoded and whole: drop what described the wire form.
    headers = [(n, v) for n, v in headers if n.lower() not in ("transfer-encoding", "content-encoding")]
    return status, headers, content, keep


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    parts: list[bytes] = []
    while True:
        size_line = await reader.readuntil(b"\r\n")
        size = int(size_line.split(b";", 1)[0].strip(), 16)
        if size == 0:
            # Trailers (usually none) end with an empty line.
            while (await reader.readuntil(b"\r\n")) != b"\r\n":
                pass
            return b"".join(parts)
        parts.append(await reader.readexactly(size))
        await reader.readexactly(2)


def _close(writer: asyncio.StreamWriter) -> None:
    try:
        writer.close()
    except RuntimeError:  # its loop is already closed
        pass
