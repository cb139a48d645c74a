"""Beam search on legacy ``/generate``, replayed from the real engine's recordings.

Each streamed line is the current top n beams, best first (vLLM up to 0.5). The client
must show exactly n candidates, candidate i being rank i of the latest line, and end
with the recorded final ranking. Expected values come from the recorded lines alone.
"""

from __future__ import annotations

import json

import pytest
from expected import request_for
from replay_server import LEGACY, OPENAI, Recording, ReplayServer

from tui_client.core.protocol import Api, ClientConfig, GenerationRequest, RunState, SamplingParams, Status, VLLMClient
from tui_client.core.transport.stream_worker import StreamWorker

STREAMED = ["generate-beam-stream-n3", "generate-beam-stream-n4-long"]


def recorded_rankings(rec: Recording) -> list[list[str]]:
    """Every line of the recording as a ranking of generated texts (prompt removed)."""
    prompt = rec.request["json"]["prompt"]
    lines = [json.loads(ln)["text"] for ln in rec.body.replace(b"\0", b"\n").split(b"\n") if ln.strip()]
    return [[t[len(prompt) :] for t in line] for line in lines]


async def run_client(url: str, request: GenerationRequest) -> tuple[RunState, list[tuple[list[str], list[Status], list]]]:
    seen: list[tuple[list[str], list[Status], list]] = []
    async with VLLMClient(ClientConfig(url=url, api=Api.GENERATE)) as client:
        async for event in client.generate(request):
            cands = event.state.ordered()
            seen.append(([c.text for c in cands], [c.status for c in cands],
                         [(c.change, c.forked_from, c.fork_at) for c in cands]))
    return event.state, seen


@pytest.mark.parametrize("name", STREAMED)
async def test_streamed_beams_end_in_the_recorded_ranking_with_exactly_n(name: str) -> None:
    rec = Recording.load(LEGACY / f"{name}.json")
    rankings = recorded_rankings(rec)
    request = request_for(rec)
    assert request.params.beam_search and request.stream
    with ReplayServer(rec) as server:
        state, seen = await run_client(server.url, request)
        sent = [r.json() for r in server.received if r.path == "/generate"]
    n = request.params.n
    assert state.status is Status.FINISHED and state.error is None, state.error
    assert [c.text for c in state.ordered()] == rankings[-1]
    assert len(state.candidates) == n and not state.notes
    assert state.beam_step == len(rankings)
    assert sent[0]["use_beam_search"] is True and sent[0]["best_of"] == n and sent[0]["stream"] is True

    # Every ranking shown on the way is a recorded line, in the recorded order.
    shown = [texts for texts, _, _ in seen if texts]
    position = 0
    for texts in shown:
        while position < len(rankings) and rankings[position][: len(texts)] != texts:
            position += 1
        assert position < len(rankings), f"shown ranking {texts} is no recorded line (after line {position})"


async def test_a_replaced_beam_says_where_it_came_from_and_an_ended_beam_is_done() -> None:
    rec = Recording.load(LEGACY / "generate-beam-stream-n3.json")
    rankings = recorded_rankings(rec)
    with ReplayServer(rec, time_scale=0.5) as server:  # paced: most lines arrive on their own
        state, seen = await run_client(server.url, request_for(rec))
    # Line 1 -> 2 of the recording: " the" at rank 1 gave way to " Paris," (which continues rank 0's " Paris").
    assert rankings[0][1] == " the" and rankings[1][1] == " Paris,"
    steps = [(texts, changes) for texts, _, changes in seen if len(texts) == 3]
    for (before, _), (after, changes) in zip(steps, steps[1:]):
        for rank, (change, forked_from, fork_at) in enumerate(changes):
            old, new = before[rank], after[rank]
            if new == old:
                continue
            if new.startswith(old):
                assert change == "extended"
                continue
            assert change == "replaced"
            parents = [k for k, t in enumerate(before) if new.startswith(t)]
            assert forked_from == (max(parents, key=lambda k: len(before[k])) if parents else None)
            assert old[:fork_at] == new[:fork_at] and (fork_at == min(len(old), len(new)) or old[fork_at] != new[fork_at])
    # " Paris." ends early (EOS) and stays listed unchanged: shown as done while the others go on.
    assert any(" Paris." in texts and statuses[texts.index(" Paris.")] is Status.FINISHED
               and any(s is Status.STREAMING for s in statuses) for texts, statuses, _ in seen)


async def test_the_stream_worker_process_shows_the_same_beams() -> None:
    rec = Recording.load(LEGACY / "generate-beam-stream-n4-long.json")
    worker = StreamWorker()
    try:
        with ReplayServer(rec) as server:
            config = ClientConfig(url=server.url, api=Api.GENERATE)
            async with VLLMClient(config) as client:
                info = await client.connect()
                async for event in worker.generate(config, request_for(rec), server=info, describe=client.describe()):
                    state = event.state
    finally:
        await worker.aclose()
    rankings = recorded_rankings(rec)
    assert [c.text for c in state.ordered()] == rankings[-1]
    assert state.beam_step == len(rankings)


async def test_beams_not_streamed_are_the_final_ranking() -> None:
    rec = Recording.load(LEGACY / "generate-beam-nostream-n3.json")
    with ReplayServer(rec) as server:
        state, _ = await run_client(server.url, request_for(rec))
    assert [c.text for c in state.ordered()] == recorded_rankings(rec)[0]
    assert state.status is Status.FINISHED and len(state.candidates) == 3
    doc = state.to_json()
    assert [c["rank"] for c in doc["candidates"]] == [0, 1, 2]


async def test_a_live_beam_search_too_wide_for_vllm_is_refused_before_anything_is_sent() -> None:
    rec = Recording.load(OPENAI / "completions-stream-n4.json")
    request = GenerationRequest("x", SamplingParams(n=11, beam_search=True), stream=True)
    with ReplayServer(rec) as server:
        async with VLLMClient(ClientConfig(url=server.url, api=Api.COMPLETIONS)) as client:
            events = [event async for event in client.generate(request)]
        posts = [r for r in server.received if r.method == "POST"]
    state = events[-1].state
    assert state.status is Status.FAILED and state.error is not None and state.error.field == "beam_search"
    assert "22 logprobs" in state.error.message and "\n" not in str(state.error)
    assert posts == []


async def test_streamed_beams_without_tokenize_fall_back_to_vllms_own_beam_search() -> None:
    """A server without /tokenize (a proxy, an older vLLM) still gets its beams, at the end."""
    rec = Recording.load(OPENAI / "completions-beam-n3.json")
    request = GenerationRequest(rec.request["json"]["prompt"], SamplingParams(n=3, beam_search=True, temperature=0, max_tokens=16))
    with ReplayServer(rec) as server:
        async with VLLMClient(ClientConfig(url=server.url, api=Api.COMPLETIONS)) as client:
            events = [event async for event in client.generate(request)]
        posts = [r.path for r in server.received if r.method == "POST"]
    state = events[-1].state
    expected = [c["text"] for c in json.loads(rec.body)["choices"]]
    assert state.status is Status.FINISHED and [c.text for c in state.ordered()] == expected
    assert any("no /tokenize" in note for note in state.notes)
    assert posts == ["/tokenize", "/v1/completions"]
