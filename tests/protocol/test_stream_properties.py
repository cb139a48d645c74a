"""A property of the stream layer, through real HTTP on loopback: whatever a server streams
(completions, chat or legacy framing; choices interleaved, duplicated, reordered, cut short, an
error, junk after ``[DONE]``; any chunking), no exception escapes, no text received is lost, and
the run ends finished or failed with one line."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from replay_server import Received, ScriptedServer

from tui_client.core.protocol import (
    Api,
    ClientConfig,
    ClientError,
    GenerationRequest,
    SamplingParams,
    Status,
    VLLMClient,
)

PROMPT = "P"
HEAD = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"


@dataclass
class Script:
    """One answer: the body's pieces (each sent as an HTTP chunk) and whether the body ends properly."""

    api: Api
    n: int
    pieces: list[bytes] = field(default_factory=list)
    complete: bool = True


class BodyServer(ScriptedServer):
    """Answers the generation request with :attr:`script`; /v1/models by the script's API."""

    script: Script | None = None

    async def respond(self, req: Received, writer: asyncio.StreamWriter) -> bool:
        script = self.script
        assert script is not None
        if req.path.startswith("/v1/models"):
            if script.api is Api.GENERATE:
                return self.simple(writer, 404, b'{"detail":"Not Found"}')
            return self.simple(writer, 200, b'{"object":"list","data":[{"id":"m"}]}')
        if req.path.startswith("/health"):
            return self.simple(writer, 200, b"", None)
        writer.write(HEAD)
        for piece in script.pieces:
            if piece:
                writer.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                await writer.drain()
        if script.complete:
            writer.write(b"0\r\n\r\n")
        return False


@pytest.fixture(scope="module")
def server() -> Iterator[BodyServer]:
    with BodyServer() as srv:
        yield srv


TEXT = st.text(st.sampled_from("ab é日🌍\n\"\\{}:"), max_size=4)


@dataclass
class Wire:
    """What the script sends, and what a plain reading of it says each candidate received."""

    body: bytes
    ends: list[int]  # the byte offset where each event (or record) ends, delimiter included
    texts: list[dict[int, str]]  # after each event: the text of each candidate so far
    kinds: list[str]  # each event's kind: text, finish, usage, error or done


@st.composite
def scripts(draw: st.DrawFn) -> tuple[Script, Wire]:
    api = draw(st.sampled_from(list(Api)))
    n = draw(st.integers(1, 3))
    pieces = [draw(st.lists(TEXT, max_size=4)) for _ in range(n)]
    # Per candidate: its deltas then its finish; merged in any interleaving.
    queues = [[("text", i, p) for p in pieces[i]] + [("finish", i, "")] for i in range(n)]
    steps: list[tuple[str, int, str]] = []
    while any(queues):
        live = [q for q in queues if q]
        steps.append(live[draw(st.integers(0, len(live) - 1))].pop(0))
    for _ in range(draw(st.integers(0, 2))):  # duplicates
        if steps:
            k = draw(st.integers(0, len(steps) - 1))
            steps.insert(k, steps[k])
    for _ in range(draw(st.integers(0, 2))):  # reorders
        if len(steps) > 1:
            k = draw(st.integers(0, len(steps) - 2))
            steps[k], steps[k + 1] = steps[k + 1], steps[k]
    if api is not Api.GENERATE and draw(st.booleans()):
        steps.append(("usage", -1, ""))
    if api is not Api.GENERATE and draw(st.integers(0, 5)) == 0:
        steps.insert(draw(st.integers(0, len(steps))), ("error", -1, ""))
    if api is not Api.GENERATE and draw(st.integers(0, 3)) > 0:
        steps.append(("done", -1, ""))
        if draw(st.booleans()):
            steps += [("text", 0, "late"), ("error", -1, "")]
    no_index = n == 1 and api is not Api.GENERATE and draw(st.booleans())

    events: list[bytes] = []
    texts: list[dict[int, str]] = []
    so_far: dict[int, str] = {}
    for kind, i, piece in steps:
        if kind == "text":
            so_far[i] = so_far.get(i, "") + piece
        if api is Api.GENERATE:
            record = {"text": [PROMPT + so_far.get(k, "") for k in range(n)]}
            events.append(json.dumps(record, ensure_ascii=False).encode() + b"\n")
        elif kind == "done":
            events.append(b"data: [DONE]\n\n")
        elif kind == "error":
            events.append(b'data: {"error": {"message": "boom", "code": 500}}\n\n')
        elif kind == "usage":
            events.append(b'data: {"choices": [], "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}}\n\n')
        else:
            choice: dict[str, object] = {"finish_reason": "length" if kind == "finish" else None}
            if not no_index:
                choice["index"] = i
            if api is Api.CHAT:
                choice["delta"] = {"content": piece}
            else:
                choice["text"] = piece
            events.append(b"data: " + json.dumps({"choices": [choice]}, ensure_ascii=False).encode() + b"\n\n")
        texts.append(dict(so_far))
    body = b"".join(events)
    ends, total = [], 0
    for e in events:
        total += len(e)
        ends.append(total)
    cut = draw(st.one_of(st.none(), st.integers(0, len(body))))
    complete = cut is None
    if cut is not None:
        body = body[:cut]
    points = sorted(set(draw(st.lists(st.integers(0, len(body)), max_size=6))))
    chunks = [body[a:b] for a, b in zip([0, *points], [*points, len(body)])]
    return Script(api, n, chunks, complete), Wire(body, ends, texts, [k for k, _, _ in steps])


async def generate(url: str, script: Script):
    async with VLLMClient(ClientConfig(url=url, api=script.api, timeout=5.0)) as client:
        request = GenerationRequest(PROMPT, SamplingParams(n=script.n), stream=True)
        return [event async for event in client.generate(request)]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scripts())
def test_no_exception_no_text_lost_always_a_terminal_status(server: BodyServer, case: tuple[Script, Wire]) -> None:
    script, wire = case
    server.script = script
    events = asyncio.run(generate(server.url, script))  # an exception escaping fails the test
    state = events[-1].state
    assert state.status in (Status.FINISHED, Status.FAILED)
    assert all(c.status.done for c in state.candidates.values())
    if state.status is Status.FAILED:
        assert isinstance(state.error, ClientError) and "\n" not in str(state.error)
    got = {c.index: c.text for c in state.ordered()}
    arrived = sum(1 for end in wire.ends if end <= len(wire.body))  # events that arrived whole
    # The run's text is that of the events up to the first [DONE] or error among them.
    last = next((k for k in range(arrived) if wire.kinds[k] in ("done", "error")), arrived)
    if script.api is Api.GENERATE:
        if last:  # each entry of the newest record is some candidate's text
            assert set(wire.texts[last - 1].values()) - {""} <= set(got.values()), (got, wire.texts[last - 1])
        return
    if last < arrived and wire.kinds[last] == "done" and any(k in ("text", "finish") for k in wire.kinds[:last]):
        assert state.status is Status.FINISHED, state.error
    if last < arrived and wire.kinds[last] == "error":
        assert state.status is Status.FAILED and "boom" in str(state.error)
    before = wire.texts[last - 1] if last else {}
    # An event cut short may still count: the stream's end completes its last line.
    after = wire.texts[last] if last == arrived < len(wire.ends) else before
    for index, text in got.items():
        assert text in (before.get(index, ""), after.get(index, "")), (index, got, before, after)
    for index, text in before.items():
        assert got.get(index, "") in (text, after.get(index, "")), (index, got, before)
