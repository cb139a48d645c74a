"""The run session against the demo server over loopback: runs, serial numbers, the fallback, saving."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tui_client.core.protocol import (
    ClientConfig,
    GenerationRequest,
    SamplingParams,
    Status,
)
from tui_client.core.run_session import RunSession
from tui_client.core.storage.history import HistoryStore
from tui_client.core.transport.stream_worker import WorkerUnavailable


def request(n: int = 2, max_tokens: int = 8) -> GenerationRequest:
    return GenerationRequest("Once", SamplingParams(n=n, temperature=0.8, max_tokens=max_tokens, seed=3))


async def run_once(session: RunSession, req: GenerationRequest) -> tuple[int, list[WorkerUnavailable]]:
    changes, failures = [0], []
    run = session.begin(req)
    try:
        await session.stream(run, lambda: changes.__setitem__(0, changes[0] + 1), failures.append)
    finally:
        run.end()
    assert session.state is run.state
    return changes[0], failures


async def test_a_run_in_the_stream_worker_ends_finished(demo_url: str) -> None:
    session = RunSession(ClientConfig(url=demo_url))
    try:
        assert await session.start_worker() is None
        assert session.stream_worker is not None and session.stream_worker.running
        changes, failures = await run_once(session, request())
        assert changes > 0 and failures == []
        assert session.state is not None and session.state.status is Status.FINISHED
        assert len(session.state.candidates) == 2
    finally:
        await session.aclose()


async def test_without_the_worker_process_the_stream_is_read_here(demo_url: str,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.executable", "/nonexistent/python")
    session = RunSession(ClientConfig(url=demo_url))
    try:
        _, failures = await run_once(session, request())  # the worker fails at the run's start
        assert len(failures) == 1 and session.stream_worker is None
        assert session.state is not None and session.state.status is Status.FINISHED
        _, failures = await run_once(session, request())  # told once
        assert failures == [] and session.state.status is Status.FINISHED
    finally:
        await session.aclose()


async def test_only_the_latest_run_draws_its_end(demo_url: str) -> None:
    session = RunSession(ClientConfig(url=demo_url), stream_worker=False)
    try:
        first = session.begin(request())
        assert session.is_latest(first)
        second = session.begin(request())
        assert not session.is_latest(first) and session.is_latest(second)
        session.supersede()  # a run from the history is shown
        assert not session.is_latest(second)
    finally:
        await session.aclose()


async def test_a_cancelled_run_ends_cancelled_with_its_text(slow_demo_url: str) -> None:
    session = RunSession(ClientConfig(url=slow_demo_url), stream_worker=False)
    try:
        run = session.begin(request(max_tokens=400))
        task = asyncio.create_task(session.stream(run, lambda: None, lambda err: None))
        for _ in range(200):
            await asyncio.sleep(0.02)
            if run.state.total_chars > 10:
                break
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        state = run.end()
        assert state.status is Status.CANCELLED and state.total_chars > 0
    finally:
        await session.aclose()


async def test_what_is_saved(demo_url: str, tmp_path: Path, unused_url: str) -> None:
    session = RunSession(ClientConfig(url=demo_url), stream_worker=False, history_path=str(tmp_path / "h.sqlite3"))
    try:
        await run_once(session, request())
        state = session.state
        assert state is not None and session.worth_saving(state)
        run_id = await asyncio.to_thread(session.save, state)  # saved from a thread, as the app does
        with HistoryStore(tmp_path / "h.sqlite3") as store:
            stored = store.get(run_id)
        assert stored is not None and stored.state.candidates[0].text == state.candidates[0].text
    finally:
        await session.aclose()
    # A failed run with no text is not worth an entry.
    down = RunSession(ClientConfig(url=unused_url), stream_worker=False)
    try:
        await run_once(down, request())
        assert down.state is not None and down.state.status is Status.FAILED
        assert not down.worth_saving(down.state)
    finally:
        await down.aclose()


def test_an_unusable_url_gives_no_client_and_says_why() -> None:
    session = RunSession(ClientConfig(url="ftp://nowhere"), stream_worker=False)
    assert session.client is None and session.client_error is not None
    assert session.describe().url == "ftp://nowhere"
