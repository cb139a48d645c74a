"""Each class of failure becomes one typed, one-line ClientError naming the URL,
and text received before a failure is kept."""

from __future__ import annotations

import asyncio
import base64
import shutil
import socket
import ssl
import subprocess
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from replay_server import Received, ScriptedServer

from tui_client.core.protocol import (
    Api,
    ClientConfig,
    ClientError,
    ErrorKind,
    GenerationRequest,
    RunState,
    SamplingParams,
    Status,
    VLLMClient,
)

Responder = Callable[[Received, asyncio.StreamWriter], Awaitable[bool]]


class CannedServer(ScriptedServer):
    """Answers every request with one function; /health and /v1/models as given."""

    def __init__(self, respond: Responder, *, openai: bool = True) -> None:
        super().__init__()
        self._respond = respond
        self.openai = openai

    async def respond(self, req: Received, writer: asyncio.StreamWriter) -> bool:
        if req.path == "/v1/models":
            if self.openai:
                return self.simple(writer, 200, b'{"object":"list","data":[{"id":"m"}]}')
            return self.simple(writer, 404, b'{"detail":"Not Found"}')
        if req.path == "/health":
            return self.simple(writer, 200, b"", None)
        return await self._respond(req, writer)


def status(code: int, body: bytes, content_type: str | None = "application/json") -> Responder:
    async def respond(req: Received, writer: asyncio.StreamWriter) -> bool:
        return ScriptedServer.simple(writer, code, body, content_type)

    return respond


async def run(url: str, request: GenerationRequest | None = None, **config: object) -> RunState:
    request = request or GenerationRequest("Hi", SamplingParams(n=2), stream=True)
    async with VLLMClient(ClientConfig(url=url, **config)) as client:
        events = [e async for e in client.generate(request)]
    return events[-1].state


def assert_one_line(err: ClientError | None, kind: ErrorKind, *needles: str) -> None:
    assert err is not None, "expected a failure"
    assert err.kind is kind, err
    text = str(err)
    assert "\n" not in text and "Traceback" not in text
    for needle in needles:
        assert needle in text, text


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_connection_refused() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    state = await run(url)
    assert state.status is Status.FAILED
    assert_one_line(state.error, ErrorKind.CONNECT, url, "--demo")


async def test_dns_failure() -> None:
    state = await run("http://no-such-host.invalid:8000")
    assert_one_line(state.error, ErrorKind.DNS, "no-such-host.invalid", "--url")


async def test_connect_raises_typed_error_for_detection() -> None:
    async with VLLMClient(f"http://127.0.0.1:{free_port()}") as client:
        with pytest.raises(ClientError) as info:
            await client.connect()
    assert info.value.kind is ErrorKind.CONNECT


async def test_read_timeout_keeps_text() -> None:
    async def drip_then_hang(req: Received, writer: asyncio.StreamWriter) -> bool:
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n")
        event = b'data: {"choices":[{"index":0,"text":"partial","finish_reason":null}]}\n\n'
        writer.write(b"%x\r\n%s\r\n" % (len(event), event))
        await writer.drain()
        await asyncio.sleep(30)
        return False

    with CannedServer(drip_then_hang) as server:
        state = await run(server.url, timeout=0.5)
    assert_one_line(state.error, ErrorKind.TIMEOUT, "0.5 s", "--timeout")
    assert state.candidates[0].text == "partial"


async def test_server_closes_mid_stream_keeps_text() -> None:
    async def die(req: Received, writer: asyncio.StreamWriter) -> bool:
        writer.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n")
        line = b'{"text": ["Hi there", "Hi you"]}\n'
        writer.write(b"%x\r\n%s\r\n" % (len(line), line))
        await writer.drain()
        return False  # close without the final 0-length chunk

    with CannedServer(die, openai=False) as server:
        state = await run(server.url)
    assert_one_line(state.error, ErrorKind.DISCONNECTED, "closed the connection", "kept")
    assert [c.text for c in state.ordered()] == [" there", " you"]


async def test_sse_without_done_and_unfinished_is_an_error() -> None:
    async def cut(req: Received, writer: asyncio.StreamWriter) -> bool:
        event = b'data: {"choices":[{"index":0,"text":"half","finish_reason":null}]}\n\n'
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n%s" % (len(event), event))
        return False

    with CannedServer(cut) as server:
        state = await run(server.url)
    assert_one_line(state.error, ErrorKind.DISCONNECTED, "before [DONE]", "kept")
    assert state.candidates[0].text == "half"


@pytest.mark.parametrize(
    ("code", "body", "ctype", "kind", "needles"),
    [
        (400, b'{"error":{"message":"n must be at least 1, got 0.","type":"BadRequestError","param":null,"code":400}}',
         "application/json", ErrorKind.HTTP, ["400", "n must be at least 1, got 0."]),
        (404, b'{"detail":"Not Found"}', "application/json", ErrorKind.HTTP, ["404", "Not Found"]),
        (422, b'{"detail":[{"loc":["body","n"],"msg":"Input should be a valid integer","type":"int_parsing"}]}',
         "application/json", ErrorKind.HTTP, ["422", "n: Input should be a valid integer"]),
        (401, b'{"error": "Unauthorized"}', "application/json", ErrorKind.AUTH, ["401", "Unauthorized", "--api-key"]),
        (502, b"<html><head><title>502 Bad Gateway</title></head><body><h1>nginx</h1></body></html>",
         "text/html", ErrorKind.HTTP, ["502", "HTML page: 502 Bad Gateway"]),
        (500, b"Internal Server Error", "text/plain; charset=utf-8", ErrorKind.HTTP, ["500", "Internal Server Error"]),
    ],
)
async def test_http_error_bodies(code: int, body: bytes, ctype: str, kind: ErrorKind, needles: list[str]) -> None:
    with CannedServer(status(code, body, ctype)) as server:
        state = await run(server.url)
    assert state.status is Status.FAILED
    assert_one_line(state.error, kind, server.url, *needles)
    assert state.error is not None and state.error.status == code


async def test_html_with_status_200_is_not_json() -> None:
    page = b"<!DOCTYPE html><html><title>Login required</title></html>"
    with CannedServer(status(200, page, "text/html")) as server:
        state = await run(server.url, GenerationRequest("Hi", SamplingParams(n=1), stream=False))
    assert_one_line(state.error, ErrorKind.BAD_RESPONSE, "not with JSON", "Login required")


async def test_unauthorized_models_during_detection() -> None:
    class Locked(ScriptedServer):
        async def respond(self, req: Received, writer: asyncio.StreamWriter) -> bool:
            return self.simple(writer, 401, b'{"error": "Unauthorized"}')

    with Locked() as server:
        async with VLLMClient(server.url) as client:
            with pytest.raises(ClientError) as info:
                await client.connect()
    assert_one_line(info.value, ErrorKind.AUTH, "--api-key")


async def test_api_key_sent_as_bearer_and_never_in_messages() -> None:
    secret = "sk-very-secret-123"
    with CannedServer(status(401, b'{"error": "Unauthorized"}')) as server:
        state = await run(server.url, api_key=secret)
        sent = server.received[-1].headers
    assert sent["authorization"] == f"Bearer {secret}"
    assert state.error is not None and secret not in str(state.error)
    assert secret not in repr(state.to_json())


def test_validation_names_the_field() -> None:
    with pytest.raises(ClientError) as info:
        GenerationRequest("x", SamplingParams(n=2, top_p=1.5)).validate()
    assert info.value.kind is ErrorKind.INVALID and info.value.field == "top_p"
    problems = SamplingParams(n=0, max_tokens=0, temperature=-1, beam_search=True).problems(stream=True)
    assert set(problems) == {"n", "max_tokens", "temperature"}
    wide = SamplingParams(n=11, beam_search=True)
    assert "22 logprobs" in wide.problems(stream=True, client_beams=True)["beam_search"]
    assert wide.problems(stream=True) == {} and wide.problems(client_beams=True) == {}  # /generate; vLLM's own


async def test_a_too_wide_live_beam_search_is_refused_before_sending() -> None:
    with CannedServer(status(200, b"{}")) as server:
        state = await run(server.url, GenerationRequest("x", SamplingParams(n=12, beam_search=True), stream=True), api=Api.COMPLETIONS, model="m")
        posted = [r for r in server.received if r.method == "POST"]
    assert_one_line(state.error, ErrorKind.INVALID, "logprobs")
    assert posted == []


@pytest.mark.parametrize(
    ("given", "base", "api"),
    [
        ("localhost:8000", "http://localhost:8000", None),
        ("http://h:8000/generate", "http://h:8000", Api.GENERATE),
        ("https://h/prefix/v1/", "https://h/prefix", None),
        ("http://h/x/v1/chat/completions", "http://h/x", Api.CHAT),
        ("http://h/v1/completions", "http://h", Api.COMPLETIONS),
    ],
)
def test_url_normalization(given: str, base: str, api: Api | None) -> None:
    from tui_client.core.protocol import normalize_url

    assert normalize_url(given) == (base, api)


async def test_path_prefix_is_kept() -> None:
    """A server behind a proxy at /vllm: every route goes under the prefix."""

    class Prefixed(ScriptedServer):
        async def respond(self, req: Received, writer: asyncio.StreamWriter) -> bool:
            if req.path == "/vllm/v1/models":
                return self.simple(writer, 200, b'{"data":[{"id":"m1"}]}')
            if req.path == "/vllm/v1/completions":
                body = b'{"choices":[{"index":0,"text":"ok","finish_reason":"stop"}],"usage":{"completion_tokens":1}}'
                return self.simple(writer, 200, body)
            return self.simple(writer, 404, b'{"detail":"Not Found"}')

    with Prefixed() as server:
        state = await run(server.url + "/vllm", GenerationRequest("x", SamplingParams(n=1), stream=False))
    assert state.error is None and state.server.model == "m1" and state.candidates[0].text == "ok"


async def test_cancel_closes_connection_and_keeps_text() -> None:
    async def endless(req: Received, writer: asyncio.StreamWriter) -> bool:
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n")
        for i in range(10_000):
            event = b'data: {"choices":[{"index":0,"text":"w%d ","finish_reason":null}]}\n\n' % i
            writer.write(b"%x\r\n%s\r\n" % (len(event), event))
            await writer.drain()
            await asyncio.sleep(0.01)
        return False

    with CannedServer(endless) as server:
        async with VLLMClient(server.url) as client:
            holder: dict[str, RunState] = {}

            async def consume() -> None:
                async for event in client.generate(GenerationRequest("x", SamplingParams(n=1))):
                    holder["state"] = event.state

            task = asyncio.create_task(consume())
            while (s := holder.get("state")) is None or 0 not in s.candidates or len(s.candidates[0].text) < 20:
                await asyncio.sleep(0.01)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
    state = holder["state"]
    assert state.status is Status.CANCELLED
    assert state.candidates[0].text.startswith("w0 w1 ") and state.candidates[0].status is Status.CANCELLED


@pytest.fixture(scope="module")
def self_signed(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    return str(cert), str(key)


async def test_tls_verification_on_by_default_then_insecure_and_ca_bundle(self_signed: tuple[str, str]) -> None:
    cert, key = self_signed
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    ok = b'{"choices":[{"index":0,"text":"secure","finish_reason":"stop"}]}'

    class Tls(ScriptedServer):
        async def respond(self, req: Received, writer: asyncio.StreamWriter) -> bool:
            if req.path == "/v1/models":
                return self.simple(writer, 200, b'{"data":[{"id":"m"}]}')
            return self.simple(writer, 200, ok)

    request = GenerationRequest("x", SamplingParams(n=1), stream=False)
    with Tls(tls=ctx) as server:
        refused = await run(server.url, request)
        insecure = await run(server.url, request, verify=False)
        trusted = await run(server.url, request, verify=cert)
    assert_one_line(refused.error, ErrorKind.TLS, "--ca-bundle", "--insecure")
    assert insecure.candidates[0].text == "secure" and trusted.candidates[0].text == "secure"


def test_unusable_ca_bundle_is_a_client_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.pem"
    bad.write_text("not a certificate")
    for path in (str(bad), str(tmp_path / "missing.pem")):
        with pytest.raises(ClientError) as info:
            VLLMClient(ClientConfig(url="https://example.invalid", verify=path))
        assert_one_line(info.value, ErrorKind.TLS, path)


async def test_url_credentials_become_basic_auth_and_never_show() -> None:
    with CannedServer(status(401, b'{"error": "Unauthorized"}')) as server:
        url = server.url.replace("http://", "http://alice:s3cr%40t@")
        state = await run(url)
        auth = server.received[-1].headers["authorization"]
    assert auth == "Basic " + base64.b64encode(b"alice:s3cr@t").decode()
    assert state.server.url == server.url
    assert "s3cr" not in str(state.error) and "alice" not in str(state.error)
