"""Switching API and model without a restart (issue #17): the session re-pointed between runs,
against the demo server serving two models, seen through a recording proxy."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from recording_proxy import RecordingProxy
from replay_server import LEGACY, ReplayServer

from tui_client.core.protocol import Api, ClientConfig, ClientError, GenerationRequest, ModelCard, SamplingParams, Status
from tui_client.core.protocol.client import VLLMClient
from tui_client.core.run_session import RunSession
from tui_client.core.storage.history import HistoryStore
from tui_client.demo.server import DemoServer
from tui_client.demo.wire import MAX_MODEL_LEN


@pytest.fixture(scope="module")
def two_models_url() -> Iterator[str]:
    with DemoServer(token_delay=0.0, models=("model-a", "model-b")) as demo:
        yield demo.url


def request(max_tokens: int = 6) -> GenerationRequest:
    return GenerationRequest("Once", SamplingParams(n=2, temperature=0.8, max_tokens=max_tokens, seed=3))


async def run_once(session: RunSession, req: GenerationRequest) -> Status:
    run = session.begin(req)
    try:
        await session.stream(run, lambda: None, lambda _err: None)
    finally:
        state = run.end()
    session.save(state)
    return state.status


async def test_the_demo_lists_its_models_with_their_context_length(two_models_url: str) -> None:
    async with VLLMClient(two_models_url) as client:
        assert await client.list_models() == [ModelCard("model-a", MAX_MODEL_LEN), ModelCard("model-b", MAX_MODEL_LEN)]


async def test_a_legacy_server_has_no_model_list_and_a_down_one_says_why(unused_url: str) -> None:
    with ReplayServer(sorted(LEGACY.glob("*.json"))[0]) as legacy:
        async with VLLMClient(legacy.url) as client:
            assert await client.list_models() is None
    async with VLLMClient(unused_url) as client:
        with pytest.raises(ClientError, match="cannot connect"):
            await client.list_models()


@pytest.mark.parametrize("stream_worker", [True, False], ids=["worker", "in-process"])
async def test_api_and_model_switch_between_runs(two_models_url: str, tmp_path: Path, stream_worker: bool) -> None:
    history = str(tmp_path / "h.sqlite")
    with RecordingProxy(two_models_url) as proxy:
        session = RunSession(ClientConfig(url=proxy.url), stream_worker=stream_worker, history_path=history)
        try:
            await session.start_worker()
            assert await run_once(session, request()) is Status.FINISHED  # auto: completions, the first model
            first = session.client
            assert await session.reconfigure(api=Api.CHAT, model="model-b")
            assert not await session.reconfigure(api=Api.CHAT, model="model-b")  # nothing changed
            assert session.describe().api is Api.CHAT and session.describe().model == "model-b"
            assert first is not None and first._http.is_closed  # no run used it any more
            assert await run_once(session, request()) is Status.FINISHED
            assert await session.reconfigure(api=Api.COMPLETIONS, model="model-a")
            assert await run_once(session, request()) is Status.FINISHED
        finally:
            await session.aclose()
        posts = [(r.path, r.json()) for r in proxy.received if r.method == "POST"]
    assert [(path, body["model"]) for path, body in posts] == [
        ("/v1/completions", "model-a"), ("/v1/chat/completions", "model-b"), ("/v1/completions", "model-a")]
    assert "messages" in posts[1][1] and "prompt" not in posts[1][1]
    with HistoryStore(history) as store:
        saved = sorted((run.id, run.api, run.model) for run in store.list())
    assert [(api, model) for _, api, model in saved] == [
        ("completions", "model-a"), ("chat", "model-b"), ("completions", "model-a")]


async def test_a_run_going_keeps_its_client_until_it_ends(tmp_path: Path) -> None:
    with DemoServer(token_delay=0.02, models=("model-a", "model-b")) as demo:
        session = RunSession(ClientConfig(url=demo.url), stream_worker=False, history_path=str(tmp_path / "h.sqlite"))
        try:
            run = session.begin(request(max_tokens=40))
            started = asyncio.Event()
            task = asyncio.create_task(session.stream(run, started.set, lambda _err: None))
            await asyncio.wait_for(started.wait(), 10)
            old = session.client
            assert await session.reconfigure(api=Api.CHAT, model="model-b")
            assert old is not None and not old._http.is_closed  # the run still reads through it
            await asyncio.wait_for(task, 30)
            state = run.end()
            assert state.status is Status.FINISHED and state.server.api is Api.COMPLETIONS
            assert state.server.model == "model-a"
            assert old._http.is_closed  # closed once the run was done with it
        finally:
            await session.aclose()


async def test_generate_against_an_openai_only_server_fails_the_run_with_the_404_line(tmp_path: Path) -> None:
    from replay_server import OPENAI

    recording = next(p for p in sorted(OPENAI.glob("*.json")) if p.name != "models.json")
    with ReplayServer(recording) as server:
        session = RunSession(ClientConfig(url=server.url), stream_worker=False, history_path=str(tmp_path / "h.sqlite"))
        try:
            await session.reconfigure(api=Api.GENERATE, model=None)
            run = session.begin(request())
            await session.stream(run, lambda: None, lambda _err: None)
            state = run.end()
        finally:
            await session.aclose()
    assert state.status is Status.FAILED and state.error is not None
    assert "answered 404" in str(state.error) and "no legacy /generate" in str(state.error)
