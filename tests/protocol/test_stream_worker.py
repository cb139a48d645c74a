"""The stream worker process gives the same runs as reading the stream in-process.

:class:`StreamWorker` runs :meth:`VLLMClient.generate` in a child process and mirrors
its state; every run here is done both ways, over loopback against the replay server
(real vLLM bytes), the hostile server and the demo server, and the results compared.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator
from contextlib import aclosing
from pathlib import Path

import pytest
from expected import request_for
from hostile_server import SCENARIOS, HostileServer
from replay_server import LEGACY, OPENAI, Recording, ReplayServer

from tui_client.core.protocol import (
    Api,
    CandidatesChanged,
    ClientConfig,
    ErrorKind,
    GenerationRequest,
    RunEnded,
    RunStarted,
    RunState,
    SamplingParams,
    ServerInfo,
    Status,
    VLLMClient,
)
from tui_client.core.protocol.packed_alternatives import StringTable
from tui_client.core.transport.stream_worker import StreamWorker, WorkerUnavailable, _apply, _ChangeSender


@pytest.fixture
async def worker() -> AsyncIterator[StreamWorker]:
    w = StreamWorker()
    await w.start()
    yield w
    await w.aclose()


def summary(state: RunState) -> dict[str, object]:
    """Everything a front end shows of a finished run."""
    return {
        "status": state.status,
        "error": (state.error.kind, str(state.error)) if state.error else None,
        "notes": list(state.notes),
        "usage": state.usage,
        "server": state.server,
        "bytes": state.bytes_received,
        "candidates": {
            c.index: (c.text, c.length, c.status, c.finish_reason, c.stop_reason, c.tokens) for c in state.ordered()
        },
    }


async def in_process(config: ClientConfig, request: GenerationRequest) -> RunState:
    return (await in_process_events(config, request))[-1].state


async def in_process_events(config: ClientConfig, request: GenerationRequest) -> list:
    async with VLLMClient(config) as client:
        return [e async for e in client.generate(request)]


async def in_worker(worker: StreamWorker, config: ClientConfig, request: GenerationRequest) -> tuple[RunState, list]:
    events = [e async for e in worker.generate(config, request)]
    return events[-1].state, events


RECORDINGS = [OPENAI / f"{n}.json" for n in ("completions-stream-n4", "completions-stream-n16-long", "completions-stream-n1-stop",
                                             "completions-nostream-n4", "completions-beam-n3", "chat-stream-n3",
                                             "error-n0", "error-unknown-model")] + \
             [LEGACY / f"{n}.json" for n in ("generate-stream-n16-long", "generate-stream-n4", "generate-nostream-n4",
                                             "generate-unicode-stream", "generate-error-bad-param")]


@pytest.mark.parametrize("path", RECORDINGS, ids=lambda p: p.stem)
async def test_recordings_give_the_same_run_as_in_process(worker: StreamWorker, path) -> None:
    rec = Recording.load(path)
    request = request_for(rec)
    api = Api.CHAT if "chat" in path.stem else None
    with ReplayServer(rec) as server:
        config = ClientConfig(url=server.url, api=api)
        expected_events = await in_process_events(config, request)
        state, events = await in_worker(worker, config, request)
    assert summary(state) == summary(expected_events[-1].state)
    assert isinstance(events[-1], RunEnded) and sum(isinstance(e, RunEnded) for e in events) == 1
    assert isinstance(events[0], RunStarted) is isinstance(expected_events[0], RunStarted)

    def streamed(evs: list) -> bool:
        return any(isinstance(e, CandidatesChanged) for e in evs)

    assert streamed(events) is streamed(expected_events)  # changes as they come, or all at the end


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
async def test_hostile_servers_give_the_same_run_as_in_process(worker: StreamWorker, scenario: str) -> None:
    request = GenerationRequest("Hi", SamplingParams(n=2))
    with HostileServer(scenario) as server:
        config = ClientConfig(url=server.url, timeout=1.0)
        expected = await in_process(config, request)
        state, _ = await in_worker(worker, config, request)
    assert summary(state) == summary(expected)


async def test_cancel_keeps_the_text_and_the_next_run_works(worker: StreamWorker, slow_demo_url: str) -> None:
    config = ClientConfig(url=slow_demo_url)
    request = GenerationRequest("Once upon a time", SamplingParams(n=3, temperature=0.8, max_tokens=400, seed=1))
    async with aclosing(worker.generate(config, request)) as events:
        async for event in events:
            state = event.state
            if state.total_chars > 40:
                break
    assert state.status is Status.CANCELLED and state.total_chars > 40
    assert all(c.status is Status.CANCELLED for c in state.ordered())
    state2, _ = await in_worker(worker, config, request.with_params(max_tokens=8))
    assert state2.status is Status.FINISHED and len(state2.candidates) == 3


async def test_cancelling_the_task_cancels_the_run(worker: StreamWorker, slow_demo_url: str) -> None:
    config = ClientConfig(url=slow_demo_url)
    request = GenerationRequest("Once upon a time", SamplingParams(n=2, temperature=0.8, max_tokens=400, seed=1))
    seen: list[RunState] = []

    async def consume() -> None:
        async for event in worker.generate(config, request):
            seen.append(event.state)

    task = asyncio.create_task(consume())
    while not seen or seen[-1].total_chars < 20:
        await asyncio.sleep(0.02)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert seen[-1].status is Status.CANCELLED and seen[-1].total_chars >= 20


async def test_a_dead_worker_fails_the_run_keeps_the_text_and_is_restarted(worker: StreamWorker, slow_demo_url: str) -> None:
    config = ClientConfig(url=slow_demo_url)
    request = GenerationRequest("Once upon a time", SamplingParams(n=2, temperature=0.8, max_tokens=400, seed=1))
    first_pid = worker.pid
    assert first_pid is not None
    async for event in worker.generate(config, request):
        state = event.state
        if state.total_chars > 20 and state.status is Status.STREAMING:
            os.kill(first_pid, signal.SIGKILL)
    assert state.status is Status.FAILED and state.error is not None
    assert state.error.kind is ErrorKind.DISCONNECTED and "stream reader process ended" in str(state.error)
    assert state.total_chars > 20, "the text received before it died is kept"
    state2, _ = await in_worker(worker, config, request.with_params(max_tokens=8))
    assert state2.status is Status.FINISHED and worker.pid != first_pid


async def test_a_worker_that_cannot_start_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.executable", "/nonexistent/python")
    worker = StreamWorker()
    with pytest.raises(WorkerUnavailable, match="cannot start"):
        async for _ in worker.generate(ClientConfig(url="http://127.0.0.1:9"), GenerationRequest("x")):
            pass


async def test_the_key_never_reaches_the_command_line(worker: StreamWorker, demo_url: str) -> None:
    """The config (with its API key) goes through the pipe, not argv or the environment."""
    assert worker.pid is not None
    assert b"secret" not in Path(f"/proc/{worker.pid}/cmdline").read_bytes()
    config = ClientConfig(url=demo_url, api_key="secret-key-123")
    state, _ = await in_worker(worker, config, GenerationRequest("Hi", SamplingParams(n=1, max_tokens=4)))
    assert state.status is Status.FINISHED
    assert b"secret" not in Path(f"/proc/{worker.pid}/cmdline").read_bytes()
    assert b"secret-key-123" not in Path(f"/proc/{worker.pid}/environ").read_bytes()


def tokens_of(state: RunState) -> dict[int, tuple[object, ...]]:
    return {c.index: (c.token_texts, c.token_logprobs, c.token_tops, c.cumulative_logprob, c.mean_logprob, c.perplexity)
            for c in state.ordered()}


@pytest.mark.parametrize("name", ["completions-stream-logprobs-n2", "chat-stream-logprobs-n2",
                                  "completions-nostream-logprobs-n2"])
async def test_a_logprob_run_through_the_worker_ends_as_in_process(worker: StreamWorker, name: str) -> None:
    rec = Recording.load(OPENAI / f"{name}.json")
    request = request_for(rec)
    with ReplayServer(rec, time_scale=0.3) as server:  # paced: the tokens come over several messages
        config = ClientConfig(url=server.url, api=Api.CHAT if "chat" in name else None)
        expected = await in_process(config, request)
        state, events = await in_worker(worker, config, request)
    assert summary(state) == summary(expected)
    assert tokens_of(state) == tokens_of(expected) and all(c.token_texts for c in state.ordered())
    if request.stream:
        assert sum(isinstance(e, CandidatesChanged) for e in events) > 3


def test_the_child_sends_only_the_tokens_appended_since_its_last_message() -> None:
    messages: list[tuple] = []
    sender = _ChangeSender(1, messages.append)
    state = RunState(GenerationRequest("x", SamplingParams(logprobs=1)), ServerInfo("http://x", Api.COMPLETIONS, "m"))
    cand = state.candidate(0)
    sender.state = state
    mirror = RunState(state.request, state.server)  # the UI's side
    table = StringTable()

    def step(texts: list[str], tops: list[tuple[tuple[str, float], ...]]) -> object:
        state.append_text(cand, "".join(texts), 0.0)
        cand.add_tokens(texts, [-1.0] * len(texts), tops)
        sender._dirty.add(0)
        sender.flush()
        sent = messages[-1][2][1][0][4]  # the candidate's tokens in the message (their alternatives apart)
        before = len(mirror.candidate(0).token_tops)
        _apply(mirror, messages[-1][2], table)
        return (*sent, mirror.candidate(0).token_tops[before:])

    assert step([" a", " b"], [(("t", -1.0),)] * 2) == ([" a", " b"], [-1.0, -1.0], [(("t", -1.0),)] * 2)
    assert step([" c"], [(("t", -1.0), ("u", -2.0))]) == ([" c"], [-1.0], [(("t", -1.0), ("u", -2.0))])
    assert messages[-1][2][2][0] == ["u"]  # only the strings it had not sent yet
    state.append_text(cand, " d", 0.0)  # text without a new token: none sent
    sender._dirty.add(0)
    sender.flush()
    assert messages[-1][2][1][0][4] is None
