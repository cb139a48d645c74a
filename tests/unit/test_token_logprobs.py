"""Tokens matched to the text: whatever the server sends and however it is cut, a
candidate's token texts join to its text, and no token's logprob is lost."""

from __future__ import annotations

import json
import math

import orjson
import pytest
from chunks import split_at
from hypothesis import given, settings
from hypothesis import strategies as st

from tui_client.core.protocol import Api, GenerationRequest, RunState, SamplingParams, ServerInfo
from tui_client.core.protocol.apis import ChatAdapter, CompletionsAdapter
from tui_client.core.protocol.token_logprobs import TokenAligner, ranked, ranked_dict

REPLACEMENT = "\ufffd"


def state_for(api: Api) -> RunState:
    return RunState(GenerationRequest("p", SamplingParams(n=1, logprobs=2)), ServerInfo("http://x", api, "m"))


def chat_event(delta: str, tokens: list[tuple[str, list[int] | None, float]], reason: str | None = None) -> bytes:
    content = [{"token": t, "logprob": lp, "bytes": b, "top_logprobs": [{"token": t, "logprob": lp, "bytes": b}]}
               for t, b, lp in tokens]
    choice = {"index": 0, "delta": {"content": delta}, "logprobs": {"content": content} if tokens else None,
              "finish_reason": reason}
    return b"data: " + orjson.dumps({"choices": [choice]}) + b"\n\n"


def completions_event(delta: str, tokens: list[tuple[str, list[int] | None, float]], reason: str | None = None) -> bytes:
    lps = {"tokens": [t for t, _, _ in tokens], "token_logprobs": [lp for _, _, lp in tokens],
           "top_logprobs": [{t: lp} for t, _, lp in tokens], "text_offset": [0] * len(tokens)}
    choice = {"index": 0, "text": delta, "logprobs": lps if tokens else None, "finish_reason": reason}
    return b"data: " + orjson.dumps({"choices": [choice]}) + b"\n\n"


def feed(api: Api, events: list[bytes], cuts: list[int] = ()) -> RunState:
    state = state_for(api)
    adapter = (ChatAdapter if api is Api.CHAT else CompletionsAdapter)(state, max_line_bytes=1 << 20)
    for piece in split_at(b"".join(events) + b"data: [DONE]\n\n", list(cuts)):
        adapter.feed(piece)
    adapter.end_of_stream()
    state.notes.extend(adapter.notes())
    return state


def test_bytes_of_one_character_over_two_tokens_are_one_token() -> None:
    char = "你".encode()  # 3 bytes: two tokens carry them
    state = feed(Api.CHAT, [
        chat_event("Hi", [("Hi", [72, 105], -0.5)]),
        chat_event("", [("bytes:\\xe4\\xbd", list(char[:2]), -1.0)]),
        chat_event("你", [("\\xa0", list(char[2:]), -2.0)]),
        chat_event("!", [("!", [33], -0.25)], "length"),
    ])
    cand = state.candidates[0]
    assert cand.token_texts == ["Hi", "你", "!"] and cand.text == "Hi你!"
    assert cand.token_logprobs == [-0.5, -3.0, -0.25] and cand.cumulative_logprob == -3.75
    assert cand.token_tops[1] == (("bytes:\\xe4\\xbd", -1.0),)  # the first one's alternatives


def test_replacement_characters_are_joined_when_the_bytes_are_not_real() -> None:
    fffd = list(REPLACEMENT.encode())
    state = feed(Api.CHAT, [
        chat_event("", [(REPLACEMENT, fffd, -1.0)]),
        chat_event("你 is", [(REPLACEMENT, fffd, -2.0), (" is", [32, 105, 115], -0.5)], "stop"),
    ])
    assert state.candidates[0].token_texts == ["你", " is"]
    assert state.candidates[0].token_logprobs == [-3.0, -0.5]


def test_an_end_of_sequence_token_has_no_text_and_keeps_its_logprob() -> None:
    for api, event in ((Api.CHAT, chat_event), (Api.COMPLETIONS, completions_event)):
        state = feed(api, [event(" a", [(" a", None, -1.0)]), event("", [("<|im_end|>", None, -0.5)], "stop")])
        cand = state.candidates[0]
        assert (cand.token_texts, cand.token_logprobs) == ([" a", ""], [-1.0, -0.5]), api
        assert cand.token_tops[1] == (("<|im_end|>", -0.5),)


def test_a_stop_string_cut_from_the_text_cuts_the_token() -> None:
    state = feed(Api.COMPLETIONS, [completions_event(" Hello", [(" Hello", None, -1.0)]),
                                   completions_event("", [(".", None, -2.0)], "stop")])
    assert state.candidates[0].token_texts == [" Hello", ""]
    state = feed(Api.COMPLETIONS, [completions_event(" Hi", [(" Hi.", None, -1.0)], "stop")])
    assert state.candidates[0].token_texts == [" Hi"]


def test_text_sent_without_logprobs_is_a_token_without_one_and_a_note() -> None:
    state = feed(Api.COMPLETIONS, [completions_event(" a", [(" a", None, -1.0)]), completions_event(" b", []),
                                   completions_event(" c", [(" c", None, -9999.0)], "length")])
    cand = state.candidates[0]
    assert cand.token_texts == [" a", " b", " c"]
    assert cand.token_logprobs[0] == -1.0 and math.isnan(cand.token_logprobs[1]) and cand.token_logprobs[2] == -math.inf
    assert cand.cumulative_logprob == -math.inf and cand.mean_logprob == -math.inf and cand.perplexity == math.inf
    assert state.notes == ["the server sent 1 piece(s) of text without logprobs"]
    doc = cand.to_json(logprobs=True)
    assert [t["logprob"] for t in doc["logprobs"]] == [-1.0, None, -9999.0]
    assert doc["logprobs"][2]["top"] == [{"token": " c", "logprob": -9999.0}]
    assert (doc["cumulative_logprob"], doc["mean_logprob"], doc["perplexity"]) == (-9999.0, -9999.0, None)
    json.dumps(doc, allow_nan=False)  # valid JSON: no NaN or Infinity


def test_alternatives_most_probable_first_ties_in_the_servers_order() -> None:
    assert ranked([("a", -3.0), ("b", -1.0), ("c", -2.0), ("d", -1.0), ("e", -9999.0), ("f", None)]) == (
        ("b", -1.0), ("d", -1.0), ("c", -2.0), ("a", -3.0), ("e", -math.inf))


def test_without_logprobs_asked_nothing_is_kept() -> None:
    state = RunState(GenerationRequest("p", SamplingParams(n=1)), ServerInfo("http://x", Api.CHAT, "m"))
    adapter = ChatAdapter(state, max_line_bytes=1 << 20)
    adapter.feed(chat_event("Hi", [("Hi", [72, 105], -0.5)], "stop") + b"data: [DONE]\n\n")
    assert state.candidates[0].text == "Hi" and state.candidates[0].token_texts == []
    assert state.candidates[0].cumulative_logprob is None and "logprobs" not in state.candidates[0].to_json()


# -- the property: a tokenizer at the byte level, a detokenizer like vLLM's, any chunking ------------

chars = st.characters(blacklist_categories=("Cs",), blacklist_characters=REPLACEMENT)


@st.composite
def streams(draw: st.DrawFn) -> tuple[Api, str, str, list[bytes], list[float], int]:
    """A text cut into byte tokens anywhere (inside characters too), shown to the client as
    vLLM would: each event's text is what whole characters its tokens completed."""
    api = draw(st.sampled_from([Api.CHAT, Api.COMPLETIONS]))
    text = draw(st.text(chars, min_size=1, max_size=30))
    raw = text.encode()
    cuts = sorted(set(draw(st.lists(st.integers(1, max(len(raw) - 1, 1)), max_size=len(raw)))) - {len(raw)})
    pieces = [raw[a:b] for a, b in zip([0, *cuts], [*cuts, len(raw)])]
    style = draw(st.sampled_from(["bytes", "replacement", "no-bytes"]))  # how a partial token is shown
    eos = draw(st.booleans())
    tokens: list[tuple[str, list[int] | None, float]] = []
    for piece in pieces:
        try:
            shown = piece.decode()
        except UnicodeDecodeError:
            shown = REPLACEMENT if style != "bytes" else "bytes:" + piece.hex()
        raw_shown = list(piece) if style == "bytes" else (list(shown.encode()) if api is Api.CHAT and style == "replacement" else None)
        tokens.append((shown, raw_shown if api is Api.CHAT else None, -draw(st.floats(0, 20))))
    if eos:
        tokens.append(("<|im_end|>", list(b"<|im_end|>") if api is Api.CHAT else None, -0.5))
    groups = draw(st.lists(st.integers(1, 3), min_size=len(tokens), max_size=len(tokens)))
    events, sent, done, k = [], "", b"", 0
    make = chat_event if api is Api.CHAT else completions_event
    while k < len(tokens):
        batch = tokens[k : k + groups[k]]
        k += len(batch)
        done = b"".join(p for p in pieces[: min(k, len(pieces))])
        whole = done.decode("utf-8", "ignore") if k < len(pieces) else text  # the incomplete tail held back
        events.append(make(whole[len(sent):], batch, "stop" if k >= len(tokens) else None))
        sent = whole
    ends = [len(b"".join(pieces[: i + 1])) for i in range(len(pieces))]
    characters = sum(1 for end in ends if _whole(raw[:end])) + eos  # tokens once partial ones are joined
    return api, style, text, events, [lp for _, _, lp in tokens], characters


def _whole(data: bytes) -> bool:
    try:
        data.decode()
    except UnicodeDecodeError:
        return False
    return True


@settings(max_examples=300, deadline=None)
@given(streams(), st.lists(st.integers(0, 100_000), max_size=12))
def test_any_tokens_any_chunking_the_tokens_join_to_the_text(stream, cuts: list[int]) -> None:
    api, style, text, events, logprobs, characters = stream
    cand = feed(api, events, cuts).candidates[0]
    assert cand.text == text and "".join(cand.token_texts) == text
    assert len(cand.token_texts) == len(cand.token_logprobs) == len(cand.token_tops) <= len(logprobs)
    assert cand.cumulative_logprob == pytest.approx(sum(logprobs))
    if api is Api.CHAT and style == "bytes":  # real bytes: the tokens of one character are one
        assert len(cand.token_texts) == characters


def test_an_aligner_that_is_given_nothing_gives_nothing() -> None:
    assert TokenAligner().feed("", []) == ([], [], [])


def test_completions_alternatives_that_are_not_numbers_are_dropped() -> None:
    assert ranked_dict({"a": -2.0, "b": -1.0, "c": -1.0}) == (("b", -1.0), ("c", -1.0), ("a", -2.0))
    assert ranked_dict({"a": None}) == () and ranked_dict({"a": "x", "b": "y"}) == ()
    assert ranked_dict({"a": -1.0, "b": None, "c": -9999.0}) == (("a", -1.0), ("c", -math.inf))
    assert ranked_dict({"a": -1, "b": -0.5}) == (("b", -0.5), ("a", -1.0)) and ranked_dict({}) == ()
