"""Streamed beam search on real servers must end as the same server's own non-streamed answer.

- a legacy /generate server (``serve.sh legacy``: ranked lines as vLLM 0.5 sent them);
- ``vllm serve`` (``serve.sh openai``), where the client runs vLLM's loop itself, step by
  step, in completions and in chat.

Run with ``pytest -m live`` and VLLM_LIVE_LEGACY_URL / VLLM_LIVE_URL set."""

from __future__ import annotations

import os

import pytest

from tui_client.core.protocol import Api, ClientConfig, GenerationRequest, RunState, SamplingParams, Status, VLLMClient

pytestmark = pytest.mark.live
LEGACY_URL = os.environ.get("VLLM_LIVE_LEGACY_URL")
OPENAI_URL = os.environ.get("VLLM_LIVE_URL")
needs_legacy = pytest.mark.skipif(not LEGACY_URL, reason="VLLM_LIVE_LEGACY_URL not set")
needs_openai = pytest.mark.skipif(not OPENAI_URL, reason="VLLM_LIVE_URL not set")
PROMPTS = ["The capital of France is", "Once upon a time", "def fibonacci(n):", "The best way to learn", "Water boils at"]


async def beams(prompt: str, n: int, *, stream: bool, api: Api = Api.GENERATE, max_tokens: int = 20) -> tuple[RunState, list[list[str]]]:
    request = GenerationRequest(prompt, SamplingParams(n=n, temperature=0.0, max_tokens=max_tokens, beam_search=True), stream=stream)
    rankings: list[list[str]] = []
    url = LEGACY_URL if api is Api.GENERATE else OPENAI_URL
    async with VLLMClient(ClientConfig(url=url, api=api)) as client:
        async for event in client.generate(request):
            rankings.append([c.text for c in event.state.ordered()])
    return event.state, rankings


@needs_legacy
@pytest.mark.parametrize("prompt", ["The capital of France is", "Once upon a time", "def fibonacci(n):"])
async def test_streamed_beams_end_as_the_servers_own_answer(prompt: str) -> None:
    streamed, rankings = await beams(prompt, 3, stream=True)
    whole, _ = await beams(prompt, 3, stream=False)
    assert streamed.status is Status.FINISHED and whole.status is Status.FINISHED, (streamed.error, whole.error)
    assert len(streamed.candidates) == 3 and not streamed.notes
    assert [c.text for c in streamed.ordered()] == [c.text for c in whole.ordered()]
    assert streamed.beam_step > 1 and len({tuple(r) for r in rankings if r}) > 1  # it evolved on the way


@needs_openai
@pytest.mark.parametrize("api", [Api.COMPLETIONS, Api.CHAT])
async def test_the_clients_live_beam_search_ends_with_vllms_own_beams(api: Api) -> None:
    """Width 4, 12 tokens, five prompts: at least four end exactly as vLLM's own answer (two
    nearly tied beams may swap: vLLM orders ties in an unspecified way)."""
    same = 0
    for prompt in PROMPTS:
        streamed, rankings = await beams(prompt, 4, stream=True, api=api, max_tokens=12)
        own, _ = await beams(prompt, 4, stream=False, api=api, max_tokens=12)
        assert streamed.status is Status.FINISHED and own.status is Status.FINISHED, (streamed.error, own.error)
        assert len(streamed.candidates) == 4 and not streamed.notes
        assert streamed.beam_step == 12 or any(c.finish_reason == "stop" for c in streamed.ordered())
        assert len({tuple(r) for r in rankings if r}) > 2  # it evolved on the way
        scores = [c.score for c in streamed.ordered()]
        assert all(s is not None for s in scores) and scores == sorted(scores, reverse=True)  # type: ignore[type-var]
        texts = [(c.text, c.finish_reason) for c in streamed.ordered()]
        same += texts == [(c.text, c.finish_reason) for c in own.ordered()]
    assert same >= 4, f"only {same} of {len(PROMPTS)} prompts ended with vLLM's own beams"
