"""A loopback HTTP proxy that records every request (method, path, headers, body) and
relays it to a real server (the demo server, say), its answer streamed back as it comes."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from replay_server import REASONS, Received, ScriptedServer


class RecordingProxy(ScriptedServer):
    """``RecordingProxy(upstream_url)``: ``received`` holds what the client sent, in order."""

    def __init__(self, upstream: str) -> None:
        super().__init__()
        self.upstream = upstream.rstrip("/")
        self._http: httpx.AsyncClient | None = None

    def __exit__(self, *exc: object) -> None:
        if self._http is not None:
            asyncio.run_coroutine_threadsafe(self._http.aclose(), self._loop).result(5)
        super().__exit__(*exc)

    def posted(self, path: str | None = None) -> list[Any]:
        """The JSON bodies of the POSTs received (to ``path`` only, when given)."""
        return [r.json() for r in self.received if r.method == "POST" and (path is None or r.path.split("?")[0] == path)]

    async def respond(self, req: Received, writer: asyncio.StreamWriter) -> bool:
        if self._http is None:
            self._http = httpx.AsyncClient(timeout=60)
        headers = {k: v for k, v in req.headers.items() if k not in ("host", "content-length", "connection")}
        upstream = self._http.build_request(req.method, self.upstream + req.path, headers=headers, content=req.body)
        resp = await self._http.send(upstream, stream=True)
        try:
            head = f"HTTP/1.1 {resp.status_code} {REASONS.get(resp.status_code, 'Status')}\r\n"
            kept = ("content-type",)
            head += "".join(f"{k}: {v}\r\n" for k, v in resp.headers.items() if k.lower() in kept)
            writer.write((head + "transfer-encoding: chunked\r\n\r\n").encode())
            async for data in resp.aiter_raw():
                if data:
                    writer.write(b"%x\r\n%s\r\n" % (len(data), data))
                    await writer.drain()
            writer.write(b"0\r\n\r\n")
        finally:
            await resp.aclose()
        return True
