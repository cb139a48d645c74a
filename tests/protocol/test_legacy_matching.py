"""Legacy ``/generate`` streams whose entries change places, end at once, or stay listed
after they finished: each entry must still reach the candidate whose text it extends.

A scripted server builds every line from per-candidate token lists known in advance
(the ground truth), ordered the way each vLLM release orders them; the client must end
with exactly those texts, never more candidates than n.
"""

from __future__ import annotations

import asyncio
import json
import threading

from replay_server import Received, ScriptedServer

from tui_client.core.protocol import Api, ClientConfig, GenerationRequest, RunState, SamplingParams, Status, VLLMClient

PROMPT = "Tell me"
HEAD = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"


def line(texts: list[str]) -> bytes:
    data = json.dumps({"text": [PROMPT + t for t in texts]}).encode() + b"\n"
    return b"%x\r\n%s\r\n" % (len(data), data)


class LinesServer(ScriptedServer):
    """Streams ``lines`` (lists of generated texts), one HTTP chunk each; after line
    ``hold_after`` it waits for :attr:`release` before sending the rest."""

    def __init__(self, lines: list[list[str]], *, hold_after: int | None = None) -> None:
        super().__init__()
        self.lines = lines
        self.hold_after = hold_after
        self.release = threading.Event()

    async def respond(self, req: Received, writer: asyncio.StreamWriter) -> bool:
        if req.path != "/generate":
            return self.simple(writer, 404, b'{"detail":"Not Found"}')
        writer.write(HEAD)
        for number, texts in enumerate(self.lines):
            writer.write(line(texts))
            await writer.drain()
            if number == self.hold_after:
                while not self.release.is_set():
                    await asyncio.sleep(0.01)
        writer.write(b"0\r\n\r\n")
        return True


def cumulative(tokens: list[str], step: int) -> str:
    return "".join(tokens[:step])


TRUTH = {
    "a": [" once", " upon", " a", " time", " there", " was", " a", " king"],
    "b": [" a", " story", " about", " a", " dragon", " and", " its", " gold"],
    "c": [" nothing", " more"],  # ends after two tokens
}


async def run(url: str, n: int, *, until=None) -> tuple[RunState, list[dict[int, tuple[str, Status]]]]:
    """Run to the end; ``until(state)`` (optional) is awaited on each event, e.g. to release the server."""
    snapshots: list[dict[int, tuple[str, Status]]] = []
    request = GenerationRequest(PROMPT, SamplingParams(n=n, temperature=1.0), stream=True)
    async with VLLMClient(ClientConfig(url=url, api=Api.GENERATE)) as client:
        async for event in client.generate(request):
            snapshots.append({c.index: (c.text, c.status) for c in event.state.ordered()})
            if until is not None:
                until(event.state)
    return event.state, snapshots


def assert_each_candidate_follows_one_truth(snapshots: list[dict[int, tuple[str, Status]]], truths: list[str]) -> None:
    """Every text a candidate ever showed is a prefix of one and the same true text."""
    finals = {index: text for index, (text, _) in snapshots[-1].items()}
    for snap in snapshots:
        for index, (text, _) in snap.items():
            assert finals[index].startswith(text), (index, text, finals[index])
    assert sorted(finals.values()) == sorted(truths)


async def test_entries_that_change_places_every_line_stay_with_their_candidate() -> None:
    # Old vLLM sorted the entries by cumulative logprob on every line: here they swap each line.
    a, b = TRUTH["a"], TRUTH["b"]
    lines = []
    for step in range(1, len(a) + 1):
        pair = [cumulative(a, step), cumulative(b, step)]
        lines.append(pair if step % 2 else pair[::-1])
    with LinesServer(lines) as server:
        state, snapshots = await run(server.url, 2)
    assert state.status is Status.FINISHED and state.error is None
    assert len(state.candidates) == 2
    assert not any("candidates for n=" in note for note in state.notes)
    assert_each_candidate_follows_one_truth(snapshots, ["".join(a), "".join(b)])


async def test_candidates_that_end_at_once_with_empty_text_absorb_nothing() -> None:
    # Seen on the real engine: n=8, five candidates empty in the first line, then three go on.
    a, b, c = TRUTH["a"], TRUTH["b"], TRUTH["a"][::-1]
    first = [a[0], "", "", b[0], "", "", c[0], ""]
    lines = [first] + [[cumulative(a, s), cumulative(b, s), cumulative(c, s)] for s in range(2, len(a) + 1)]
    with LinesServer(lines) as server:
        state, snapshots = await run(server.url, 8)
    assert len(state.candidates) == 8, [c.text for c in state.ordered()]
    texts = [c.text for c in state.ordered()]
    assert texts.count("") == 5
    assert sorted(t for t in texts if t) == sorted("".join(x) for x in (a, b, c))
    assert all(c.status is Status.FINISHED for c in state.candidates.values())
    assert_each_candidate_follows_one_truth(snapshots, [*("".join(x) for x in (a, b, c)), *[""] * 5])


async def test_a_finished_candidate_still_listed_is_shown_done_while_others_go_on() -> None:
    # Old vLLM kept finished sequences in every line, unchanged, sorted among the others.
    a, b, c = TRUTH["a"], TRUTH["b"], TRUTH["c"]
    lines = []
    for step in range(1, len(a) + 1):
        texts = [cumulative(a, step), cumulative(b, step), cumulative(c, min(step, len(c)))]
        lines.append(texts[step % 3:] + texts[: step % 3])  # places rotate
    hold = len(c) + 3  # the server waits here: c has been unchanged for three lines
    seen_done = []

    def check(state: RunState) -> None:
        cand = next((x for x in state.candidates.values() if x.text == "".join(c)), None)
        if cand is not None and cand.status is Status.FINISHED and not state.status.done:
            seen_done.append(True)
            server.release.set()

    with LinesServer(lines, hold_after=hold) as server:
        state, snapshots = await asyncio.wait_for(run(server.url, 3, until=check), 20)
    assert seen_done, "the candidate that stopped growing was never shown as done while the run went on"
    assert len(state.candidates) == 3
    assert_each_candidate_follows_one_truth(snapshots, ["".join(a), "".join(b), "".join(c)])
    assert all(x.finish_reason is None for x in state.candidates.values())  # /generate never says why


async def test_a_candidate_that_pauses_takes_up_its_text_again() -> None:
    # Tokens that complete no character show no new text: b pauses for three lines, then goes on.
    a, b = TRUTH["a"], TRUTH["b"]
    b_steps = [1, 2, 2, 2, 2, 3, 4, 5]
    lines = [[cumulative(a, s), cumulative(b, k)] for s, k in zip(range(1, len(a) + 1), b_steps)]
    shown_done = []

    def check(state: RunState) -> None:
        cand = state.candidates.get(1)
        if cand is not None and cand.status is Status.FINISHED and not state.status.done:
            shown_done.append(cand.text)
            server.release.set()

    with LinesServer(lines, hold_after=4) as server:
        state, snapshots = await asyncio.wait_for(run(server.url, 2, until=check), 20)
    assert shown_done and shown_done[0] == cumulative(b, 2)
    assert len(state.candidates) == 2 and not state.notes
    assert state.candidates[1].text == cumulative(b, 5)  # the same candidate went on
    assert_each_candidate_follows_one_truth(snapshots, ["".join(a), cumulative(b, 5)])
