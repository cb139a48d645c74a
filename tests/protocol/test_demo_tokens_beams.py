"""Beam search on the demo server: ``use_beam_search`` (vLLM's loop, run server-side), the same
loop run by a client over HTTP, and legacy ``/generate`` streaming the ranking as vLLM 0.5 did.

The client loop here is written from PROTOCOL.md section 3 alone (it does not use BeamSearch):
tokenize, one ``max_tokens: 1`` request a step with every live beam's ids as a prompt and
``logprobs: 2n`` at temperature 0, score by cumulative logprob, end-of-sequence candidates
completed, the best n kept; at the end all are sorted by logprob / length ** length_penalty.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import httpx
import pytest
from test_demo_tokens import BEAMS, CHAT_BEAM, CHAT_ROLE, assert_shape, find_eos, sse, token_id, tokenize

from tui_client.demo.server import DemoServer

PROMPTS = ["The capital of France is", "San Francisco is a", "Alice was"]


@pytest.fixture(scope="module")
def server() -> Iterator[DemoServer]:
    with DemoServer(token_delay=0) as srv:
        yield srv


@pytest.fixture
def http(server: DemoServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        yield client


def steps(http: httpx.Client, prompts: list[list[int]], k: int) -> list[dict[int, float]]:
    """One greedy step for each prompt: its returned logprobs as {id: logprob}, in the order sent."""
    body = {"prompt": prompts, "max_tokens": 1, "temperature": 0, "logprobs": k, "return_tokens_as_token_ids": True}
    choices = sorted(http.post("/v1/completions", json=body).json()["choices"], key=lambda c: c["index"])
    assert len(choices) == len(prompts)
    return [{token_id(key): lp for key, lp in c["logprobs"]["top_logprobs"][0].items()} for c in choices]


def client_beam_search(http: httpx.Client, prompt: str, n: int, max_tokens: int, length_penalty: float = 1.0) -> list[tuple[str, str]]:
    """vLLM's beam search run as a client would: (text, finish_reason) of the best n."""
    prompt_ids = tokenize(http, prompt)
    eos = find_eos(http, prompt_ids)
    live: list[tuple[list[int], float]] = [(prompt_ids, 0.0)]
    done: list[tuple[list[int], float]] = []
    for _ in range(max_tokens):
        candidates = []
        for (ids, cum), options in zip(live, steps(http, [ids for ids, _ in live], 2 * n)):
            for tid, lp in options.items():
                if tid == eos:
                    done.append((ids, cum + lp))
                else:
                    candidates.append((ids + [tid], cum + lp))
        candidates.sort(key=lambda c: -c[1])  # stable: ties keep the order they came in
        live = candidates[:n]
        if not live:
            break
    pool = [(ids, cum, "stop") for ids, cum in done] + [(ids, cum, "length") for ids, cum in live]
    best = sorted(pool, key=lambda b: b[1] / len(b[0]) ** length_penalty, reverse=True)[:n]
    texts = [http.post("/detokenize", json={"tokens": ids[len(prompt_ids) :]}).json()["prompt"] for ids, _, _ in best]
    return [(text, reason) for text, (_, _, reason) in zip(texts, best)]


def server_beam_search(http: httpx.Client, prompt: str, n: int, max_tokens: int, **extra: Any) -> dict[str, Any]:
    body = {"model": "demo-markov", "prompt": prompt, "n": n, "max_tokens": max_tokens, "use_beam_search": True, "temperature": 0.0}
    return http.post("/v1/completions", json=body | extra).json()


@pytest.mark.parametrize("prompt", PROMPTS)
def test_a_client_running_the_loop_gets_the_servers_answer(http: httpx.Client, prompt: str) -> None:
    n, max_tokens = 3, 16
    answer = server_beam_search(http, prompt, n, max_tokens)
    assert [(c["text"], c["finish_reason"]) for c in answer["choices"]] == client_beam_search(http, prompt, n, max_tokens)


def test_beams_come_best_first_with_their_end(http: httpx.Client) -> None:
    n = 4
    prompt_ids = tokenize(http, PROMPTS[0])
    answer = server_beam_search(http, PROMPTS[0], n, 24, return_token_ids=True)
    assert_shape(answer, BEAMS | {"choices": [BEAMS["choices"][0] | {"token_ids": [int], "prompt_token_ids": [int]}]})
    choices = answer["choices"]
    assert [c["index"] for c in choices] == list(range(n)) and len({c["text"] for c in choices}) == n
    eos = find_eos(http, prompt_ids)
    assert {(c["finish_reason"], c["stop_reason"]) for c in choices} == {("stop", eos), ("length", None)}  # both kinds here
    assert answer["usage"]["completion_tokens"] == sum(len(c["token_ids"]) for c in choices)  # the end of sequence not counted
    # Each beam's score, from the logprobs of its own prefixes (every beam token is in its parent's top 2n).
    prefixes = [prompt_ids + c["token_ids"][:j] for c in choices for j in range(len(c["token_ids"]) + 1)]
    logprobs = iter(steps(http, prefixes, 2 * n))
    scores = []
    for c in choices:
        cum = sum(next(logprobs)[t] for t in c["token_ids"])
        last = next(logprobs)
        cum += last[eos] if c["finish_reason"] == "stop" else 0.0
        assert c["text"] == http.post("/detokenize", json={"tokens": c["token_ids"]}).json()["prompt"]
        scores.append(cum / (len(prompt_ids) + len(c["token_ids"])))
    assert scores == sorted(scores, reverse=True)


def test_length_penalty_changes_the_ranking(http: httpx.Client) -> None:
    by_length = server_beam_search(http, PROMPTS[0], 4, 24)["choices"]
    by_logprob = server_beam_search(http, PROMPTS[0], 4, 24, length_penalty=0.0)["choices"]
    assert by_logprob[0]["finish_reason"] == "stop"  # unnormalised, the short finished beam wins
    assert [c["text"] for c in by_logprob] != [c["text"] for c in by_length]
    assert [(c["text"], c["finish_reason"]) for c in by_logprob] == client_beam_search(http, PROMPTS[0], 4, 24, length_penalty=0.0)


def test_chat_beams_stream_in_one_burst_at_the_end(http: httpx.Client) -> None:
    search = {"n": 3, "max_tokens": 12, "use_beam_search": True, "temperature": 0.0}
    body = {"messages": [{"role": "user", "content": "Name a fruit."}], **search}
    whole = http.post("/v1/chat/completions", json=body).json()
    assert whole["object"] == "chat.completion" and [c["index"] for c in whole["choices"]] == [0, 1, 2]
    events = sse(http.post("/v1/chat/completions", json=body | {"stream": True}))
    assert len(events) == 6
    for event in events[:3]:
        assert_shape(event, CHAT_ROLE)
    for event in events[3:]:
        assert_shape(event, CHAT_BEAM)
    streamed = [(e["choices"][0]["delta"]["content"], e["choices"][0]["finish_reason"]) for e in events[3:]]
    assert streamed == [(c["message"]["content"], c["finish_reason"]) for c in whole["choices"]]
    # The same search a client runs on the chat template's ids.
    ids = http.post("/tokenize", json={"messages": body["messages"], "add_generation_prompt": True}).json()["tokens"]
    completion = http.post("/v1/completions", json={"prompt": ids, **search})
    assert [(c["text"], c["finish_reason"]) for c in completion.json()["choices"]] == streamed


def legacy(http: httpx.Client, prompt: str, n: int, **extra: Any) -> httpx.Response:
    body = {"prompt": prompt, "n": n, "use_beam_search": True, "max_tokens": 20, "temperature": 0.0} | extra
    return http.post("/generate", json=body)


def test_legacy_generate_streams_the_ranking_each_step(http: httpx.Client) -> None:
    prompt = PROMPTS[0]
    r = legacy(http, prompt, 3, best_of=3, stream=True)
    assert r.status_code == 200 and "content-type" not in r.headers and r.text.endswith("\n")
    lines = [json.loads(line)["text"] for line in r.text.splitlines()]
    assert len(lines) == 20 and all(len(texts) == 3 and all(t.startswith(prompt) for t in texts) for texts in lines)
    assert any(not all(a.startswith(b) for b, a in zip(before, after)) for before, after in zip(lines, lines[1:]))  # rankings, not appends
    final = legacy(http, prompt, 3, best_of=3).json()
    assert final == {"text": lines[-1]}
    v1 = server_beam_search(http, prompt, 3, 20)["choices"]  # the same search, vLLM 0.32's answer
    assert lines[-1] == [prompt + c["text"] for c in v1]


def test_legacy_best_of_widens_the_search(http: httpx.Client) -> None:
    prompt = PROMPTS[1]
    lines = [json.loads(line)["text"] for line in legacy(http, prompt, 2, best_of=4, stream=True).text.splitlines()]
    assert all(len(texts) == 2 for texts in lines)
    wide = legacy(http, prompt, 4, best_of=4).json()["text"]
    assert lines[-1] == wide[:2] != legacy(http, prompt, 2).json()["text"]


class Scripted:
    """A four-token model whose next token depends on the last one: beams worked out by hand."""

    eos_token_id = 0
    vocab = ("<e>", " a", " b", " c")
    table = {3: {1: 0.4, 2: 0.35, 0: 0.25}, 1: {0: 0.5, 1: 0.3, 2: 0.2}, 2: {2: 0.9, 1: 0.1}, 0: {0: 1.0}}

    def encode(self, text: str) -> list[int]:
        return [self.vocab.index(" " + word) for word in text.split()]

    def decode(self, ids: Sequence[int], *, skip_special_tokens: bool = True) -> str:
        return "".join(self.vocab[i] for i in ids if not (skip_special_tokens and i == 0))

    def token_str(self, token_id: int) -> str:
        return self.vocab[token_id]

    def chat_ids(self, messages: Sequence[Mapping[str, Any]], *, add_generation_prompt: bool = True) -> list[int]:
        return [3]

    def next_logprobs(self, ids: Sequence[int]) -> Mapping[int, float]:
        return {t: math.log(p) for t, p in self.table[ids[-1]].items()}


def test_a_given_token_model_answers_exactly() -> None:
    # Prompt " c". Step 1: " a" -0.92, " b" -1.05 live; ending at once -1.39 (the 3rd likeliest: seen with 2n
    # logprobs only). Step 2: " a" then the end -1.61; live " b b" -1.16, " a a" -2.12. Divided by (1 prompt
    # token + tokens): " b b" -0.39, " a a" -0.71, " a" -0.80, "" -1.39; undivided: " b b", "", " a", " a a".
    with DemoServer(token_delay=0, token_model=Scripted()) as srv, httpx.Client(base_url=srv.url) as http:
        body = {"prompt": "c", "n": 2, "max_tokens": 2, "use_beam_search": True, "temperature": 0}
        choices = http.post("/v1/completions", json=body).json()["choices"]
        assert [(c["text"], c["finish_reason"], c["stop_reason"]) for c in choices] == [(" b b", "length", None), (" a a", "length", None)]
        choices = http.post("/v1/completions", json=body | {"length_penalty": 0.0}).json()["choices"]
        assert [(c["text"], c["finish_reason"], c["stop_reason"]) for c in choices] == [(" b b", "length", None), ("", "stop", 0)]
        lines = http.post("/generate", json=body | {"stream": True}).text.splitlines()
        assert [json.loads(line)["text"] for line in lines] == [["c a", "c b"], ["c b b", "c a a"]]
        step = http.post("/v1/completions", json={"prompt": [[3, 1]], "max_tokens": 1, "temperature": 0, "logprobs": 2}).json()
        assert step["choices"][0]["logprobs"]["top_logprobs"] == [{"<e>": math.log(0.5), " a": math.log(0.3)}]
        assert (step["choices"][0]["text"], step["choices"][0]["finish_reason"]) == ("", "stop")
