"""The demo server over real loopback HTTP: vLLM's routes, bodies, errors and quirks."""

from __future__ import annotations

import json
import logging
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tui_client.demo.server import DemoServer

PROMPT = "San Francisco is a"


@pytest.fixture(scope="module")
def server() -> Iterator[DemoServer]:
    with DemoServer(token_delay=0) as srv:
        yield srv


@pytest.fixture
def http(server: DemoServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=10) as client:
        yield client


def sse(response: httpx.Response) -> list[Any]:
    """The events of an SSE body; ``[DONE]`` must come last and only there."""
    events = [block.removeprefix("data: ") for block in response.text.split("\n\n")]
    assert response.text.endswith("\n\n") and events[-2:] == ["[DONE]", ""]
    return [json.loads(e) for e in events[:-2]]


def joined(events: list[Any], chat: bool = False) -> dict[int, str]:
    """Each choice's text, put together from its deltas."""
    out: dict[int, str] = {}
    for e in events:
        for c in e["choices"]:
            out[c["index"]] = out.get(c["index"], "") + (c["delta"].get("content", "") if chat else c["text"])
    return out


def test_health_version_models(http: httpx.Client) -> None:
    health = http.get("/health")
    assert (health.status_code, health.content, "content-type" in health.headers) == (200, b"", False)
    assert http.get("/version").json()["version"].startswith("0.32.0")
    models = http.get("/v1/models").json()
    assert models["object"] == "list"
    assert models["data"][0].items() >= {"id": "demo-markov", "object": "model", "max_model_len": 2048}.items()
    assert http.post("/nope").json() == {"detail": "Not Found"}


def test_generate_stream_is_cumulative_lines(http: httpx.Client) -> None:
    r = http.post("/generate", json={"prompt": PROMPT, "n": 3, "max_tokens": 12, "stream": True, "seed": 1})
    assert r.status_code == 200 and "content-type" not in r.headers and r.text.endswith("\n")
    lines = [json.loads(line)["text"] for line in r.text.splitlines()]
    assert len(lines) == 12 and all(len(texts) == 3 for texts in lines)
    for before, after in zip(lines, lines[1:]):
        assert all(a.startswith(b) and b.startswith(PROMPT) for b, a in zip(before, after))
    final = http.post("/generate", json={"prompt": PROMPT, "n": 3, "max_tokens": 12, "seed": 1})
    assert final.headers["content-type"] == "application/json" and final.json() == {"text": lines[-1]}


def test_generate_bad_param_is_bare_500(http: httpx.Client) -> None:
    r = http.post("/generate", json={"prompt": "x", "n": 0})
    assert (r.status_code, r.text, r.headers["content-type"]) == (500, "Internal Server Error", "text/plain; charset=utf-8")


@pytest.mark.parametrize("chat", [False, True])
def test_openai_stream(http: httpx.Client, chat: bool) -> None:
    body: dict[str, Any] = {"n": 4, "max_tokens": 10, "stream": True, "stream_options": {"include_usage": True}}
    body |= {"messages": [{"role": "user", "content": "Hello"}]} if chat else {"prompt": PROMPT}
    r = http.post("/v1/chat/completions" if chat else "/v1/completions", json=body)
    assert r.headers["content-type"] == "text/event-stream; charset=utf-8"
    events = sse(r)
    *deltas, usage = events
    assert usage["choices"] == [] and usage["usage"]["completion_tokens"] <= 40
    assert all(len(e["choices"]) == 1 for e in deltas) and len({e["id"] for e in events}) == 1
    assert events[0]["id"].startswith("chatcmpl-" if chat else "cmpl-")
    if chat:
        roles, deltas = deltas[:4], deltas[4:]
        assert [e["choices"][0] for e in roles] == [
            {"index": i, "delta": {"role": "assistant", "content": ""}, "logprobs": None, "finish_reason": None} for i in range(4)
        ]
    assert [e["choices"][0]["index"] for e in deltas[:4]] == [0, 1, 2, 3]  # interleaved
    finishes = [(e["choices"][0]["index"], e["choices"][0]["finish_reason"]) for e in deltas if e["choices"][0]["finish_reason"]]
    assert sorted(i for i, _ in finishes) == [0, 1, 2, 3]
    if not chat:
        assert {reason for _, reason in finishes} == {"length"} and usage["usage"]["completion_tokens"] == 40


@pytest.mark.parametrize("chat", [False, True])
def test_openai_nonstream(http: httpx.Client, chat: bool) -> None:
    body: dict[str, Any] = {"n": 3, "max_tokens": 8, "seed": 3}
    body |= {"messages": [{"role": "user", "content": "Hello"}]} if chat else {"prompt": PROMPT}
    r = http.post("/v1/chat/completions" if chat else "/v1/completions", json=body).json()
    assert r["object"] == ("chat.completion" if chat else "text_completion") and r["model"] == "demo-markov"
    assert [c["index"] for c in r["choices"]] == [0, 1, 2]
    assert r["usage"]["total_tokens"] == r["usage"]["prompt_tokens"] + r["usage"]["completion_tokens"]
    streamed = sse(http.post("/v1/chat/completions" if chat else "/v1/completions", json=body | {"stream": True}))
    texts = [c["message"]["content"] if chat else c["text"] for c in r["choices"]]
    assert joined(streamed, chat) == dict(enumerate(texts))  # same seed, same text, streamed or not


def test_greedy_candidates_are_identical_and_seeds_reproducible(http: httpx.Client) -> None:
    greedy = http.post("/generate", json={"prompt": PROMPT, "n": 4, "temperature": 0, "max_tokens": 20}).json()["text"]
    assert len(set(greedy)) == 1
    body = {"prompt": PROMPT, "n": 4, "temperature": 1.0, "seed": 42, "max_tokens": 30}
    first, second = (http.post("/v1/completions", json=body).json()["choices"] for _ in range(2))
    assert first == second and len({c["text"] for c in first}) > 1


@pytest.mark.parametrize("stream", [False, True])
def test_stop_string_ends_before_it(http: httpx.Client, stream: bool) -> None:
    body = {"prompt": PROMPT, "temperature": 0, "max_tokens": 40}
    full = http.post("/v1/completions", json=body).json()["choices"][0]["text"]
    stop = full[20:26]
    r = http.post("/v1/completions", json=body | {"stop": ["zzz", stop], "stream": stream})
    choice = sse(r)[-1]["choices"][0] if stream else r.json()["choices"][0]
    text = joined(sse(r))[0] if stream else choice["text"]
    assert text == full[: full.index(stop)] and (choice["finish_reason"], choice["stop_reason"]) == ("stop", stop)


def test_beam_search_returns_n_candidates(http: httpx.Client) -> None:
    # Temperature 0: vLLM's beam search samples each step at the request's temperature (default 1).
    body = {"prompt": PROMPT, "n": 3, "max_tokens": 16, "use_beam_search": True, "temperature": 0}
    r = http.post("/v1/completions", json=body).json()
    assert len({c["text"] for c in r["choices"]}) == 3 and {c["finish_reason"] for c in r["choices"]} == {"length"}


@pytest.mark.parametrize(
    ("body", "status", "message", "param"),
    [
        ({"n": 0}, 400, "n must be at least 1, got 0.", None),
        ({"max_tokens": 100000}, 400, "max_tokens=100000 cannot be greater than max_model_len=2048. "
         "Please request fewer output tokens. (parameter=max_tokens, value=100000)", "max_tokens"),  # fmt: skip
        ({"model": "nope"}, 404, "The model `nope` does not exist. Valid aliases: demo-markov.", "model"),
        ({"temperature": -1}, 400, "temperature must be non-negative, got -1.0.", None),
        ({"top_p": 1.5}, 400, "top_p must be in (0, 1], got 1.5.", None),
    ],
)
@pytest.mark.parametrize("chat", [False, True])
def test_errors_have_vllm_shape(http: httpx.Client, chat: bool, body: dict, status: int, message: str, param: str | None) -> None:
    body |= {"messages": [{"role": "user", "content": "x"}]} if chat else {"prompt": "x"}
    r = http.post("/v1/chat/completions" if chat else "/v1/completions", json=body)
    kind = "NotFoundError" if status == 404 else "BadRequestError"
    assert r.status_code == status
    assert r.json() == {"error": {"message": message, "type": kind, "param": param, "code": status}}


def test_beam_search_cannot_stream_on_completions(http: httpx.Client) -> None:
    # As recorded (error-beam-stream); chat takes it and sends the beams at the end (test_demo_tokens_beams).
    r = http.post("/v1/completions", json={"prompt": "x", "n": 2, "use_beam_search": True, "stream": True})
    message = "Streaming is not currently supported with beam search"
    assert (r.status_code, r.json()) == (400, {"error": {"message": message, "type": "BadRequestError", "param": None, "code": 400}})


def test_api_key_guards_v1_only() -> None:
    with DemoServer(token_delay=0, api_key="K") as srv, httpx.Client(base_url=srv.url) as http:
        for headers in ({}, {"Authorization": "Bearer wrong"}):
            for r in (http.get("/v1/models", headers=headers), http.post("/v1/completions", json={"prompt": "x"}, headers=headers)):
                assert (r.status_code, r.json()) == (401, {"error": "Unauthorized"})
        assert http.get("/v1/models", headers={"Authorization": "Bearer K"}).status_code == 200
        assert [http.get(p).status_code for p in ("/health", "/version")] == [200, 200]
        assert http.post("/tokenize", json={"prompt": "x"}).status_code == 200  # not under /v1: open, as on vLLM
        assert http.post("/generate", json={"prompt": "x"}).status_code == 200


def test_closing_a_stream_stops_generation(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    with DemoServer(token_delay=0.01) as srv, httpx.Client(base_url=srv.url) as http:
        body = {"prompt": PROMPT, "n": 8, "max_tokens": 2000, "stream": True}
        for path in ("/generate", "/v1/completions"):
            with http.stream("POST", path, json=body) as r:
                next(r.iter_bytes())
            tasks = srv._running[0].server_state.tasks  # type: ignore[index]
            deadline = time.monotonic() + 2
            while tasks and time.monotonic() < deadline:  # 20 s of tokens were asked for
                time.sleep(0.01)
            assert not tasks
            assert http.post(path, json={"prompt": PROMPT, "max_tokens": 3}).status_code == 200
        with http.stream("POST", "/v1/completions", json=body) as r:  # stop() aborts open streams, quickly
            chunks = r.iter_bytes()
            next(chunks)
            started = time.monotonic()
            srv.stop()
            assert time.monotonic() - started < 1
            with pytest.raises(httpx.HTTPError):
                for _ in chunks:
                    pass
        srv.stop()  # idempotent
    assert not [rec for rec in caplog.records if rec.levelno >= logging.WARNING]


@pytest.mark.parametrize("stream", [False, True])
def test_vllm_example_client(server: DemoServer, stream: bool) -> None:
    port = server.url.rsplit(":", 1)[1]
    args = [sys.executable, str(Path(__file__).parent.parent / "support" / "seed_api_client.py"), "--port", port, "--n", "4"]
    out = subprocess.run(args + ["--stream"] * stream, capture_output=True, text=True, timeout=30, check=True).stdout
    final = {}  # streaming redraws the candidates in place: keep each one's last line
    for match in re.finditer(r"Beam candidate (\d+): (.*)", re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "\n", out)):
        final[int(match[1])] = match[2]
    assert sorted(final) == [0, 1, 2, 3]
    assert all(line.startswith(repr(PROMPT)[:-1]) and len(line) > len(PROMPT) + 4 for line in final.values())
