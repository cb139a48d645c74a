"""The live-beam scenario: the client's step-by-step beam search against vLLM's own.

Both run on the same server, alternately: ``generate --beam-search --stream`` (the
client runs vLLM's loop over HTTP, one request a step, and shows every step) and
``--no-stream`` (vLLM runs the same loop inside and answers once). The ratio of their
wall times is what showing the search live costs. Against a real vLLM when
``VLLM_LIVE_URL`` is set, else against the demo server in its own process (its Markov
token model, one ``DEMO_STEP`` per engine step, about what a GPU takes for a small model).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator

from tui_client.core.protocol import Api, ClientConfig, GenerationRequest, SamplingParams, VLLMClient

WIDTH, TOKENS = 4, 24
PROMPT = "The capital of France is"
DEMO_STEP = 0.03
"""Seconds the demo server takes per beam step (a step's request answers after it)."""


@contextlib.contextmanager
def _server() -> Iterator[tuple[str, str]]:
    url = os.environ.get("VLLM_LIVE_URL")
    if url:
        yield url, "real vLLM"
        return
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    cmd = [sys.executable, "-m", "tui_client", "serve-demo", "--port", str(port), "--token-delay", str(DEMO_STEP)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(200):
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.1):
                break
            time.sleep(0.05)
        yield url, f"demo server, {DEMO_STEP * 1000:.0f} ms a step"
    finally:
        proc.terminate()
        proc.wait(10)


async def _run(url: str, *, stream: bool) -> tuple[float, list[str], list[str]]:
    request = GenerationRequest(PROMPT, SamplingParams(n=WIDTH, temperature=0.0, max_tokens=TOKENS, beam_search=True), stream=stream)
    async with VLLMClient(ClientConfig(url=url, api=Api.COMPLETIONS)) as client:
        await client.connect()
        if stream:  # learn the end-of-sequence id once, as a session does before its first search
            async for _ in client.generate(request.with_params(max_tokens=1)):
                pass
        started = time.perf_counter()
        async for event in client.generate(request):
            pass
        wall = time.perf_counter() - started
    state = event.state
    problems = [f"ended {state.status.value}: {state.error}"] if state.error or state.status.value != "finished" else []
    return wall, [c.text for c in state.ordered()], problems + list(state.notes)


def live_beam_entry(repeat: int = 3) -> dict[str, object]:
    """One entry for the benchmark table: floor = vLLM's own search, app = the live one."""
    with _server() as (url, where):
        own, live, problems, same = [], [], [], True
        for _ in range(repeat):
            wall, own_texts, issues = asyncio.run(_run(url, stream=False))
            own.append(wall)
            problems += issues
            wall, live_texts, issues = asyncio.run(_run(url, stream=True))
            live.append(wall)
            problems += issues
            same &= own_texts == live_texts
    entry: dict[str, object] = {
        "scenario": f"live-beam-n{WIDTH}-t{TOKENS} ({where})",
        "n": WIDTH,
        "floor_wall_median": statistics.median(own),
        "app_wall_median": statistics.median(live),
        "own_walls": own,
        "live_walls": live,
        "same_beams": same,
    }
    entry["ratio"] = entry["app_wall_median"] / entry["floor_wall_median"]  # type: ignore[operator]
    if not same:
        problems.append("the live search ended with other beams than vLLM's own")
    if problems:
        entry["problems"] = sorted(set(problems))
    return entry
