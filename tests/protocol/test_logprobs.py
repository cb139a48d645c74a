"""Per-token logprobs (``--logprobs K``) against recordings of a real vLLM 0.32.0: what is
sent, what is refused before sending, and what the server refuses."""

from __future__ import annotations

import json
import math

import pytest
from chunks import split_at
from expected import expected_openai, expected_tokens, request_for
from hypothesis import given, settings
from hypothesis import strategies as st
from replay_server import LEGACY, OPENAI, Recording, ReplayServer

from tui_client.core.protocol import (
    Api,
    ClientConfig,
    ErrorKind,
    GenerationRequest,
    RunState,
    SamplingParams,
    ServerInfo,
    Status,
    VLLMClient,
)
from tui_client.core.protocol.apis import ADAPTERS

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


@pytest.mark.parametrize("size", [0, 1, 7, 1000])  # 0: as recorded
@pytest.mark.parametrize("name", LOGPROB_RECORDINGS)
async def test_every_token_logprob_and_sorted_alternative_as_recorded(name: str, size: int) -> None:
    rec = Recording.load(OPENAI / f"{name}.json")
    expected, (texts, _, _) = expected_tokens(rec), expected_openai(rec)
    if size:  # HTTP chunks cut anywhere, also inside a character or a number
        body = rec.body
        rec.chunks = [(0.0, body[i : i + size]) for i in range(0, len(body), size)]
    with ReplayServer(rec) as server:
        state = await run(server.url, request_for(rec), api=Api.CHAT if "chat" in name else None)
    assert state.status is Status.FINISHED and not state.notes, (state.error, state.notes)
    assert set(state.candidates) == set(expected) == {0, 1}
    for cand in state.ordered():
        tokens = expected[cand.index]
        assert cand.text == texts[cand.index] == "".join(cand.token_texts)
        assert cand.token_texts == [t for t, _, _ in tokens]
        assert cand.token_logprobs == [lp for _, lp, _ in tokens]
        assert [list(top) for top in cand.token_tops] == [top for _, _, top in tokens]
        assert cand.cumulative_logprob == sum(lp for _, lp, _ in tokens)
        assert cand.mean_logprob == pytest.approx(cand.cumulative_logprob / len(tokens))
        assert cand.perplexity == pytest.approx(math.exp(-cand.mean_logprob))


def test_the_recordings_have_what_the_tests_rely_on() -> None:
    """Unsorted alternatives, ties and an end-of-sequence token that adds no text."""
    rec = Recording.load(OPENAI / "completions-stream-logprobs-n2.json")
    first = expected_tokens(rec)[0]
    assert first[0][0] == " a" and first[0][2][:3] == [(" that", -1.206879734992981), (" its", -1.831879734992981),
                                                      (" the", -1.831879734992981)]
    assert first[-1][0] == "" and first[-1][2][0][0] == "<|im_end|>"
    assert b'" a":-4.58' in rec.body and rec.body.index(b'" a":-4.58') < rec.body.index(b'" that":-1.20')


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


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(LOGPROB_RECORDINGS), st.lists(st.integers(0, 40_000), max_size=40))
def test_any_rechunking_of_a_recording_gives_the_recorded_tokens(name: str, cuts: list[int]) -> None:
    """The adapter fed the recorded body cut anywhere (the HTTP runs above cut it regularly)."""
    rec = Recording.load(OPENAI / f"{name}.json")
    request = request_for(rec)
    api = Api.CHAT if "chat" in name else Api.COMPLETIONS
    state = RunState(request, ServerInfo("http://x", api, "m"))
    adapter = ADAPTERS[api](state, max_line_bytes=1 << 20)
    if request.stream:
        for piece in split_at(rec.body, cuts):
            adapter.feed(piece)
        adapter.end_of_stream()
    else:
        adapter.apply_complete(json.loads(rec.body))
    expected = expected_tokens(rec)
    for cand in state.ordered():
        assert "".join(cand.token_texts) == cand.text
        assert list(zip(cand.token_texts, cand.token_logprobs)) == [(t, lp) for t, lp, _ in expected[cand.index]]
