"""The demo server at the token level, over real loopback HTTP, against vLLM 0.32's recorded shapes.

The shapes below are read off the recordings in ``vllm-0.32.0-openai/`` (key order and
value types, values dropped): ``tokenize``, ``tokenize-chat``, ``detokenize``,
``completions-token-ids-step``, ``completions-forced-eos``, ``completions-beam-n4-t24``,
``completions-nostream-logprobs-n2``, ``completions-stream-logprobs-n2``,
``chat-stream-logprobs-n2``, ``chat-beam-stream-n3``. Error bodies are quoted whole.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tui_client.demo.server import DemoServer

PROMPT = "San Francisco is a"

# --- shapes: a dict is its keys in order; a type a value of it; None null; [x] a list of x;
# --- (a, b) either; {str: float} a dict keyed by data (token strings); [] an empty list.
HEAD = {"id": str, "object": str, "created": int, "model": str}
COUNTS = {"prompt_tokens": int, "total_tokens": int, "completion_tokens": int}
USAGE = COUNTS | {"prompt_tokens_details": None, "completion_tokens_details": None}
LOGPROBS = {"text_offset": [int], "token_logprobs": [float], "tokens": [str], "top_logprobs": [{str: float}]}
TOKENIZE = {"count": int, "max_model_len": int, "tokens": [int], "token_strs": None}
TOKENIZE_CHAT = TOKENIZE | {"token_strs": [str]}
DETOKENIZE = {"prompt": str}


def completion(logprobs: Any = None, token_ids: Any = None, prompt_token_ids: Any = None, stop_reason: Any = None) -> dict:
    choice = {"index": int, "text": str, "logprobs": logprobs, "finish_reason": str, "stop_reason": stop_reason, "token_ids": token_ids,
              "prompt_logprobs": None, "prompt_token_ids": prompt_token_ids, "routed_experts": None}  # fmt: skip
    return HEAD | {"choices": [choice], "service_tier": None, "system_fingerprint": str, "usage": USAGE,
                   "kv_transfer_params": None, "ec_transfer_params": None, "metrics": None}  # fmt: skip


STEP = completion(LOGPROBS)  # completions-token-ids-step, completions-nostream-logprobs-n2
FORCED_EOS = completion(token_ids=[int], prompt_token_ids=[int])
BEAMS = completion(stop_reason=(int, None))  # completions-beam-n4-t24 (stop_reason: the EOS id, or null)
STREAM_CHOICE = {"index": int, "text": str, "logprobs": LOGPROBS, "finish_reason": (str, None), "stop_reason": None,
                 "prompt_token_ids": None, "token_ids": None}  # fmt: skip
STREAM_USAGE = HEAD | {"choices": [], "usage": COUNTS, "system_fingerprint": str}
CHAT_ROLE = HEAD | {"choices": [{"index": int, "delta": {"role": str, "content": str}, "logprobs": None, "finish_reason": None}],
                    "prompt_token_ids": None, "prompt_text": None}  # fmt: skip
CHAT_TOKEN = {"token": str, "logprob": float, "bytes": [int]}
CHAT_LOGPROBS = {"content": [CHAT_TOKEN | {"top_logprobs": [CHAT_TOKEN]}]}
CHAT_DELTA = HEAD | {"choices": [{"index": int, "delta": {"content": str}, "logprobs": CHAT_LOGPROBS, "finish_reason": None,
                                  "token_ids": None}]}  # fmt: skip
CHAT_FINAL = HEAD | {"choices": [{"index": int, "delta": {"content": str}, "logprobs": CHAT_LOGPROBS, "finish_reason": str,
                                  "stop_reason": None, "token_ids": None}]}  # fmt: skip
CHAT_BEAM = HEAD | {"choices": [{"index": int, "delta": {"content": str}, "logprobs": None, "finish_reason": str,
                                 "stop_reason": (int, None), "token_ids": None}], "system_fingerprint": str}  # fmt: skip


def assert_shape(value: Any, shape: Any, path: str = "$") -> None:
    """``value`` has ``shape`` (see the notation above); the message names the first mismatch."""
    if isinstance(shape, tuple):
        errors = []
        for option in shape:
            try:
                return assert_shape(value, option, path)
            except AssertionError as e:
                errors.append(str(e))
        raise AssertionError(" / ".join(errors))
    if shape is None:
        assert value is None, f"{path}: {value!r} is not null"
    elif isinstance(shape, type):
        assert type(value) is shape, f"{path}: {value!r} is not {shape.__name__}"
    elif isinstance(shape, list):
        assert isinstance(value, list) and bool(value) == bool(shape), f"{path}: {value!r} for {shape!r}"
        for i, item in enumerate(value):
            assert_shape(item, shape[0], f"{path}[{i}]")
    elif list(shape) == [str]:
        assert isinstance(value, dict) and value, f"{path}: {value!r} is no token dict"
        for key, item in value.items():
            assert_shape(key, str, f"{path} key")
            assert_shape(item, shape[str], f"{path}[{key!r}]")
    else:
        assert isinstance(value, dict) and list(value) == list(shape), f"{path}: keys {list(value) if isinstance(value, dict) else value}"
        for key, item in shape.items():
            assert_shape(value[key], item, f"{path}.{key}")


@pytest.fixture(scope="module")
def server() -> Iterator[DemoServer]:
    with DemoServer(token_delay=0) as srv:
        yield srv


@pytest.fixture
def http(server: DemoServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        yield client


def sse(response: httpx.Response) -> list[Any]:
    assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
    events = [block.removeprefix("data: ") for block in response.text.split("\n\n")]
    assert events[-2:] == ["[DONE]", ""]
    return [json.loads(e) for e in events[:-2]]


def tokenize(http: httpx.Client, text: str) -> list[int]:
    return http.post("/tokenize", json={"model": "demo-markov", "prompt": text}).json()["tokens"]


def token_id(key: str) -> int:
    assert key.startswith("token_id:"), key
    return int(key.removeprefix("token_id:"))


def find_eos(http: httpx.Client, prompt_ids: list[int], candidates: range = range(8)) -> int:
    """The end-of-sequence id, found as a client must (no /tokenizer_info): force each candidate."""
    found = []
    for candidate in candidates:
        body = {"prompt": [prompt_ids], "max_tokens": 1, "temperature": 0, "logit_bias": {str(candidate): 100}, "return_token_ids": True}
        choice = http.post("/v1/completions", json=body).json()["choices"][0]
        if (choice["finish_reason"], choice["stop_reason"], choice["text"], choice["token_ids"]) == ("stop", None, "", [candidate]):
            found.append(candidate)
    assert len(found) == 1, found
    return found[0]


# --- tokenizer routes -------------------------------------------------------------------------
def test_tokenize_detokenize_and_no_tokenizer_info(http: httpx.Client) -> None:
    r = http.post("/tokenize", json={"model": "demo-markov", "prompt": PROMPT}).json()
    assert_shape(r, TOKENIZE)
    assert r["count"] == len(r["tokens"]) and r["max_model_len"] == 2048
    eos = find_eos(http, r["tokens"])
    back = http.post("/detokenize", json={"model": "demo-markov", "tokens": r["tokens"] + [eos]}).json()
    assert_shape(back, DETOKENIZE)
    assert back == {"prompt": "San Francisco is a<|im_end|>"}  # as recorded: special tokens stay in
    assert http.post("/detokenize", json={"tokens": []}).json() == {"prompt": ""}
    info = http.get("/tokenizer_info")
    assert (info.status_code, info.json()) == (404, {"detail": "Not Found"})  # vLLM's default: find EOS by forcing


def test_tokenize_chat_applies_the_template(http: httpx.Client) -> None:
    body = {"model": "demo-markov", "messages": [{"role": "user", "content": "hi"}], "add_generation_prompt": True,
            "return_token_strs": True}  # fmt: skip
    r = http.post("/tokenize", json=body).json()
    assert_shape(r, TOKENIZE_CHAT)
    assert "".join(r["token_strs"]) == "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"
    without = http.post("/tokenize", json=body | {"add_generation_prompt": False}).json()
    assert "".join(without["token_strs"]) == "<|im_start|>user\nhi<|im_end|>\n" and r["tokens"][: without["count"]] == without["tokens"]


# --- completions on token ids -------------------------------------------------------------------
def test_token_id_prompts_give_one_choice_per_prompt(http: httpx.Client) -> None:
    ids = tokenize(http, PROMPT)
    body = {"model": "demo-markov", "prompt": [ids, ids + [12]], "max_tokens": 1, "temperature": 0.0, "logprobs": 6,
            "return_tokens_as_token_ids": True}  # fmt: skip
    r = http.post("/v1/completions", json=body).json()
    assert_shape(r, STEP)
    assert [c["index"] for c in r["choices"]] == [0, 1]
    assert r["usage"]["prompt_tokens"] == 2 * len(ids) + 1 and r["usage"]["completion_tokens"] == 2
    for choice in r["choices"]:
        lp = choice["logprobs"]
        (top,) = lp["top_logprobs"]
        assert lp["tokens"] == [next(iter(top))] and lp["token_logprobs"] == [top[lp["tokens"][0]]] and lp["text_offset"] == [0]
        assert len(top) == 6 and list(top.values()) == sorted(top.values(), reverse=True)  # greedy: the sampled one is the best
        sampled = token_id(lp["tokens"][0])
        assert choice["text"] == http.post("/detokenize", json={"tokens": [sampled]}).json()["prompt"]
    # The same prompt as text: tokenized with the same model, the same answer.
    as_text = http.post("/v1/completions", json=body | {"prompt": PROMPT}).json()["choices"][0]
    assert as_text["logprobs"] == r["choices"][0]["logprobs"] and as_text["text"] == r["choices"][0]["text"]
    # n > 1: choice index = prompt position * n + i.
    many = http.post("/v1/completions", json=body | {"n": 2, "return_token_ids": True}).json()["choices"]
    assert [(c["index"], c["prompt_token_ids"]) for c in many] == [(0, ids), (1, ids), (2, ids + [12]), (3, ids + [12])]


def test_forced_eos_ends_with_stop_and_no_text(http: httpx.Client) -> None:
    ids = tokenize(http, PROMPT)
    eos = find_eos(http, ids)
    body = {"model": "demo-markov", "prompt": [ids], "max_tokens": 1, "temperature": 0.0, "logit_bias": {str(eos): 100},
            "return_token_ids": True}  # fmt: skip
    r = http.post("/v1/completions", json=body).json()
    assert_shape(r, FORCED_EOS)
    (choice,) = r["choices"]
    assert (choice["text"], choice["finish_reason"], choice["stop_reason"], choice["token_ids"]) == ("", "stop", None, [eos])
    assert choice["prompt_token_ids"] == ids and r["usage"]["completion_tokens"] == 1
    # Forcing another token gives that token, and the sequence goes on.
    step = http.post("/v1/completions", json={"prompt": [ids], "max_tokens": 1, "temperature": 0, "logprobs": 4,
                                              "return_tokens_as_token_ids": True}).json()["choices"][0]  # fmt: skip
    second = token_id(list(step["logprobs"]["top_logprobs"][0])[1])
    forced = http.post("/v1/completions", json=body | {"logit_bias": {str(second): 100}}).json()["choices"][0]
    assert (forced["finish_reason"], forced["token_ids"]) == ("length", [second])
    # Even where the end of sequence is the likeliest token and the forced one is all but impossible.
    ended = tokenize(http, "She said so.")
    assert http.post("/v1/completions", json=body | {"prompt": [ended], "logit_bias": {}}).json()["choices"][0]["token_ids"] == [eos]
    start = tokenize(http, "<|im_start|>")
    forced = http.post("/v1/completions", json=body | {"prompt": [ended], "logit_bias": {str(start[0]): 100}}).json()["choices"][0]
    assert (forced["finish_reason"], forced["token_ids"], forced["text"]) == ("length", start, "")


def test_logprobs_list_the_sampled_token_first_then_the_top_k(http: httpx.Client) -> None:
    body = {"model": "demo-markov", "prompt": "It was a dark night", "n": 2, "max_tokens": 16, "temperature": 1.5, "seed": 11,
            "logprobs": 5}  # fmt: skip
    r = http.post("/v1/completions", json=body).json()
    assert_shape(r, STEP)
    below_best = 0
    for choice in r["choices"]:
        lp = choice["logprobs"]
        assert len(lp["tokens"]) == len(lp["token_logprobs"]) == len(lp["top_logprobs"]) == len(lp["text_offset"])
        offsets = [sum(map(len, lp["tokens"][:i])) for i in range(len(lp["tokens"]))]
        assert lp["text_offset"] == offsets and "".join(lp["tokens"]).startswith(choice["text"])
        for token, logprob, top in zip(lp["tokens"], lp["token_logprobs"], lp["top_logprobs"]):
            (first, first_lp), *rest = top.items()
            assert (first, first_lp) == (token, logprob)
            assert [v for _, v in rest] == sorted((v for _, v in rest), reverse=True)
            # 5 others when the sampled token is not among the top 5; else 4 others (it is listed once).
            assert len(top) in (5, 6) and (logprob <= rest[-1][1] if len(top) == 6 else logprob >= rest[-1][1])
            below_best += logprob < max(v for _, v in rest)
    assert below_best  # sampled at temperature 1.5: not always the likeliest, and still listed first
    streamed = sse(http.post("/v1/completions", json=body | {"stream": True, "stream_options": {"include_usage": True}}))
    *chunks, usage = streamed
    assert_shape(usage, STREAM_USAGE)
    assert usage["usage"]["completion_tokens"] == r["usage"]["completion_tokens"]
    for chunk in chunks:
        assert_shape(chunk, HEAD | {"choices": [STREAM_CHOICE]})
    for choice in r["choices"]:  # same seed: the same tokens, logprobs and offsets, one token an event
        mine = [c["choices"][0] for c in chunks if c["choices"][0]["index"] == choice["index"]]
        merged = {key: sum((c["logprobs"][key] for c in mine), []) for key in LOGPROBS}
        assert merged == choice["logprobs"] and "".join(c["text"] for c in mine) == choice["text"]
        assert mine[-1]["finish_reason"] == choice["finish_reason"]


def test_token_names_as_ids(http: httpx.Client) -> None:
    body = {"prompt": PROMPT, "max_tokens": 6, "temperature": 0, "logprobs": 3}
    named = http.post("/v1/completions", json=body).json()["choices"][0]["logprobs"]
    as_ids = http.post("/v1/completions", json=body | {"return_tokens_as_token_ids": True}).json()["choices"][0]["logprobs"]
    assert as_ids["token_logprobs"] == named["token_logprobs"]
    for names, ids in zip(named["top_logprobs"], as_ids["top_logprobs"]):
        assert [http.post("/detokenize", json={"tokens": [token_id(k)]}).json()["prompt"] for k in ids] == list(names)
        assert list(ids.values()) == list(names.values())
    assert as_ids["text_offset"] == [sum(map(len, as_ids["tokens"][:i])) for i in range(6)]  # vLLM counts the "token_id:N" text


def test_ended_by_eos_its_id_is_in_token_ids(http: httpx.Client) -> None:
    body = {"prompt": "She said so.", "max_tokens": 3, "temperature": 0, "return_token_ids": True, "logprobs": 1}
    choice = http.post("/v1/completions", json=body).json()["choices"][0]
    eos = find_eos(http, tokenize(http, "She said so."))
    assert (choice["finish_reason"], choice["stop_reason"], choice["text"], choice["token_ids"]) == ("stop", None, "", [eos])
    assert choice["logprobs"]["tokens"] == ["<|im_end|>"]  # listed as its text, as recorded


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"prompt": "x", "max_tokens": 1, "logprobs": 50},  # as recorded: error-logprobs-too-many
         {"message": "Requested sample logprobs of 50, which is greater than max allowed: 20 (parameter=logprobs, value=50)",
          "type": "BadRequestError", "param": "logprobs", "code": 400}),
        ({"prompt": "x", "n": 11, "use_beam_search": True},  # beams ask for 2n logprobs a step
         {"message": "Requested sample logprobs of 22, which is greater than max allowed: 20 (parameter=logprobs, value=22)",
          "type": "BadRequestError", "param": "logprobs", "code": 400}),
        ({"prompt": [[5, 10**9]]},
         {"message": "Token id 1000000000 is out of vocabulary", "type": "BadRequestError", "param": None, "code": 400}),
        ({"prompt": "x", "logit_bias": {"x": 1}},
         {"message": "logit_bias contains key(s) that cannot be converted to integer token IDs: ['x'] (parameter=logit_bias, value=['x'])",
          "type": "BadRequestError", "param": "logit_bias", "code": 400}),
    ],
)  # fmt: skip
def test_token_level_errors(http: httpx.Client, body: dict, error: dict) -> None:
    r = http.post("/v1/completions", json=body)
    assert (r.status_code, r.json()) == (400, {"error": error})


# --- chat logprobs --------------------------------------------------------------------------------
def test_chat_logprobs_stream_and_not(http: httpx.Client) -> None:
    body = {"messages": [{"role": "user", "content": "Name a color."}], "n": 2, "max_tokens": 12, "temperature": 0.9, "seed": 12,
            "logprobs": True, "top_logprobs": 5}  # fmt: skip
    events = sse(http.post("/v1/chat/completions", json=body | {"stream": True, "stream_options": {"include_usage": True}}))
    roles, tokens, usage = events[:2], events[2:-1], events[-1]
    for role in roles:
        assert_shape(role, CHAT_ROLE)
    assert_shape(usage, STREAM_USAGE)
    for event in tokens:
        assert_shape(event, (CHAT_FINAL, CHAT_DELTA))
        (entry,) = event["choices"][0]["logprobs"]["content"]
        assert len(entry["top_logprobs"]) == 5 and entry["top_logprobs"][0] == {k: entry[k] for k in ("token", "logprob", "bytes")}
        assert entry["bytes"] == list(entry["token"].encode())
    whole = http.post("/v1/chat/completions", json=body).json()
    for choice in whole["choices"]:
        mine = [e["choices"][0] for e in tokens if e["choices"][0]["index"] == choice["index"]]
        assert choice["message"]["content"] == "".join(c["delta"]["content"] for c in mine)
        assert choice["logprobs"]["content"] == [c["logprobs"]["content"][0] for c in mine]
