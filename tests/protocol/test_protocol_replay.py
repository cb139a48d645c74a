"""The protocol layer against byte-exact recordings of a real vLLM 0.32.0.

Each recording is replayed over loopback with its recorded chunking; the client must
reconstruct exactly the texts, finish reasons and usage that the recorded bytes
carry. The expected values are computed here from the recording with a plain,
independent reading of the wire format (not with the code under test).
"""

from __future__ import annotations

import pytest
from expected import expected_legacy, expected_openai, request_for
from replay_server import LEGACY, OPENAI, Recording, ReplayServer

from tui_client.core.protocol import Api, ClientConfig, ErrorKind, GenerationRequest, SamplingParams, Status, VLLMClient


async def run(url: str, request: GenerationRequest, **config: object):
    async with VLLMClient(ClientConfig(url=url, **config)) as client:
        events = [event async for event in client.generate(request)]
    return events[-1].state, events


OPENAI_GOOD = ["completions-stream-n4", "completions-stream-n16-long", "completions-stream-n1-stop",
               "completions-unicode-stream", "completions-nostream-n4", "completions-beam-n3", "chat-stream-n3"]


@pytest.mark.parametrize("name", OPENAI_GOOD)
async def test_openai_recordings_reconstructed_exactly(name: str) -> None:
    rec = Recording.load(OPENAI / f"{name}.json")
    texts, reasons, usage = expected_openai(rec)
    with ReplayServer(rec) as server:
        # auto-detection picks completions; chat is chosen explicitly, model still detected
        state, _ = await run(server.url, request_for(rec), api=Api.CHAT if "chat" in name else None)
        sent = server.received[-1].json()
    assert state.status is Status.FINISHED, state.error
    assert state.server.api is (Api.CHAT if "chat" in name else Api.COMPLETIONS)
    assert state.server.model == "smollm2-135m"  # auto-detected from /v1/models
    assert {c.index: c.text for c in state.ordered()} == texts
    assert {c.index: c.finish_reason for c in state.ordered()} == reasons
    assert len(state.candidates) == rec.request["json"]["n"]
    if usage:
        assert state.usage is not None and state.usage.completion_tokens == usage["completion_tokens"]
    for key, value in rec.request["json"].items():  # we send what the recorded client sent
        if key != "stream_options":
            assert sent[key] == value, key
    assert state.error is None and not state.notes


@pytest.mark.parametrize("size", [1, 3, 7, 1000])
@pytest.mark.parametrize("name", ["vllm-0.32.0-openai/completions-unicode-stream", "vllm-0.32.0-legacy-generate/generate-unicode-stream"])
async def test_unicode_recordings_rechunked_inside_characters(name: str, size: int) -> None:
    """Real vLLM sends raw UTF-8; HTTP may cut anywhere, even inside a character."""
    rec = Recording.load(f"{name}.json")
    body = rec.body
    rec.chunks = [(0.0, body[i : i + size]) for i in range(0, len(body), size)]
    if "openai" in name and size < 1000:  # the legacy server escapes non-ASCII as \\uXXXX
        assert any(_cuts_a_character(data) for _, data in rec.chunks)
    with ReplayServer(rec) as server:
        state, _ = await run(server.url, request_for(rec))
    texts = [c.text for c in state.ordered()]
    if "openai" in name:
        assert texts == list(expected_openai(rec)[0].values())
    else:
        assert sorted(texts) == expected_legacy(rec)
    assert any(ord(ch) > 0x3000 for t in texts for ch in t) and not any("\ufffd" in t for t in texts)


def _cuts_a_character(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


async def test_openai_recording_with_real_timing() -> None:
    """Paced as recorded, so each recorded chunk arrives as its own read."""
    rec = Recording.load(OPENAI / "completions-stream-n1-stop.json")
    with ReplayServer(rec, time_scale=1.0) as server:
        state, events = await run(server.url, request_for(rec), api=Api.COMPLETIONS, model="smollm2-135m")
    assert state.ordered()[0].text == expected_openai(rec)[0][0]
    assert state.ordered()[0].finish_reason == "stop"
    assert state.ordered()[0].stop_reason == "\n4."
    assert state.ordered()[0].tokens is not None and state.ordered()[0].tokens >= 5
    assert len(events) > 5  # streamed: many change events, not one at the end
    assert state.first_text_at is not None and 0 < state.first_text_at < state.ended_at


LEGACY_GOOD = ["generate-stream-n4", "generate-stream-n16-long", "generate-stream-n1-greedy",
               "generate-unicode-stream", "generate-nostream-n4"]


@pytest.mark.parametrize("name", LEGACY_GOOD)
async def test_legacy_recordings_reconstructed_exactly(name: str) -> None:
    rec = Recording.load(LEGACY / f"{name}.json")
    with ReplayServer(rec) as server:
        state, _ = await run(server.url, request_for(rec))
        sent = server.received[-1].json()
    assert state.status is Status.FINISHED, state.error
    assert state.server.api is Api.GENERATE  # /v1/models is 404 there: auto falls back
    assert sorted(c.text for c in state.ordered()) == expected_legacy(rec)
    assert sorted(state.candidates) == list(range(len(state.candidates)))
    assert all(c.finish_reason is None and c.status is Status.FINISHED for c in state.ordered())
    for key, value in rec.request["json"].items():
        assert sent[key] == value, key


async def test_legacy_nostream_fewer_than_n_is_reported() -> None:
    rec = Recording.load(LEGACY / "generate-nostream-n4.json")
    with ReplayServer(rec) as server:
        state, _ = await run(server.url, request_for(rec))
    assert len(state.candidates) == 3
    assert state.notes == ["3 of 4 candidates returned"]


async def test_legacy_stream_starts_with_fewer_entries() -> None:
    """The first recorded line holds one entry for n=16; candidates appear as they come."""
    rec = Recording.load(LEGACY / "generate-stream-n16-long.json")
    with ReplayServer(rec, time_scale=0.02) as server:
        async with VLLMClient(server.url) as client:
            seen = [len(e.state.candidates) async for e in client.generate(request_for(rec))]
    assert seen[1] >= 1 and seen[-1] == 16


@pytest.mark.parametrize(
    ("name", "api", "kind", "needle"),
    [
        ("error-n0", Api.COMPLETIONS, ErrorKind.HTTP, "n must be at least 1, got 0."),
        ("error-beam-stream", Api.COMPLETIONS, ErrorKind.HTTP, "Streaming is not currently supported with beam search"),
        ("error-unknown-model", Api.COMPLETIONS, ErrorKind.HTTP, "The model `nope` does not exist"),
        ("error-max-tokens-too-long", Api.COMPLETIONS, ErrorKind.HTTP, "cannot be greater than max_model_len=2048"),
        ("legacy-generate-404", Api.GENERATE, ErrorKind.HTTP, "no legacy /generate"),
    ],
)
async def test_openai_error_recordings(name: str, api: Api, kind: ErrorKind, needle: str) -> None:
    rec = Recording.load(OPENAI / f"{name}.json")
    with ReplayServer(rec) as server:
        async with VLLMClient(ClientConfig(url=server.url, api=api, model="smollm2-135m")) as client:
            # Send a valid request: the replay answers with the recorded error regardless.
            state = [e async for e in client.generate(GenerationRequest("x", SamplingParams(n=2), stream=False))][-1].state
    assert state.status is Status.FAILED
    assert state.error is not None and state.error.kind is kind
    assert needle in str(state.error)
    assert server.url in str(state.error)
    assert "\n" not in str(state.error)


async def test_legacy_error_recording_plain_text_500() -> None:
    rec = Recording.load(LEGACY / "generate-error-bad-param.json")
    with ReplayServer(rec) as server:
        state, _ = await run(server.url, GenerationRequest("x", SamplingParams(n=1)))
    assert state.error is not None and state.error.status == 500
    assert "Internal Server Error" in str(state.error)
