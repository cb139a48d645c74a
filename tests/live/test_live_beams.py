"""Beam search streamed by a real legacy /generate server (``serve.sh legacy``: ranked lines
as vLLM 0.5 sent them): the streamed beams must end as the same server's non-streamed answer.
Run with ``pytest -m live`` and VLLM_LIVE_LEGACY_URL set."""

from __future__ import annotations

import os

import pytest

from tui_client.core.protocol import Api, ClientConfig, GenerationRequest, RunState, SamplingParams, Status, VLLMClient

pytestmark = pytest.mark.live
LEGACY_URL = os.environ.get("VLLM_LIVE_LEGACY_URL")
needs_legacy = pytest.mark.skipif(not LEGACY_URL, reason="VLLM_LIVE_LEGACY_URL not set")


async def beams(prompt: str, n: int, *, stream: bool) -> tuple[RunState, list[list[str]]]:
    request = GenerationRequest(prompt, SamplingParams(n=n, temperature=0.0, max_tokens=20, beam_search=True), stream=stream)
    rankings: list[list[str]] = []
    async with VLLMClient(ClientConfig(url=LEGACY_URL, api=Api.GENERATE)) as client:
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
