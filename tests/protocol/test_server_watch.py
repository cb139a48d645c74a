"""ServerWatch over loopback: the recorded vLLM, the demo server while it generates, and servers
whose /metrics is missing, HTML, failing or hanging (what is missing is said once, never asked in a loop)."""

from __future__ import annotations

import asyncio
import json
import re
import time

import pytest
from facts_server import FactsServer
from replay_server import OPENAI, Recording, ReplayServer

from tui_client.core.protocol import GenerationRequest, SamplingParams, VLLMClient
from tui_client.core.protocol.server_facts import ServerWatch
from tui_client.demo.server import DemoServer


class Clock:
    """A clock the test moves: backoff without waiting."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def recorded_value(name: str) -> float:
    body = Recording.load(OPENAI / "metrics.json").body.decode()
    return float(re.search(rf"^{re.escape(name)}\{{[^}}]*\}} (\S+)$", body, re.MULTILINE).group(1))  # type: ignore[union-attr]


async def test_the_recorded_server_replayed() -> None:
    clock = Clock()
    with ReplayServer(OPENAI / "metrics.json", also=(OPENAI / "version.json",)) as server:
        async with VLLMClient(server.url) as client:
            await client.connect()
            watch = ServerWatch(client, clock=clock)
            facts = await watch.refresh()
            clock.now += 2
            again = await watch.refresh()
    recorded_models = json.loads(Recording.load(OPENAI / "models.json").body)["data"]
    assert facts.reachable and facts.missing == {}
    assert facts.version == json.loads(Recording.load(OPENAI / "version.json").body)["version"] == "0.32.0"
    assert facts.api == "completions"
    assert [(m.id, m.root, m.max_model_len) for m in facts.models] == [
        (m["id"], m["root"], m["max_model_len"]) for m in recorded_models]
    assert facts.metrics is not None and facts.rates is None  # one snapshot: no rate yet
    assert facts.metrics.generation_tokens == recorded_value("vllm:generation_tokens_total")
    assert facts.metrics.prompt_tokens == recorded_value("vllm:prompt_tokens_total")
    assert again.rates is not None and again.rates.generation_tps == 0.0 and again.rates.seconds == 2
    assert len(watch.samples) == 2 and watch.samples[-1].generation_tps == 0.0
    assert [r.path for r in server.received].count("/version") == 1  # asked once per session


async def test_the_demo_servers_counters_move_while_it_generates() -> None:
    with DemoServer(token_delay=0.01) as demo:
        async with VLLMClient(demo.url) as client:
            watch = ServerWatch(client)
            before = await watch.refresh()
            assert before.metrics is not None and before.metrics.running == 0
            request = GenerationRequest("Once upon a time", SamplingParams(n=4, max_tokens=120, temperature=0.8, seed=3))
            states = []

            async def run() -> None:
                async for event in client.generate(request):
                    states.append(event.state)

            task = asyncio.create_task(run())
            seen = []
            deadline = time.monotonic() + 20
            while not task.done() and time.monotonic() < deadline:
                facts = await watch.refresh()
                assert facts.metrics is not None
                seen.append(facts.metrics)
                await asyncio.sleep(0.05)
            await task
            after = await watch.refresh()
    busy = [m for m in seen if m.running]
    assert busy, "the demo never showed a running request during the run"
    assert max(m.running for m in busy) == 4  # its 4 candidates (vLLM counts each sequence)
    assert max(m.kv_cache or 0 for m in busy) > 0
    moving = [m.generation_tokens for m in busy]
    assert moving == sorted(moving) and moving[-1] > moving[0]
    assert after.metrics is not None and after.metrics.running == 0 and after.metrics.kv_cache == 0
    usage = states[-1].usage
    assert usage is not None and after.metrics.generation_tokens == usage.completion_tokens
    assert after.metrics.prompt_tokens == usage.prompt_tokens
    assert any(s.generation_tps for s in watch.samples)


async def test_a_demo_without_metrics_says_so_and_keeps_the_rest() -> None:
    with DemoServer(token_delay=0, metrics=False) as demo:
        async with VLLMClient(demo.url) as client:
            facts = await ServerWatch(client).refresh()
    assert facts.reachable and facts.metrics is None
    assert facts.missing == {"metrics": "no /metrics: 404"}
    assert facts.version and facts.models[0].max_model_len == 2048


@pytest.mark.parametrize("mode, why", [
    ("404", "no /metrics: 404"),
    ("html", "/metrics is not Prometheus text (an HTML page: Welcome to nginx!)"),
])
async def test_a_metrics_that_is_missing_is_asked_once_until_a_manual_refresh(mode: str, why: str) -> None:
    clock = Clock()
    with FactsServer(mode) as server:
        async with VLLMClient(server.url) as client:
            watch = ServerWatch(client, clock=clock)
            for _ in range(6):
                facts = await watch.refresh()
                clock.now += watch.interval
            assert server.count("/metrics") == 1
            assert server.count("/v1/models") == 6  # the rest is still asked at each refresh
            assert facts.reachable and facts.missing == {"metrics": why}
            assert facts.version == "0.32.0" and facts.models and facts.metrics is None
            await watch.refresh(manual=True)
            assert server.count("/metrics") == 2


async def test_a_failing_metrics_is_asked_ever_less_often() -> None:
    clock = Clock()
    with FactsServer("500") as server:
        async with VLLMClient(server.url) as client:
            watch = ServerWatch(client, clock=clock)
            for _ in range(8):  # 8 polls, 2 s apart: asked at 0, 2, 6 and 14 s
                facts = await watch.refresh()
                clock.now += watch.interval
    assert server.count("/metrics") == 4
    assert facts.missing == {"metrics": "/metrics answered 500"}


async def test_a_hanging_metrics_times_out_and_backs_off() -> None:
    clock = Clock()
    with FactsServer("hang") as server:
        async with VLLMClient(server.url) as client:
            watch = ServerWatch(client, clock=clock, timeout=0.3)
            took = []
            for _ in range(4):
                start = time.monotonic()
                facts = await watch.refresh()
                took.append(time.monotonic() - start)
                clock.now += watch.interval
    assert max(took) < 5  # the timeout applies (0.3 s), whatever the client's --timeout
    assert facts.missing == {"metrics": "/metrics timed out (0.3 s without an answer)"}
    assert facts.reachable and facts.models and facts.version == "0.32.0"
    assert server.count("/metrics") == 3  # at 0, 2 and 6 s, not at 4


async def test_nothing_listening_is_unreachable(unused_url: str) -> None:
    async with VLLMClient(unused_url) as client:
        facts = await ServerWatch(client).refresh()
    assert not facts.reachable
    assert facts.unreachable is not None and "connection refused" in facts.unreachable
    assert facts.to_json()["reachable"] is False
