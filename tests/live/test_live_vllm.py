"""Against a real vLLM (../shared/real-vllm/serve.sh). Run with `pytest -m live`, with
VLLM_LIVE_URL (OpenAI mode) and/or VLLM_LIVE_LEGACY_URL (legacy /generate mode) set."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys

import httpx
import pytest

from tui_client.core.protocol import Api, ClientConfig, GenerationRequest, RunState, SamplingParams, Status, VLLMClient

pytestmark = pytest.mark.live
OPENAI_URL = os.environ.get("VLLM_LIVE_URL")
LEGACY_URL = os.environ.get("VLLM_LIVE_LEGACY_URL")
needs_openai = pytest.mark.skipif(not OPENAI_URL, reason="VLLM_LIVE_URL not set")
needs_legacy = pytest.mark.skipif(not LEGACY_URL, reason="VLLM_LIVE_LEGACY_URL not set")


async def run(url: str, request: GenerationRequest, **config: object) -> RunState:
    async with VLLMClient(ClientConfig(url=url, **config)) as client:
        return [e async for e in client.generate(request)][-1].state


def req(n: int, *, stream: bool, **params: object) -> GenerationRequest:
    return GenerationRequest("San Francisco is a", SamplingParams(n=n, temperature=0.8, max_tokens=24, seed=1, **params), stream=stream)


@needs_openai
@pytest.mark.parametrize("stream", [True, False])
async def test_openai_completions_n4(stream: bool) -> None:
    state = await run(OPENAI_URL, req(4, stream=stream))
    assert state.status is Status.FINISHED, state.error
    assert state.server.api is Api.COMPLETIONS and state.server.model == "smollm2-135m"
    assert sorted(state.candidates) == [0, 1, 2, 3]
    assert all(c.text and c.finish_reason in ("length", "stop") for c in state.ordered())
    assert state.usage is not None and state.usage.completion_tokens == sum(
        c.tokens for c in state.ordered()) if stream else state.usage.completion_tokens > 0


@needs_openai
async def test_openai_chat_n3_stream() -> None:
    request = GenerationRequest("Name a fruit.", SamplingParams(n=3, temperature=0.8, max_tokens=20), stream=True)
    state = await run(OPENAI_URL, request, api=Api.CHAT)
    assert state.status is Status.FINISHED, state.error
    assert sorted(state.candidates) == [0, 1, 2] and all(c.text for c in state.ordered())


@needs_openai
async def test_openai_beam_search_not_streaming() -> None:
    state = await run(OPENAI_URL, GenerationRequest("The sky is", SamplingParams(n=3, temperature=0.0, max_tokens=8, beam_search=True), stream=False))
    assert state.status is Status.FINISHED, state.error
    assert len(state.candidates) == 3


@needs_openai
async def test_openai_bad_parameter_gives_vllms_message() -> None:
    state = await run(OPENAI_URL, GenerationRequest("x", SamplingParams(n=1, max_tokens=100000), stream=False))
    assert state.status is Status.FAILED
    assert "max_model_len" in str(state.error) and "\n" not in str(state.error)


@needs_legacy
@pytest.mark.parametrize("stream", [True, False])
async def test_legacy_generate_n4(stream: bool) -> None:
    state = await run(LEGACY_URL, req(4, stream=stream))
    assert state.status is Status.FINISHED, state.error
    assert state.server.api is Api.GENERATE
    if stream:
        assert sorted(state.candidates) == [0, 1, 2, 3]
    else:  # vLLM's last output may hold fewer than n: reported, not fatal
        assert 1 <= len(state.candidates) <= 4
        assert len(state.candidates) == 4 or state.notes
    assert all(c.text and not c.text.startswith("San Francisco is a") for c in state.ordered())


@needs_legacy
def test_legacy_cli_seed_output() -> None:
    out = subprocess.run([sys.executable, "-m", "tui_client", "generate", "--url", LEGACY_URL, "--n", "2", "--stream"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert [ln.split(":")[0] for ln in out.stdout.splitlines() if ln.startswith("Beam")] == ["Beam candidate 0", "Beam candidate 1"]


async def _requests_running(url: str) -> float:
    async with httpx.AsyncClient() as http:
        text = (await http.get(url.rstrip("/") + "/metrics")).text
    values = [float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith("vllm:num_requests_running")]
    assert values, "no vllm:num_requests_running gauge in /metrics"
    return sum(values)


@needs_openai
async def test_openai_cancel_mid_stream_aborts_on_the_server() -> None:
    request = GenerationRequest("Write a long story.", SamplingParams(n=4, temperature=0.8, max_tokens=1500), stream=True)
    async with VLLMClient(OPENAI_URL) as client:
        latest: dict[str, RunState] = {}

        async def consume() -> None:
            async for event in client.generate(request):
                latest["state"] = event.state

        task = asyncio.create_task(consume())
        for _ in range(600):
            await asyncio.sleep(0.05)
            if (s := latest.get("state")) is not None and s.total_chars > 40:
                break
        assert await _requests_running(OPENAI_URL) >= 1
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    state = latest["state"]
    assert state.status is Status.CANCELLED and state.total_chars > 40
    for _ in range(50):
        if await _requests_running(OPENAI_URL) == 0:
            break
        await asyncio.sleep(0.2)
    assert await _requests_running(OPENAI_URL) == 0


@needs_openai
def test_openai_cli_auto_detects() -> None:
    out = subprocess.run([sys.executable, "-m", "tui_client", "generate", "--url", OPENAI_URL, "--n", "2", "--json"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["server"]["api"] == "completions" and doc["server"]["model"] == "smollm2-135m"
    assert len(doc["candidates"]) == 2
