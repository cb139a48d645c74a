"""A loopback server that misbehaves on purpose, one scenario per name.

Every scenario answers ``/v1/models`` as an OpenAI server would (or 404 for the
legacy ones, whose names start with ``legacy-``) and misbehaves on the generation
request. Run one by hand to try the app against it::

    python tests/hostile_server.py die-mid-stream   # prints its URL; then tui-client --url URL
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import time
from collections.abc import Awaitable, Callable

from replay_server import Received, ScriptedServer

Writer = asyncio.StreamWriter
Scenario = Callable[[Received, Writer], Awaitable[bool]]

SSE_HEAD = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream; charset=utf-8\r\ntransfer-encoding: chunked\r\n\r\n"
PLAIN_HEAD = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"
PROMPT = "Hi"  # the tests send this prompt; legacy texts start with it


def chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


def delta(index: int, text: str | None, finish: str | None = None) -> bytes:
    return b"data: " + json.dumps({"choices": [{"index": index, "text": text, "finish_reason": finish}]}, ensure_ascii=False).encode() + b"\n\n"


def legacy(*texts: str) -> bytes:
    return json.dumps({"text": [PROMPT + t for t in texts]}).encode() + b"\n"


async def send(writer: Writer, *pieces: bytes, pause: float = 0.0, chunked: bool = True) -> None:
    for piece in pieces:
        writer.write(chunk(piece) if chunked else piece)
        await writer.drain()
        if pause:
            await asyncio.sleep(pause)


def good_sse(*texts: str) -> list[bytes]:
    """A well-formed stream: candidate i says texts[i] word by word, then finishes."""
    events = []
    words = [t.split(" ") for t in texts]
    for step in range(max(len(w) for w in words)):
        for i, w in enumerate(words):
            if step < len(w):
                events.append(delta(i, (" " if step else "") + w[step]))
    events += [delta(i, "", "length") for i in range(len(texts))]
    return events + [b"data: [DONE]\n\n"]


async def hang_before_headers(req: Received, w: Writer) -> bool:
    await asyncio.sleep(3600)
    return False


async def slow_drip(req: Received, w: Writer) -> bool:
    """Steady but slow: one byte every 50 ms. Must not time out (the gaps are short)."""
    w.write(SSE_HEAD)
    body = b"".join(good_sse("slow but fine"))
    for i in range(0, len(body), 8):
        await send(w, body[i : i + 8], pause=0.05)
    await send(w, b"")
    return False


async def die_mid_stream(req: Received, w: Writer) -> bool:
    w.write(SSE_HEAD)
    await send(w, *good_sse("the first words of a long answer")[:6])
    return False  # close without the terminating chunk


async def truncated_chunk(req: Received, w: Writer) -> bool:
    w.write(SSE_HEAD)
    await send(w, delta(0, "kept"))
    w.write(b"100\r\n" + delta(0, " lost")[:20])  # promises 256 bytes, sends 20, closes
    await w.drain()
    return False


async def garbage_line(req: Received, w: Writer) -> bool:
    w.write(SSE_HEAD)
    events = good_sse("one two", "three four")
    await send(w, events[0], b"data: {not json at all\n\n", b"data: <html>oops</html>\n\n", *events[1:])
    await send(w, b"")
    return False


async def invalid_utf8(req: Received, w: Writer) -> bool:
    w.write(SSE_HEAD)
    bad = b'data: {"choices":[{"index":0,"text":"caf\xc3 \xff\xfe ok","finish_reason":null}]}\n\n'
    await send(w, bad, delta(0, "", "stop"), b"data: [DONE]\n\n", b"")
    return False


async def split_utf8(req: Received, w: Writer) -> bool:
    w.write(SSE_HEAD)
    body = b"".join(good_sse("こんにちは 世界 🌍"))
    cut = body.index("世".encode()) + 1
    await send(w, body[:cut], body[cut:], b"", pause=0.02)
    return False


async def huge_line(req: Received, w: Writer) -> bool:
    """One legacy line of ~24 MB (a single candidate of 24M characters)."""
    w.write(PLAIN_HEAD)
    line = legacy("x" * 24_000_000)
    for i in range(0, len(line), 1 << 20):
        await send(w, line[i : i + (1 << 20)])
    await send(w, b"")
    return False


async def more_candidates(req: Received, w: Writer) -> bool:
    w.write(SSE_HEAD)
    await send(w, *good_sse("a", "b", "c", "d"), b"")  # n=2 asked
    return False


async def bad_indices(req: Received, w: Writer) -> bool:
    w.write(SSE_HEAD)
    await send(
        w,
        delta(-1, "negative"),
        delta(0, "zero"),
        delta(0, " again"),  # duplicate index: appended
        delta(10**12, "huge"),
        b'data: {"choices":[{"index":"1","text":"string index"}]}\n\n',
        delta(0, "", "length"),
        b"data: [DONE]\n\n",
        b"",
    )
    return False


async def text_after_finish(req: Received, w: Writer) -> bool:
    w.write(SSE_HEAD)
    await send(w, delta(0, "done"), delta(0, "", "stop"), delta(0, " and more"), b"data: [DONE]\n\n", b"")
    return False


async def sse_oddities(req: Received, w: Writer) -> bool:
    """Comments, CRLF line ends, event: fields, a data line split across chunks, no [DONE]."""
    w.write(SSE_HEAD)
    e1 = b': keep-alive\r\nevent: message\r\ndata: {"choices":[{"index":0,"text":"odd","finish_reason":null}]}\r\n\r\n'
    e2 = b'id: 7\r\ndata: {"choices":[{"index":0,"text":" but fine","finish_reason":"stop"}]}\r\n\r\n'
    await send(w, e1, e2[:25], e2[25:], b"", pause=0.02)
    return False


async def legacy_nul(req: Received, w: Writer) -> bool:
    w.write(PLAIN_HEAD)
    await send(w, legacy(" old", " vllm")[:-1] + b"\0", legacy(" old style", " vllm style")[:-1] + b"\0", b"")
    return False


def html_status(code: int) -> Scenario:
    async def respond(req: Received, w: Writer) -> bool:
        page = f"<html><head><title>{code} Service Unavailable</title></head><body>proxy</body></html>".encode()
        return ScriptedServer.simple(w, code, page, "text/html")

    return respond


async def redirect(req: Received, w: Writer) -> bool:
    if req.path.startswith("/moved"):
        w.write(SSE_HEAD)
        await send(w, *good_sse("redirected fine"), b"")
        return False
    w.write(b"HTTP/1.1 307 Temporary Redirect\r\nlocation: /moved" + req.path.encode() + b"\r\ncontent-length: 0\r\n\r\n")
    return True


async def gzip_body(req: Received, w: Writer) -> bool:
    body = gzip.compress(b"".join(good_sse("compressed words")))
    w.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncontent-encoding: gzip\r\n")
    w.write(b"content-length: %d\r\n\r\n%s" % (len(body), body))
    return True


async def escapes(req: Received, w: Writer) -> bool:
    """Model text that tries to style, move, ring and retitle the terminal."""
    nasty = "[bold red]loud[/] [link=http://x]l[/link] \x1b[2J\x1b]0;pwned\x07 \x9b31m \u202egnp.exe\u202c \x07 [@click=app.quit]q[/]"
    w.write(SSE_HEAD)
    await send(w, delta(0, nasty), delta(0, "", "stop"), b"data: [DONE]\n\n", b"")
    return False


SCENARIOS: dict[str, Scenario] = {
    "hang": hang_before_headers,
    "slow-drip": slow_drip,
    "die-mid-stream": die_mid_stream,
    "truncated-chunk": truncated_chunk,
    "garbage-line": garbage_line,
    "invalid-utf8": invalid_utf8,
    "split-utf8": split_utf8,
    "legacy-huge-line": huge_line,
    "more-candidates": more_candidates,
    "bad-indices": bad_indices,
    "text-after-finish": text_after_finish,
    "sse-oddities": sse_oddities,
    "legacy-nul-delimited": legacy_nul,
    "html-500": html_status(500),
    "html-502": html_status(502),
    "html-503": html_status(503),
    "redirect": redirect,
    "gzip": gzip_body,
    "escapes": escapes,
}


class HostileServer(ScriptedServer):
    def __init__(self, scenario: str) -> None:
        super().__init__()
        self.scenario = scenario
        self._respond = SCENARIOS[scenario]

    async def respond(self, req: Received, writer: Writer) -> bool:
        if req.path.endswith("/v1/models"):
            if self.scenario.startswith("legacy-"):
                return self.simple(writer, 404, b'{"detail":"Not Found"}')
            return self.simple(writer, 200, b'{"object":"list","data":[{"id":"hostile"}]}')
        if req.path == "/health":
            return self.simple(writer, 200, b"", None)
        return await self._respond(req, writer)


def serve_from_command_line(server: Callable[[str], ScriptedServer], scenarios: dict[str, Scenario], doc: str | None) -> None:
    """``python <module> SCENARIO``: serve one scenario until Ctrl-C, printing its URL."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("scenario", choices=sorted(scenarios))
    args = parser.parse_args()
    with server(args.scenario) as running:
        print(f"{args.scenario} on {running.url} (Ctrl-C to stop)", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    serve_from_command_line(HostileServer, SCENARIOS, __doc__)
