"""Going on from a candidate against a real vLLM (../shared/real-vllm/serve.sh openai): a chat
candidate becomes the assistant turn and the conversation goes on; a reply is continued in
place (continue_final_message); the bodies match vLLM's own answer to the same raw request.
Run with `pytest -m live` and VLLM_LIVE_URL set."""

from __future__ import annotations

import os

import httpx
import pytest

from tui_client.core.protocol import Api, ClientConfig, GenerationRequest, RunState, SamplingParams, Status, VLLMClient
from tui_client.core.protocol.continuation import continue_from

pytestmark = pytest.mark.live
OPENAI_URL = os.environ.get("VLLM_LIVE_URL")
needs_openai = pytest.mark.skipif(not OPENAI_URL, reason="VLLM_LIVE_URL not set")

PARAMS = SamplingParams(n=2, temperature=0.8, max_tokens=12, seed=11)


async def run(request: GenerationRequest) -> RunState:
    assert OPENAI_URL is not None
    client = VLLMClient(ClientConfig(url=OPENAI_URL, api=Api.CHAT, timeout=300))
    try:
        state = None
        async for event in client.generate(request):
            state = event.state
    finally:
        await client.aclose()
    assert state is not None and state.status is Status.FINISHED, state.error if state else None
    return state


def raw_chat(messages: list[dict[str, str]], model: str, **extra: object) -> list[str]:
    """The same request sent with httpx: vLLM's replies, by index."""
    body = {"model": model, "messages": messages, "n": PARAMS.n, "temperature": PARAMS.temperature,
            "max_tokens": PARAMS.max_tokens, "seed": PARAMS.seed, **extra}
    answer = httpx.post(f"{OPENAI_URL}/v1/chat/completions", json=body, timeout=300).json()
    return [choice["message"]["content"] for choice in sorted(answer["choices"], key=lambda c: c["index"])]


@needs_openai
async def test_a_chat_candidate_becomes_the_assistant_turn_on_a_real_vllm() -> None:
    first = await run(GenerationRequest("Name a fruit.", PARAMS, stream=False))
    reply = first.candidates[1].text
    assert reply
    request = continue_from(first.request, reply, chat=True, next_turn="Why that one?")
    second = await run(request)
    messages = [{"role": "user", "content": "Name a fruit."}, {"role": "assistant", "content": reply},
                {"role": "user", "content": "Why that one?"}]
    assert request.messages() == messages
    assert [c.text for c in second.ordered()] == raw_chat(messages, str(second.server.model))


@needs_openai
async def test_a_reply_is_continued_in_place_on_a_real_vllm() -> None:
    first = await run(GenerationRequest("Count from one to ten in words.", PARAMS, stream=False))
    reply = first.candidates[0].text
    request = continue_from(first.request, reply, chat=True)  # no next turn: the model goes on with its reply
    assert request.continues_reply
    second = await run(request)
    messages = [{"role": "user", "content": "Count from one to ten in words."}, {"role": "assistant", "content": reply}]
    expected = raw_chat(messages, str(second.server.model), continue_final_message=True, add_generation_prompt=False)
    assert [c.text for c in second.ordered()] == expected
