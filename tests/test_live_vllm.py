"""Against a real vLLM (../shared/real-vllm/serve.sh). Run with `pytest -m live`, with
VLLM_LIVE_URL (OpenAI mode) and/or VLLM_LIVE_LEGACY_URL (legacy /generate mode) set."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tui_client.protocol import Api, ClientConfig, GenerationRequest, RunState, SamplingParams, Status, VLLMClient

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
