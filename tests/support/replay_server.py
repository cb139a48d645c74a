"""Loopback HTTP servers for tests that need byte-level control of the answer.

:class:`ScriptedServer` is a tiny HTTP/1.1 server on an ephemeral loopback port,
run in a background thread: each request goes to an async ``respond`` coroutine
that writes the raw bytes it wants (status line, headers, body in chunks).

:class:`ReplayServer` answers with a recording of a real vLLM from
``tests/fixtures/``: the recorded status, headers and body, each recorded chunk
sent as its own HTTP chunk, paced by the recorded timing times ``time_scale``
(0 = as fast as possible). It also answers ``/health`` and ``/v1/models`` as the
recorded server would, so protocol auto-detection works against it.
"""

from __future__ import annotations

import asyncio
import base64
import json
import socket
import ssl
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).parent.parent / "fixtures"
OPENAI = FIXTURES / "vllm-0.32.0-openai"
LEGACY = FIXTURES / "vllm-0.32.0-legacy-generate"


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


@dataclass
class Recording:
    name: str
    request: dict[str, Any]
    status: int
    headers: list[tuple[str, str]]
    chunks: list[tuple[float, bytes]] = field(default_factory=list)

    @classmethod
    def load(cls, path: Path | str) -> Recording:
        path = Path(path)
        if not path.is_absolute() and not path.exists():
            path = FIXTURES / path
        data = json.loads(path.read_text())
        resp = data["response"]
        chunks = [(c["t"], base64.b64decode(c["data_b64"])) for c in resp["chunks"]]
        return cls(data.get("name", path.stem), data["request"], resp["status"], [tuple(h) for h in resp["headers"]], chunks)

    @property
    def body(self) -> bytes:
        return b"".join(c for _, c in self.chunks)

    @property
    def chunked(self) -> bool:
        return any(k.lower() == "transfer-encoding" for k, _ in self.headers)


REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 500: "Internal Server Error"}


class ScriptedServer:
    """HTTP/1.1 on 127.0.0.1:ephemeral; subclasses implement :meth:`respond`."""

    def __init__(self, *, tls: ssl.SSLContext | None = None) -> None:
        self.received: list[Received] = []
        self._tls = tls
        self._loop = asyncio.new_event_loop()
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self.port = self._sock.getsockname()[1]
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._ready = threading.Event()
        self._server: asyncio.AbstractServer | None = None

    def __enter__(self) -> ScriptedServer:
        self._thread.start()
        self._ready.wait(5)
        return self

    def __exit__(self, *exc: object) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(asyncio.start_server(self._handle, sock=self._sock, ssl=self._tls))
        self._ready.set()
        self._loop.run_forever()
        self._server.close()
        tasks = asyncio.all_tasks(self._loop)
        for task in tasks:
            task.cancel()
        self._loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
        self._loop.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, target, _ = lines[0].split(" ", 2)
                headers = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:] if ln)}
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                req = Received(method, target, headers, body)
                self.received.append(req)
                keep_open = await self.respond(req, writer)
                await writer.drain()
                if not keep_open:
                    break
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError, ssl.SSLError):
            pass
        finally:
            writer.close()

    async def respond(self, req: Received, writer: asyncio.StreamWriter) -> bool:
        """Write the whole answer; return True to keep the connection open."""
        raise NotImplementedError

    @staticmethod
    def simple(writer: asyncio.StreamWriter, status: int, body: bytes, content_type: str | None = "application/json") -> bool:
        head = f"HTTP/1.1 {status} {REASONS.get(status, 'Status')}\r\ncontent-length: {len(body)}\r\n"
        if content_type:
            head += f"content-type: {content_type}\r\n"
        writer.write(head.encode() + b"\r\n" + body)
        return True


class ReplayServer(ScriptedServer):
    """Answers the recording's request path with the recorded bytes and chunking."""

    def __init__(self, recording: Recording | Path | str, *, time_scale: float = 0.0,
                 also: tuple[Recording | Path | str, ...] = ()) -> None:
        super().__init__()
        self.recording = recording if isinstance(recording, Recording) else Recording.load(recording)
        self.time_scale = time_scale
        self.also = {rec.request["path"]: rec for rec in (r if isinstance(r, Recording) else Recording.load(r) for r in also)}
        """More recordings answered on their own paths (``/version`` beside ``/metrics``)."""
        self.openai = "legacy" not in self.recording.request["path"] and self.recording.request["path"] != "/generate"

    async def respond(self, req: Received, writer: asyncio.StreamWriter) -> bool:
        path = req.path.split("?")[0]
        if req.method == "GET" and path == "/health":
            return self.simple(writer, 200, b"", None)
        if req.method == "GET" and path == "/v1/models":
            if self.openai:
                return await self._replay(Recording.load(OPENAI / "models.json"), writer)
            return self.simple(writer, 404, b'{"detail":"Not Found"}')
        if path == self.recording.request["path"]:
            return await self._replay(self.recording, writer)
        if req.method == "GET" and path in self.also:
            return await self._replay(self.also[path], writer)
        return self.simple(writer, 404, b'{"detail":"Not Found"}')

    async def _replay(self, rec: Recording, writer: asyncio.StreamWriter) -> bool:
        head = f"HTTP/1.1 {rec.status} {REASONS.get(rec.status, 'Status')}\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in rec.headers)
        writer.write(head.encode() + b"\r\n")
        last = rec.chunks[0][0] if rec.chunks else 0.0
        for t, data in rec.chunks:
            if self.time_scale:
                await asyncio.sleep(max(0.0, (t - last) * self.time_scale))
            last = t
            if not data:
                continue
            writer.write(b"%x\r\n%s\r\n" % (len(data), data) if rec.chunked else data)
            await writer.drain()
        if rec.chunked:
            writer.write(b"0\r\n\r\n")
        return True
