"""graders.backends.http: the lean HTTP/1.1 transport against hand-written server answers.

A raw asyncio server sends exactly the bytes each test wants (chunked bodies,
Connection: close, a kept-alive connection that the server drops, gzip).
"""

from __future__ import annotations

import asyncio
import gzip
import json
from collections.abc import Awaitable, Callable

import pytest

from graders.backends._httpx import httpx
from graders.backends.http import KeepAliveTransport, make_http_client

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter, int], Awaitable[bool]]


async def read_request(reader: asyncio.StreamReader) -> tuple[str, dict[str, str], bytes]:
    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in head[1:] if line)}
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    return head[0], headers, body


async def serve(handler: Handler, requests: int) -> tuple[list[bytes], int]:
    """Run ``requests`` requests through a server whose connection handler is ``handler``."""
    connections = 0
    seen: list[bytes] = []

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        try:
            while await handler(reader, writer, connections):
                pass
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        writer.close()

    server = await asyncio.start_server(on_connect, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with httpx.AsyncClient(transport=KeepAliveTransport()) as client:
        for i in range(requests):
            response = await client.post(f"http://127.0.0.1:{port}/v1/x?q={i}", json={"i": i})
            assert response.status_code == 200
            seen.append(response.content)
    server.close()
    await server.wait_closed()
    return seen, connections


def test_keep_alive_reuses_one_connection_and_sends_the_request_intact() -> None:
    lines: list[str] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int) -> bool:
        line, headers, body = await read_request(reader)
        lines.append(line)
        assert headers["accept-encoding"] == "identity" and headers["content-type"] == "application/json"
        payload = json.dumps({"echo": json.loads(body)}).encode()
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(payload) + payload)
        await writer.drain()
        return True

    seen, connections = asyncio.run(serve(handler, 3))
    assert [json.loads(s) for s in seen] == [{"echo": {"i": i}} for i in range(3)]
    assert lines == [f"POST /v1/x?q={i} HTTP/1.1" for i in range(3)]
    assert connections == 1


def test_chunked_body_and_interim_100() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int) -> bool:
        await read_request(reader)
        writer.write(
            b"HTTP/1.1 100 Continue\r\n\r\n"
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: 1\r\n\r\n"
        )
        await writer.drain()
        return True

    seen, connections = asyncio.run(serve(handler, 2))
    assert seen == [b"hello world", b"hello world"] and connections == 1


def test_connection_close_and_stale_keep_alive_reconnect() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> bool:
        await read_request(reader)
        if n == 1:
            # Says keep-alive, then drops the connection: the next request must reconnect.
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            await writer.drain()
            return False
        writer.write(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 3\r\n\r\nbye")
        await writer.drain()
        return False

    seen, connections = asyncio.run(serve(handler, 3))
    assert seen == [b"ok", b"bye", b"bye"] and connections == 3


def test_gzip_is_decoded_when_a_server_insists() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int) -> bool:
        await read_request(reader)
        payload = gzip.compress(b'{"a": 1}')
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n" % len(payload) + payload)
        await writer.drain()
        return True

    seen, _ = asyncio.run(serve(handler, 1))
    assert seen == [b'{"a": 1}']


def test_unreachable_host_is_a_connect_error() -> None:
    async def main() -> None:
        async with httpx.AsyncClient(transport=KeepAliveTransport()) as client:
            await client.get("http://127.0.0.1:9/")

    with pytest.raises(httpx.ConnectError):
        asyncio.run(main())


def test_proxy_environment_falls_back_to_httpx(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.invalid:3128")

    async def main() -> bool:
        async with make_http_client(5.0) as client:
            return isinstance(client._transport, KeepAliveTransport)

    assert asyncio.run(main()) is False
