"""The stream server: its own process, serving one scenario's bytes as fast as the socket takes them.

``python -m benchmarks.server '<scenario json>'`` builds the body once, listens on an
ephemeral loopback port and prints ``READY <port> <payload bytes> <build seconds>``.
It serves until its stdin closes (the orchestrator ends it). Every POST gets the same
bytes; ``GET /health`` and ``GET /v1/models`` answer like vLLM, so the client's
protocol check passes. Raw asyncio HTTP/1.1, no framework: the server must cost as
little CPU as possible, since it shares the machine's cores with what is measured.
"""

from __future__ import annotations

import asyncio
import json
import socket
import sys
import threading
import time

from benchmarks.streams import Scenario, models_answer

REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 500: "Internal Server Error"}


class StreamServer:
    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        started = time.perf_counter()
        self.status, headers, self.blobs, self.payload = scenario.build()
        self.build_seconds = time.perf_counter() - started
        self.head = (f"HTTP/1.1 {self.status} {REASONS.get(self.status, 'Status')}\r\n"
                     + "".join(f"{k}: {v}\r\n" for k, v in headers) + "\r\n").encode()
        self.post_path = {"generate": "/generate", "chat": "/v1/chat/completions"}.get(
            scenario.api.value, "/v1/completions")

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, target, _ = lines[0].split(" ", 2)
                headers = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:] if ln)}
                await reader.readexactly(int(headers.get("content-length", "0")))
                path = target.split("?")[0]
                if method == "GET" and path == "/health":
                    self._simple(writer, 200, b"")
                elif method == "GET" and path == "/v1/models" and self.scenario.model is not None:
                    self._simple(writer, 200, models_answer())
                elif method == "POST" and path == self.post_path:
                    writer.write(self.head)
                    if self.scenario.speedup:
                        await self._paced(writer)
                    else:
                        for blob in self.blobs:
                            writer.write(blob)
                            await writer.drain()
                else:
                    self._simple(writer, 404, b'{"detail":"Not Found"}')
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()

    async def _paced(self, writer: asyncio.StreamWriter) -> None:
        """The recording at its own pace (sped up): each chunk when it is due."""
        loop = asyncio.get_running_loop()
        start = loop.time()
        for due, framed in self.scenario.paced_chunks():
            delay = start + due - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            writer.write(framed)
            await writer.drain()
        writer.write(b"0\r\n\r\n")

    @staticmethod
    def _simple(writer: asyncio.StreamWriter, status: int, body: bytes) -> None:
        writer.write(f"HTTP/1.1 {status} {REASONS.get(status, 'Status')}\r\ncontent-length: {len(body)}\r\n"
                     f"content-type: application/json\r\n\r\n".encode() + body)


async def serve(scenario: Scenario) -> None:
    server = StreamServer(scenario)
    listener = await asyncio.start_server(server.handle, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    print(f"READY {port} {server.payload} {server.build_seconds:.3f}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()

    def wait_stdin() -> None:
        sys.stdin.read()  # returns when the orchestrator closes our stdin
        loop.call_soon_threadsafe(stop.set)

    threading.Thread(target=wait_stdin, daemon=True).start()
    await stop.wait()
    listener.close()


def main() -> None:
    asyncio.run(serve(Scenario.from_json(json.loads(sys.argv[1]))))


if __name__ == "__main__":
    main()
