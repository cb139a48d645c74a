"""The client's live beam search when the server misbehaves mid-search.

A scripted ``vllm serve`` (fixed logprobs: every beam's next token is 20 at -0.5, 21 at
-1.0, the end-of-sequence id 2 at -2.0, 22 at -3.0) that fails at a chosen step. Each
failure must end the run with one line while the beams of the last step shown are kept.

Worked by hand, width 2 (score = cumulative logprob / (2 prompt tokens + generated)):
- step 1: live (20) -0.5 and (21) -1.0 (score -0.167, -0.333) above the completed empty
  beam (-2.0 / 2 = -1.0): ranking [" w20", " w21"];
- step 2: (20, 20) -1.0; then (20, 21) and (21, 20) tie at -1.5, the first listed stays
  (as a stable sort keeps it): ranking [" w20 w20", " w20 w21"].
"""

from __future__ import annotations

import asyncio
import json

import pytest
from replay_server import Received, ScriptedServer

from tui_client.core.protocol import Api, ClientConfig, ErrorKind, GenerationRequest, SamplingParams, Status, VLLMClient

STEP = {"token_id:20": -0.5, "token_id:21": -1.0, "token_id:2": -2.0, "token_id:22": -3.0}
AFTER_STEP_1 = [" w20", " w21"]
AFTER_STEP_2 = [" w20 w20", " w20 w21"]


class StepServer(ScriptedServer):
    """Answers the beam loop's requests; ``fail`` = (step, how) breaks that step's request."""

    def __init__(self, fail: tuple[int, str] | None = None, *, times: int = 99) -> None:
        super().__init__()
        self.fail, self.times = fail, times
        self.steps = 0  # step requests answered or broken

    async def respond(self, req: Received, writer: asyncio.StreamWriter) -> bool:
        path = req.path.split("?")[0]
        body = json.loads(req.body) if req.body else {}
        if path == "/v1/models":
            return self.json(writer, {"object": "list", "data": [{"id": "m", "max_model_len": 100}]})
        if path == "/version":
            return self.json(writer, {"version": "0.32.0"})
        if path == "/tokenize":
            if "<|im_end|>" in body.get("prompt", ""):  # the end-of-sequence names the client tries
                return self.json(writer, {"count": 1, "max_model_len": 100, "tokens": [2], "token_strs": ["<|im_end|>"]})
            return self.json(writer, {"count": 2, "max_model_len": 100, "tokens": [10, 11], "token_strs": ["a", "b"]})
        if path == "/detokenize":
            return self.json(writer, {"prompt": "".join(f" w{t}" for t in body["tokens"])})
        if path == "/v1/completions" and "logit_bias" in body:  # forcing a candidate end-of-sequence
            ends = body["logit_bias"] == {"2": 100}
            choice = {"index": 0, "text": "", "finish_reason": "stop" if ends else "length", "stop_reason": None}
            return self.json(writer, {"choices": [choice]})
        if path == "/v1/completions":
            self.steps += 1
            if self.fail and self.fail[0] <= self.steps and self.times > 0:
                self.times -= 1
                return self.broken(writer, self.fail[1])
            choices = [{"index": i, "text": " w20", "logprobs": {"tokens": ["token_id:20"], "token_logprobs": [-0.5],
                        "top_logprobs": [STEP]}, "finish_reason": "length"} for i in range(len(body["prompt"]))]  # fmt: skip
            return self.json(writer, {"choices": choices})
        return self.simple(writer, 404, b'{"detail":"Not Found"}')

    def json(self, writer: asyncio.StreamWriter, doc: object) -> bool:
        return self.simple(writer, 200, json.dumps(doc).encode())

    def broken(self, writer: asyncio.StreamWriter, how: str) -> bool:
        if how == "close":
            return False  # the connection closes with no answer
        if how == "garbage":
            return self.simple(writer, 200, b"<html>oops</html>", "text/html")
        if how == "no-logprobs":
            return self.json(writer, {"choices": [{"index": i, "text": " x", "logprobs": None} for i in range(2)]})
        body = {"error": {"message": "Requested sample logprobs of 4, which is greater than max allowed: 2", "code": 400}}
        return self.simple(writer, 400, json.dumps(body).encode())


async def search(server: StepServer, max_tokens: int = 3) -> tuple[list[list[str]], object]:
    request = GenerationRequest("ab", SamplingParams(n=2, beam_search=True, temperature=0, max_tokens=max_tokens), stream=True)
    rankings: list[list[str]] = []
    async with VLLMClient(ClientConfig(url=server.url, api=Api.COMPLETIONS)) as client:
        async for event in client.generate(request):
            rankings.append([c.text for c in event.state.ordered()])
    return rankings, event.state


async def test_the_scripted_search_runs_to_its_end() -> None:
    with StepServer() as server:
        rankings, state = await search(server)
    assert state.status is Status.FINISHED and not state.notes  # type: ignore[attr-defined]
    assert AFTER_STEP_1 in rankings and AFTER_STEP_2 in rankings
    assert state.beam_step == 3 and server.steps == 3  # type: ignore[attr-defined]


@pytest.mark.parametrize(("how", "kind", "needle"), [
    ("close", ErrorKind.DISCONNECTED, "closed the connection"),
    ("garbage", ErrorKind.BAD_RESPONSE, "HTML page"),
    ("no-logprobs", ErrorKind.BAD_RESPONSE, "no token logprobs"),
    ("refused", ErrorKind.HTTP, "greater than max allowed"),
])
async def test_a_step_that_fails_ends_the_run_keeping_the_last_ranking(how: str, kind: ErrorKind, needle: str) -> None:
    with StepServer(fail=(3, how)) as server:
        _, state = await search(server)
    assert state.status is Status.FAILED  # type: ignore[attr-defined]
    error = state.error  # type: ignore[attr-defined]
    assert error is not None and error.kind is kind and needle in error.message and "\n" not in str(error)
    assert [c.text for c in state.ordered()] == AFTER_STEP_2  # type: ignore[attr-defined]
    assert all(c.status is Status.FAILED for c in state.ordered())  # type: ignore[attr-defined]


async def test_a_connection_closed_once_between_steps_is_retried() -> None:
    """A kept-alive connection the server dropped as the request went out: sent again."""
    with StepServer(fail=(2, "close"), times=1) as server:
        _, state = await search(server)
    assert state.status is Status.FINISHED, state.error  # type: ignore[attr-defined]
    assert server.steps == 4  # step 2 twice


async def test_cancelling_keeps_the_beams_shown() -> None:
    with StepServer() as server:
        request = GenerationRequest("ab", SamplingParams(n=2, beam_search=True, temperature=0, max_tokens=8), stream=True)
        async with VLLMClient(ClientConfig(url=server.url, api=Api.COMPLETIONS)) as client:
            stream = client.generate(request)
            async for event in stream:
                if event.state.beam_step == 2:
                    break
            await stream.aclose()
    state = event.state
    assert state.status is Status.CANCELLED
    assert [c.text for c in state.ordered()] == AFTER_STEP_2
