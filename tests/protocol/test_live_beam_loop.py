"""Live beam search on ``vllm serve``: the client runs vLLM's loop over HTTP, one ranking a step.

The demo server answers at the token level from a scripted model
(``tests/support/scripted_model.py``); every expected ranking comes from the independent
reference (``tests/support/beam_reference.py``), never from the code under test. A
beam's text is the model's decoding of its generated ids.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from beam_reference import RefBeam, reference_beam_search, reference_beam_steps
from scripted_model import SCENARIOS, Scenario, ScriptedModel

from tui_client.core.protocol.client import VLLMClient
from tui_client.core.protocol.errors import ErrorKind
from tui_client.core.protocol.params import GenerationRequest, SamplingParams
from tui_client.core.protocol.state import Api, CandidatesChanged, RunEvent, RunState, Status
from tui_client.demo.server import DemoServer

TIES = {"tie", "tie_kept"}  # which of the tied beams vLLM keeps, and their order, is unspecified
EXACT = sorted(set(SCENARIOS) - TIES)


@dataclass(frozen=True)
class Row:
    text: str
    status: Status
    finish_reason: str | None
    cumulative_logprob: float | None
    score: float | None
    change: str | None
    forked_from: int | None


@dataclass(frozen=True)
class Snapshot:
    step: int
    rows: list[Row]


@pytest.fixture
def served() -> Iterator[tuple[ScriptedModel, str]]:
    model = ScriptedModel()
    with DemoServer(token_model=model, token_delay=0) as demo:
        yield model, demo.url


def snapshot(state: RunState) -> Snapshot:
    rows = [Row(c.text, c.status, c.finish_reason, c.cumulative_logprob, c.score, c.change, c.forked_from)
            for c in state.ordered()]  # fmt: skip
    return Snapshot(state.beam_step, rows)


def request(s: Scenario, *, stream: bool = True, width: int | None = None) -> GenerationRequest:
    params = SamplingParams(n=width or s.width, beam_search=True, temperature=0, max_tokens=s.max_tokens,
                            length_penalty=s.length_penalty)  # fmt: skip
    return GenerationRequest(s.prompt, params, stream=stream)


def api_of(s: Scenario) -> Api:
    return Api.CHAT if s.chat else Api.COMPLETIONS


async def run(url: str, s: Scenario, *, stream: bool = True, width: int | None = None) -> tuple[RunState, list[Snapshot], list[RunEvent]]:
    seen: list[Snapshot] = []
    events: list[RunEvent] = []
    async with VLLMClient(url, api=api_of(s)) as client:
        async for event in client.generate(request(s, stream=stream, width=width)):
            events.append(event)
            if isinstance(event, CandidatesChanged):
                seen.append(snapshot(event.state))
    return events[-1].state, seen, events


def reference(model: ScriptedModel, s: Scenario) -> tuple[list[list[RefBeam]], list[RefBeam], list[tuple[int, ...]]]:
    """Per-step rankings, the answer, and every context the search asks about (in order)."""
    asked: list[tuple[int, ...]] = []

    def next_logprobs(ids):  # what the server returns: the top 2 x width, best first
        asked.append(tuple(ids))
        return model.top_logprobs(ids, 2 * s.width)

    args = (s.prompt_ids(model), s.width, s.max_tokens, model.eos_token_id, s.length_penalty)
    steps = reference_beam_steps(next_logprobs, *args)
    return steps, reference_beam_search(next_logprobs, *args), asked


def expected_rows(model: ScriptedModel, ranking: list[RefBeam]) -> list[tuple[str, float, float, bool]]:
    return [(model.text(b.tokens), b.cum_logprob, pytest.approx(b.score, rel=1e-12), b.finish_reason == "stop")
            for b in ranking]  # fmt: skip


def shown_rows(snap: Snapshot) -> list[tuple[str, float | None, float | None, bool]]:
    return [(r.text, r.cumulative_logprob, r.score, r.finish_reason == "stop") for r in snap.rows]


def last_of_step(seen: list[Snapshot], step: int) -> Snapshot:
    return [snap for snap in seen if snap.step == step][-1]


# -- the streamed search equals vLLM's ------------------------------------------------


@pytest.mark.parametrize("name", EXACT)
async def test_every_step_and_the_answer_are_the_references(served: tuple[ScriptedModel, str], name: str) -> None:
    model, url = served
    s = SCENARIOS[name]
    steps, final, _ = reference(model, s)
    state, seen, _ = await run(url, s)
    assert state.status is Status.FINISHED and state.error is None, state.error

    # The answer: exactly W beams, vLLM's order, texts, finish reasons, logprobs and scores.
    assert len(state.candidates) == s.width
    got = [(c.text, c.finish_reason, c.cumulative_logprob, c.score) for c in state.ordered()]
    assert got == [(model.text(b.tokens), b.finish_reason, b.cum_logprob, pytest.approx(b.score, rel=1e-12)) for b in final]
    assert all(c.status is Status.FINISHED for c in state.ordered())
    assert state.beam_step == len(steps)

    # On the way: each ranking shown is the reference's ranking of the same step, and each step is shown.
    for snap in seen:
        assert 0 <= snap.step <= len(steps), snap
        if snap.step == 0:
            assert all(r.text == "" and r.status is not Status.FINISHED for r in snap.rows), snap
            continue
        assert shown_rows(snap) == expected_rows(model, steps[snap.step - 1]), f"step {snap.step}"
        if snap.step < len(steps):  # mid-search: a completed beam is done, a live one goes on
            assert [r.status for r in snap.rows] == [
                Status.FINISHED if r.finish_reason == "stop" else Status.STREAMING for r in snap.rows
            ], f"step {snap.step}"
            assert all(r.finish_reason in (None, "stop") for r in snap.rows), f"step {snap.step}"
    assert {snap.step for snap in seen} >= set(range(1, len(steps) + 1))


@pytest.mark.parametrize("name", ["prune_replace", "short_wins", "wide"])
async def test_the_client_asks_for_exactly_the_live_beams_of_each_step(served: tuple[ScriptedModel, str], name: str) -> None:
    model, url = served
    s = SCENARIOS[name]
    _, _, asked = reference(model, s)
    await run(url, s)
    contexts = [ids for method, ids in model.calls if method == "next_logprobs"]
    assert set(contexts) == set(asked)  # no pruned beam continued, none missing


async def test_a_pruned_beam_is_gone_and_a_replaced_one_says_which_rank_it_continues(served: tuple[ScriptedModel, str]) -> None:
    model, url = served
    s = SCENARIOS["prune_replace"]
    steps, _, _ = reference(model, s)
    assert [model.text(b.tokens) for b in steps[0]] == [" cat", " dog"]
    assert [model.text(b.tokens) for b in steps[1]] == [" cat sat", " cat ran"]
    _, seen, _ = await run(url, s)
    step2 = last_of_step(seen, 2)
    # " dog" (rank 1) is pruned: nothing at step 2 continues it.
    assert not any(r.text.startswith(" dog") for r in step2.rows)
    # Rank 0 " cat" -> " cat sat": extended. Rank 1 " dog" -> " cat ran": rank 0's child took it.
    assert (step2.rows[0].change, step2.rows[1].change, step2.rows[1].forked_from) == ("extended", "replaced", 0)


async def test_ranks_that_swap_are_each_replaced_from_the_other(served: tuple[ScriptedModel, str]) -> None:
    model, url = served
    s = SCENARIOS["short_wins"]
    steps, final, _ = reference(model, s)
    assert [model.text(b.tokens) for b in steps[1]] == [" cat sat", " dog ran"]
    assert [model.text(b.tokens) for b in steps[2]] == [" dog ran away", " cat sat on"]
    state, seen, _ = await run(url, s)
    step3 = last_of_step(seen, 3)
    assert [(r.text, r.change, r.forked_from) for r in step3.rows] == [
        (" dog ran away", "replaced", 1),
        (" cat sat on", "replaced", 0),
    ]
    # The beam that met EOS at step 2 (out of the ranking until then) ends first.
    assert [(c.text, c.finish_reason) for c in state.ordered()] == [(" cat", "stop"), (" dog ran away.", "length")]
    assert all(r.text != " cat" for snap in seen if snap.step in (2, 3) for r in snap.rows)


async def test_eos_at_the_first_step_is_an_empty_finished_beam(served: tuple[ScriptedModel, str]) -> None:
    model, url = served
    _, seen, _ = await run(url, SCENARIOS["eos_first"])
    step1 = last_of_step(seen, 1)
    assert [(r.text, r.status, r.finish_reason) for r in step1.rows] == [
        (" cat", Status.STREAMING, None),
        ("", Status.FINISHED, "stop"),
    ]


@pytest.mark.parametrize("name", sorted(TIES))
async def test_ties_only_what_is_defined(served: tuple[ScriptedModel, str], name: str) -> None:
    model, url = served
    s = SCENARIOS[name]
    _, final, _ = reference(model, s)
    state, _, _ = await run(url, s)
    assert state.status is Status.FINISHED and state.error is None, state.error
    got = state.ordered()
    assert len(got) == s.width
    # Defined: the logprobs and scores at each rank, and rank 0 (no tie there).
    assert [(c.cumulative_logprob, c.score, c.finish_reason) for c in got] == [
        (b.cum_logprob, pytest.approx(b.score, rel=1e-12), b.finish_reason) for b in final
    ]
    assert got[0].text == " cat sat"
    # Not defined by vLLM: which of " cat ran" / " dog sat" (both -2.0) is kept, and their order.
    tied = {" cat ran", " dog sat"}
    assert {c.text for c in got[1:]} <= tied and len({c.text for c in got[1:]}) == s.width - 1


async def test_the_chat_prompt_goes_through_the_chat_template(served: tuple[ScriptedModel, str]) -> None:
    model, url = served
    s = SCENARIOS["chat"]
    steps, final, asked = reference(model, s)
    state, seen, _ = await run(url, s)
    assert state.status is Status.FINISHED and state.error is None, state.error
    assert ("chat_ids", s.messages()) in model.calls
    prompt = tuple(s.prompt_ids(model))
    contexts = [ids for method, ids in model.calls if method == "next_logprobs"]
    assert contexts and all(ids[: len(prompt)] == prompt for ids in contexts)
    assert set(contexts) == set(asked)
    assert [(c.text, c.finish_reason, c.cumulative_logprob) for c in state.ordered()] == [
        ("Hello!", "stop", -0.875), ("Hi!", "stop", -2.0)
    ]
    assert [c.score for c in state.ordered()] == [pytest.approx(b.score, rel=1e-12) for b in final]  # by 9 + 2 tokens
    assert shown_rows(last_of_step(seen, 2)) == expected_rows(model, steps[1])


# -- vLLM's own answer (not streamed) -------------------------------------------------


@pytest.mark.parametrize("name", EXACT)
async def test_the_servers_own_answer_is_the_same(served: tuple[ScriptedModel, str], name: str) -> None:
    model, url = served
    s = SCENARIOS[name]
    _, final, _ = reference(model, s)
    state, _, _ = await run(url, s, stream=False)
    assert state.status is Status.FINISHED and state.error is None, state.error
    assert [(c.text, c.finish_reason) for c in state.ordered()] == [(model.text(b.tokens), b.finish_reason) for b in final]


# -- refusals and cancelling ----------------------------------------------------------


async def test_a_width_over_ten_is_refused_before_any_request(served: tuple[ScriptedModel, str]) -> None:
    model, url = served
    s = dataclasses.replace(SCENARIOS["wide"], width=11)  # 2 x 11 = 22 logprobs > vLLM's max_logprobs 20
    state, _, _ = await run(url, s)
    assert state.status is Status.FAILED and state.error is not None
    assert state.error.kind is ErrorKind.INVALID  # the client's own check, not the server's 400
    message = str(state.error.message)
    assert ("10" in message or "20" in message) and "\n" not in message, message
    assert model.count("next_logprobs") == 0 and model.count("encode") == 0 and model.count("chat_ids") == 0


async def test_cancelling_mid_search_keeps_the_last_steps_beams(served: tuple[ScriptedModel, str]) -> None:
    model, url = served
    s = dataclasses.replace(SCENARIOS["short_wins"], max_tokens=8)  # a longer search: steps 1-4 as before
    steps, _, _ = reference(model, s)
    states: list[RunState] = []
    reached = asyncio.Event()

    async def consume() -> None:
        async with VLLMClient(url, api=Api.COMPLETIONS) as client:
            async for event in client.generate(request(s)):
                states.append(event.state)
                if isinstance(event, CandidatesChanged) and event.state.beam_step >= 2:
                    reached.set()

    task = asyncio.create_task(consume())
    waiter = asyncio.create_task(reached.wait())
    await asyncio.wait({task, waiter}, timeout=30, return_when=asyncio.FIRST_COMPLETED)
    waiter.cancel()
    assert reached.is_set(), f"step 2 never shown: {states[-1].error if states else 'no event'}"
    task.cancel()  # as a front end does: the consumer is waiting for the next event
    with pytest.raises(asyncio.CancelledError):
        await task
    state = states[-1]
    assert state.status is Status.CANCELLED
    # The ranking of the last step shown stays: step 2, or 3 should the cancel come a step late.
    shown = state.beam_step
    assert 2 <= shown <= 3, shown
    assert shown_rows(snapshot(state)) == expected_rows(model, steps[shown - 1])
    assert all(c.status is Status.CANCELLED for c in state.ordered())  # all live at steps 2 and 3
    # The loop stopped: the runner fetches a step ahead of the one it shows, no further, and
    # asks nothing more once cancelled.
    prompt_len = len(s.prompt_ids(model))
    await asyncio.sleep(0.3)
    asked = model.count("next_logprobs")
    assert max(len(ids) for method, ids in model.calls if method == "next_logprobs") <= prompt_len + shown + 1
    await asyncio.sleep(0.3)
    assert model.count("next_logprobs") == asked
