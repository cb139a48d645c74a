"""Compare servers over loopback: a legacy /generate recording beside an OpenAI one and a server
that dies, read at once (headless, and through the session's stream worker); cancel ends all."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from expected import expected_legacy, expected_openai, request_for
from hostile_server import HostileServer
from replay_server import LEGACY, OPENAI, Recording, ReplayServer

from tui_client.core.protocol import Api, ClientConfig, ErrorKind, GenerationRequest, RunState, SamplingParams, Status
from tui_client.core.protocol import VLLMClient
from tui_client.core.protocol.compare import (
    CompareState,
    ServerGroup,
    ServerTarget,
    follow_all,
    group_summary,
    targets_from,
)
from tui_client.core.run_session import RunSession
from tui_client.demo.server import DemoServer

OPENAI_REC = Recording.load(OPENAI / "completions-stream-n4.json")
LEGACY_REC = Recording.load(LEGACY / "generate-stream-n4.json")


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[ReplayServer, ReplayServer, HostileServer]]:
    """A slow OpenAI recording (its real pace, halved), a legacy one at full speed, one that dies mid-stream."""
    with ReplayServer(OPENAI_REC, time_scale=0.5) as slow, ReplayServer(LEGACY_REC) as legacy, \
            HostileServer("die-mid-stream") as dying:
        yield slow, legacy, dying


def check_groups(compare: CompareState, dying_url: str) -> None:
    openai, legacy, dying = compare.groups
    texts, reasons, _ = expected_openai(OPENAI_REC)
    assert openai.state.status is Status.FINISHED and openai.state.server.api is Api.COMPLETIONS
    assert {c.index: c.text for c in openai.state.ordered()} == texts
    assert {c.index: c.finish_reason for c in openai.state.ordered()} == reasons
    assert legacy.state.status is Status.FINISHED and legacy.state.server.api is Api.GENERATE
    assert sorted(c.text for c in legacy.state.ordered()) == expected_legacy(LEGACY_REC)
    assert dying.state.status is Status.FAILED and dying.state.error is not None
    assert dying.state.error.kind is ErrorKind.DISCONNECTED
    message = str(dying.state.error)
    assert "\n" not in message and dying_url.split("//")[1] in message
    kept = dying.state.candidates[0].text  # the words it sent before it died are kept
    assert kept and "the first words of a long answer".startswith(kept)
    assert compare.status is Status.FINISHED and compare.some_failed
    assert group_summary(dying).startswith("C · completions · hostile · failed: ")
    assert "tok/s" in group_summary(openai) and "length×4" in group_summary(openai)


async def test_follow_all_legacy_beside_openai_and_a_dying_server(servers) -> None:
    slow, legacy, dying = servers
    request = request_for(OPENAI_REC)  # the legacy recording was made with the same prompt and parameters
    targets = targets_from([slow.url, legacy.url, dying.url])
    clients = [VLLMClient(t.url) for t in targets]
    compare = CompareState([ServerGroup(t.label, RunState(request, c.describe())) for t, c in zip(targets, clients)])
    seen: set[int] = set()
    try:
        await follow_all([c.generate(request) for c in clients], compare, seen.add)
    finally:
        for c in clients:
            await c.aclose()
    assert [g.label for g in compare.groups] == ["A", "B", "C"] and seen == {0, 1, 2}
    check_groups(compare, dying.url)
    # The legacy group ended long before the slow one: they ran at once, not one after the other.
    assert compare.groups[1].state.ended_at < compare.groups[0].state.ended_at


async def test_the_session_streams_every_server_in_the_worker_at_once(servers) -> None:
    slow, legacy, dying = servers
    session = RunSession(ClientConfig(url=slow.url))
    session.set_compare([ServerTarget("B", legacy.url), ServerTarget("C", dying.url)])
    try:
        assert await session.start_worker() is None
        crun = session.begin_compare(request_for(OPENAI_REC))
        failed: list[object] = []
        await session.stream_compare(crun, lambda: None, failed.append)
        compare = crun.end()
        assert not failed and session.stream_worker is not None  # read in the child, all three at once
        check_groups(compare, dying.url)
        assert session.state is compare.groups[0].state and session.compare is compare
        session.begin(GenerationRequest("x", SamplingParams(n=1, max_tokens=1)))
        assert session.compare is None  # a plain run is of one server again
    finally:
        await session.aclose()


@pytest.fixture
def two_slow_demos() -> Iterator[tuple[str, str]]:
    with DemoServer(token_delay=0.05) as one, DemoServer(token_delay=0.05) as two:
        yield one.url, two.url


@pytest.mark.parametrize("worker", [True, False], ids=["worker", "in-process"])
async def test_cancel_cancels_every_server_and_keeps_their_text(two_slow_demos, worker: bool) -> None:
    one, two = two_slow_demos
    session = RunSession(ClientConfig(url=one), stream_worker=worker)
    session.set_compare([ServerTarget("B", two)])
    try:
        crun = session.begin_compare(GenerationRequest("The", SamplingParams(n=2, max_tokens=400, temperature=0.8)))
        task = asyncio.ensure_future(session.stream_compare(crun, lambda: None, lambda err: None))
        async with asyncio.timeout(20):
            while not all(g.state.total_chars for g in crun.compare.groups):
                await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        compare = crun.end()
        assert [g.state.status for g in compare.groups] == [Status.CANCELLED, Status.CANCELLED]
        assert all(g.state.total_chars for g in compare.groups) and compare.status is Status.CANCELLED
        assert not session._active  # every run let go of its client
    finally:
        await session.aclose()


async def test_switching_model_mid_comparison_keeps_the_servers_streams(two_slow_demos) -> None:
    """Switch-model replaces the session's client; neither server's run in flight loses its client."""
    one, two = two_slow_demos
    session = RunSession(ClientConfig(url=one))
    session.set_compare([ServerTarget("B", two)])
    try:
        request = GenerationRequest("The", SamplingParams(n=2, max_tokens=30, temperature=0.8))
        crun = session.begin_compare(request)
        task = asyncio.ensure_future(session.stream_compare(crun, lambda: None, lambda err: None))
        async with asyncio.timeout(20):
            while not crun.compare.groups[0].state.total_chars:
                await asyncio.sleep(0.02)
        assert await session.reconfigure(api=Api.CHAT, model=None)
        await task
        compare = crun.end()
        for group in compare.groups:
            assert group.state.status is Status.FINISHED, group.state.error
            assert group.state.server.api is Api.COMPLETIONS and len(group.state.candidates) == 2
            assert group.state.usage is not None and group.state.usage.completion_tokens == 60
    finally:
        await session.aclose()


def test_targets_are_labelled_by_position_or_by_the_user() -> None:
    assert targets_from(["http://a:1", "fast=http://b:2/v1", "http://c:3/?x=y"]) == [
        ServerTarget("A", "http://a:1"), ServerTarget("fast", "http://b:2/v1"), ServerTarget("C", "http://c:3/?x=y")]
    with pytest.raises(ValueError, match="'A' is given twice"):
        targets_from(["http://a:1", "A=http://b:2"])
