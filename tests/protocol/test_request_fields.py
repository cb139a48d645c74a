"""The chat API's system prompt and the extra vLLM fields: what the client sends, as a
loopback server receives it, against recordings of a real vLLM 0.32.0 that used them."""

from __future__ import annotations

from dataclasses import replace

import pytest
from expected import expected_openai, request_for
from recording_proxy import RecordingProxy
from replay_server import OPENAI, Recording, ReplayServer

from tui_client.core.protocol import Api, ClientConfig, ErrorKind, GenerationRequest, SamplingParams, Status, VLLMClient
from tui_client.demo.server import DemoServer


async def run(url: str, request: GenerationRequest, **config: object):
    async with VLLMClient(ClientConfig(url=url, **config)) as client:
        events = [event async for event in client.generate(request)]
    return events[-1].state


@pytest.mark.parametrize("name", ["chat-system-prompt-n2", "completions-extra-sampling", "completions-structured-choice"])
async def test_the_body_sent_is_the_recorded_one_and_the_answer_is_read(name: str) -> None:
    rec = Recording.load(OPENAI / f"{name}.json")
    request = request_for(rec)  # the system message and every unknown key of the body: system, extra
    texts, reasons, _ = expected_openai(rec)
    with ReplayServer(rec) as server:
        state = await run(server.url, request, api=Api.CHAT if "chat" in name else None)
        sent = server.received[-1]
    assert state.status is Status.FINISHED, state.error
    assert sent.path == rec.request["path"]
    body = sent.json()
    body.pop("stream_options", None)  # include_usage: asked for by this client, not by the recording's
    assert body == rec.request["json"]
    assert {c.index: c.text for c in state.ordered()} == texts
    assert {c.index: c.finish_reason for c in state.ordered()} == reasons


async def test_a_system_prompt_goes_first_and_no_system_message_without_one() -> None:
    rec = Recording.load(OPENAI / "chat-system-prompt-n2.json")
    with ReplayServer(rec) as server:
        await run(server.url, GenerationRequest("Hi", SamplingParams(n=2), system="Be brief.\nVery."), api=Api.CHAT)
        await run(server.url, GenerationRequest("Hi", SamplingParams(n=2), system=""), api=Api.CHAT)
        with_system, without = (r.json()["messages"] for r in server.received if r.method == "POST")
    assert with_system == [{"role": "system", "content": "Be brief.\nVery."}, {"role": "user", "content": "Hi"}]
    assert without == [{"role": "user", "content": "Hi"}]


@pytest.mark.parametrize("api", [None, Api.COMPLETIONS, Api.GENERATE])
async def test_a_system_prompt_off_the_chat_api_is_refused_before_anything_is_sent(api: Api | None) -> None:
    rec = Recording.load(OPENAI / "completions-extra-sampling.json")
    with ReplayServer(rec) as server:
        state = await run(server.url, GenerationRequest("Hi", system="Be brief."), api=api)
        posted = [r for r in server.received if r.method == "POST"]
    assert state.status is Status.FAILED and state.error is not None
    assert state.error.kind is ErrorKind.INVALID and state.error.field == "system"
    assert "chat API" in state.error.message
    assert posted == []


@pytest.mark.parametrize(("extra", "needle"), [
    ({"stream": False}, "stream is set by the app's own stream setting"),
    ({"temperature": 2}, "temperature is set by the app's own temperature setting"),
    ({"messages": []}, "messages is set by the app's own prompt setting"),
    ({"min_p": float("nan")}, "min_p: numbers must be finite"),
    ({"bad key": 1}, "'bad key' is not a field name"),
])
async def test_extra_fields_the_app_sets_or_cannot_send_are_refused_unsent(extra: dict, needle: str) -> None:
    with ReplayServer(OPENAI / "completions-extra-sampling.json") as server:
        state = await run(server.url, GenerationRequest("Hi", extra=extra))
        posted = [r for r in server.received if r.method == "POST"]
    assert state.status is Status.FAILED and state.error is not None and state.error.field == "extra"
    assert needle in state.error.message
    assert posted == []


async def test_an_extra_field_the_request_sets_for_this_api_is_refused() -> None:
    """best_of is free, but a legacy beam search sends its own: the two are not merged."""
    with DemoServer(token_delay=0) as demo:
        request = GenerationRequest("Hi", SamplingParams(n=2, beam_search=True, max_tokens=3), stream=False,
                                    extra={"best_of": 5})
        state = await run(demo.url, request, api=Api.GENERATE)
    assert state.status is Status.FAILED and state.error is not None and state.error.field == "extra"
    assert "best_of is set by the app itself" in state.error.message


async def test_what_the_server_refuses_comes_back_with_its_own_message() -> None:
    """vLLM's (here the demo's copy of vLLM's) 400 for a bad extra field is the run's error."""
    with DemoServer(token_delay=0) as demo:
        state = await run(demo.url, GenerationRequest("Hi", SamplingParams(max_tokens=4), extra={"min_tokens": -1}))
    assert state.status is Status.FAILED and state.error is not None
    assert state.error.status == 400
    assert "min_tokens must be greater than or equal to 0, got -1." in state.error.message


async def test_the_live_beam_search_tokenizes_the_system_prompt_and_says_extras_are_not_sent() -> None:
    request = GenerationRequest("Hi", SamplingParams(n=2, beam_search=True, max_tokens=3, temperature=0.0),
                                system="Be brief.", extra={"min_p": 0.1})
    with DemoServer(token_delay=0) as demo, RecordingProxy(demo.url) as proxy:
        state = await run(proxy.url, request, api=Api.CHAT)
    assert state.status is Status.FINISHED, state.error
    assert "the live beam search does not send the extra fields (min_p)" in state.notes
    prompt_tokenized = proxy.posted("/tokenize")[0]  # (then the end-of-sequence probe's)
    assert prompt_tokenized["messages"] == [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]
    steps = proxy.posted("/v1/completions")
    assert steps and not any("min_p" in body for body in steps)
