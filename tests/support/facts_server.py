"""A loopback server for the server panel's tests: vLLM's recorded /version and /v1/models, and a
``/metrics`` that answers as told: the recording, 404, an HTML page, 500, or never (it hangs)."""

from __future__ import annotations

import asyncio

from replay_server import OPENAI, Received, Recording, ScriptedServer

METRICS_MODES = ("recorded", "404", "html", "500", "hang")


class FactsServer(ScriptedServer):
    """``FactsServer("404")``: what vLLM 0.32 answers, but ``/metrics`` as ``metrics`` says."""

    def __init__(self, metrics: str = "recorded", *, models: bytes | None = None) -> None:
        super().__init__()
        assert metrics in METRICS_MODES
        self.metrics = metrics
        self.models = models if models is not None else Recording.load(OPENAI / "models.json").body
        self.metrics_body = Recording.load(OPENAI / "metrics.json").body

    def count(self, path: str) -> int:
        """Requests received for ``path``."""
        return sum(1 for r in self.received if r.path.split("?")[0] == path)

    async def respond(self, req: Received, writer: asyncio.StreamWriter) -> bool:
        path = req.path.split("?")[0]
        if path == "/health":
            return self.simple(writer, 200, b"", None)
        if path == "/v1/models":
            return self.simple(writer, 200, self.models)
        if path == "/version":
            return self.simple(writer, 200, b'{"version":"0.32.0"}')
        if path != "/metrics":
            return self.simple(writer, 404, b'{"detail":"Not Found"}')
        if self.metrics == "recorded":
            return self.simple(writer, 200, self.metrics_body, "text/plain; version=1.0.0; charset=utf-8")
        if self.metrics == "404":
            return self.simple(writer, 404, b'{"detail":"Not Found"}')
        if self.metrics == "html":
            page = b"<!doctype html><html><head><title>Welcome to nginx!</title></head><body>hi</body></html>"
            return self.simple(writer, 200, page, "text/html")
        if self.metrics == "500":
            return self.simple(writer, 500, b"Internal Server Error", "text/plain")
        await asyncio.sleep(3600)  # "hang": headers never come
        return False
