"""Per-token logprobs (``--logprobs K``) against recordings of a real vLLM 0.32.0: what is
sent, what is refused before sending, and what the server refuses."""

from __future__ import annotations

import pytest
from expected import request_for
from replay_server import LEGACY, OPENAI, Recording, ReplayServer

from tui_client.core.protocol import Api, ClientConfig, ErrorKind, GenerationRequest, SamplingParams, Status, VLLMClient

LOGPROB_RECORDINGS = ["completions-stream-logprobs-n2", "completions-nostream-logprobs-n2", "chat-stream-logprobs-n2"]


async def run(url: str, request: GenerationRequest, **config: object):
    async with VLLMClient(ClientConfig(url=url, **config)) as client:
        events = [event async for event in client.generate(request)]
    return events[-1].state


@pytest.mark.parametrize("name", LOGPROB_RECORDINGS)
async def test_the_request_asks_for_logprobs_as_the_recorded_client_did(name: str) -> None:
    rec = Recording.load(OPENAI / f"{name}.json")
    with ReplayServer(rec) as server:
        state = await run(server.url, request_for(rec), api=Api.CHAT if "chat" in name else None)
        sent = server.received[-1].json()
    assert state.status is Status.FINISHED, state.error
    assert {k: v for k, v in sent.items() if k != "stream_options"} == \
        {k: v for k, v in rec.request["json"].items() if k != "stream_options"}


@pytest.mark.parametrize("k", [21, -1])
async def test_a_k_out_of_range_is_refused_before_sending(k: int) -> None:
    with ReplayServer(OPENAI / "completions-stream-logprobs-n2.json") as server:
        state = await run(server.url, GenerationRequest("x", SamplingParams(logprobs=k)))
        posts = [r for r in server.received if r.method == "POST"]
    assert state.status is Status.FAILED and state.error is not None and not posts
    assert state.error.kind is ErrorKind.INVALID and state.error.field == "logprobs"
    assert str(state.error) == f"logprobs must be between 0 (off) and 20 (vLLM's default --max-logprobs), got {k}"


async def test_the_legacy_api_is_refused_in_one_line_once_detected() -> None:
    with ReplayServer(LEGACY / "generate-stream-n4.json") as server:
        state = await run(server.url, GenerationRequest("x", SamplingParams(logprobs=5), stream=True))
        posts = [r for r in server.received if r.method == "POST"]
    assert state.status is Status.FAILED and state.error is not None and not posts
    assert state.error.field == "logprobs" and "\n" not in str(state.error)
    assert str(state.error).startswith("the legacy /generate API has no logprobs")


async def test_the_servers_max_logprobs_refusal_is_passed_through_in_one_line() -> None:
    rec = Recording.load(OPENAI / "error-logprobs-too-many.json")
    with ReplayServer(rec) as server:
        # A server started with a higher --max-logprobs is not known to the client: this one says 20.
        state = await run(server.url, GenerationRequest("x", SamplingParams(max_tokens=1, logprobs=20), stream=False))
    assert state.status is Status.FAILED and state.error is not None
    assert state.error.kind is ErrorKind.HTTP and state.error.status == 400
    assert str(state.error) == (f"{server.url}/v1/completions answered 400: Requested sample logprobs of 50, which is "
                                "greater than max allowed: 20 (parameter=logprobs, value=50)")
