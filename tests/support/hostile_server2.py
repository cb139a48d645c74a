"""More misbehaving servers (issue #16, round 2), one scenario per name, like :mod:`hostile_server`.

Every scenario answers ``/v1/models`` and ``/health`` as an OpenAI server would and misbehaves
on the generation request. A scenario is given the server too (``server.posts`` counts the
generation requests so far). Run one by hand::

    python tests/support/hostile_server2.py done-keep-open   # prints its URL
"""

from __future__ import annotations

import asyncio
import json
import socket
import struct
from collections.abc import Awaitable, Callable

from hostile_server import SSE_HEAD, Writer, delta, good_sse, send, serve_from_command_line
from replay_server import Received, ScriptedServer

Scenario = Callable[["HostileServer2", Received, Writer], Awaitable[bool]]


def event(obj: object) -> bytes:
    return b"data: " + json.dumps(obj, ensure_ascii=False).encode() + b"\n\n"


def chat_delta(index: int | None, content: str | None, finish: str | None = None, role: bool = False) -> bytes:
    d: dict[str, object] = {"content": content}
    if role:
        d["role"] = "assistant"
    choice: dict[str, object] = {"delta": d, "finish_reason": finish}
    if index is not None:
        choice["index"] = index
    return event({"object": "chat.completion.chunk", "choices": [choice]})


DONE = b"data: [DONE]\n\n"
USAGE = {"prompt_tokens": 3, "completion_tokens": 5, "total_tokens": 8}


def head(status: str, *headers: str, body: bytes = b"") -> bytes:
    lines = [f"HTTP/1.1 {status}", *headers, f"content-length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def done_keep_open(server: HostileServer2, req: Received, w: Writer) -> bool:
    """Every candidate finishes, ``[DONE]`` comes, and the body never ends (no last chunk)."""
    w.write(SSE_HEAD)
    await send(w, *good_sse("all done", "here too"))
    await asyncio.sleep(3600)
    return False


async def after_done(server: HostileServer2, req: Received, w: Writer) -> bool:
    """``[DONE]``, then more text for a finished candidate and an error, some in the same chunk."""
    w.write(SSE_HEAD)
    events = good_sse("the end")
    await send(w, *events[:-1])
    await send(w, DONE + delta(0, " and a ghost") + delta(1, "new one"))
    await send(w, event({"error": {"message": "late failure", "code": 500}}), b"")
    return False


def json_body(chat: bool) -> Scenario:
    async def respond(server: HostileServer2, req: Received, w: Writer) -> bool:
        """A stream request answered with one whole JSON body, as if ``stream`` were false."""
        n = (req.json() or {}).get("n", 1)
        if chat:
            choices = [{"index": i, "message": {"role": "assistant", "content": f"reply {i}"},
                        "finish_reason": "stop"} for i in range(n)]
        else:
            choices = [{"index": i, "text": f" text {i}", "finish_reason": "length"} for i in range(n)]
        body = json.dumps({"object": "chat.completion" if chat else "text_completion",
                           "choices": choices, "usage": USAGE}).encode()
        w.write(head("200 OK", "content-type: application/json", body=body))
        return True

    return respond


async def json_error_body(server: HostileServer2, req: Received, w: Writer) -> bool:
    """A stream request answered 200 with a JSON error object."""
    body = json.dumps({"error": {"message": "the engine is sleeping", "type": "ServiceUnavailable"}}).encode()
    w.write(head("200 OK", "content-type: application/json", body=body))
    return True


async def no_index(server: HostileServer2, req: Received, w: Writer) -> bool:
    """A single-choice server that never says ``index`` (completions or chat, by path)."""
    w.write(SSE_HEAD)
    if req.path.endswith("/chat/completions"):
        pieces = [chat_delta(None, "", role=True), chat_delta(None, "no"), chat_delta(None, " index"),
                  chat_delta(None, "", "stop")]
    else:
        pieces = [event({"choices": [{"text": t, "finish_reason": f}]}) for t, f in (("no", None), (" index", None), ("", "stop"))]
    await send(w, *pieces, DONE, b"")
    return False


async def null_choices_usage(server: HostileServer2, req: Received, w: Writer) -> bool:
    """The usage event says ``"choices": null`` instead of ``[]``."""
    w.write(SSE_HEAD)
    await send(w, *good_sse("counted")[:-1], event({"choices": None, "usage": USAGE}), DONE, b"")
    return False


async def japanese_chat(server: HostileServer2, req: Received, w: Writer) -> bool:
    """vLLM's chat stream for a Japanese reply: a role event, then one event per token, some with
    empty text (a character whose bytes span tokens), then usage. 8 tokens, 5 with text."""
    w.write(SSE_HEAD)
    tokens = ["こ", "", "ん", "", "にち", "", "は", ""]
    pieces = [chat_delta(0, "", role=True)]
    pieces += [chat_delta(0, t, "stop" if k == len(tokens) - 1 else None) for k, t in enumerate(tokens)]
    pieces.append(event({"choices": [], "usage": {"prompt_tokens": 4, "completion_tokens": 8, "total_tokens": 12}}))
    await send(w, *pieces, DONE, b"", pause=0.01)
    return False


async def close_first_post(server: HostileServer2, req: Received, w: Writer) -> bool:
    """The kept-alive connection is closed when the generation request arrives (once); a fresh
    connection is answered."""
    if server.posts == 1:
        return False  # close without a byte of an answer
    w.write(SSE_HEAD)
    await send(w, *good_sse("second try"), b"")
    return False


def _reset(w: Writer) -> None:
    sock = w.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


async def reset_before_headers(server: HostileServer2, req: Received, w: Writer) -> bool:
    """Every generation request: the connection is reset before a byte of an answer."""
    _reset(w)
    return False


async def close_before_headers(server: HostileServer2, req: Received, w: Writer) -> bool:
    """Every generation request: the connection is closed before a byte of an answer."""
    return False


async def too_many_requests(server: HostileServer2, req: Received, w: Writer) -> bool:
    """429 with ``retry-after: 30`` and an empty plain-text body."""
    w.write(head("429 Too Many Requests", "retry-after: 30", "content-type: text/plain"))
    return True


async def too_many_requests_json(server: HostileServer2, req: Received, w: Writer) -> bool:
    """429 with ``retry-after: 2`` and a JSON error body."""
    body = json.dumps({"error": {"message": "rate limit reached for this key", "code": 429}}).encode()
    w.write(head("429 Too Many Requests", "retry-after: 2", "content-type: application/json", body=body))
    return True


async def empty_503(server: HostileServer2, req: Received, w: Writer) -> bool:
    """503 with an empty body and no retry-after."""
    w.write(head("503 Service Unavailable", "content-type: text/plain"))
    return True


async def fine(server: HostileServer2, req: Received, w: Writer) -> bool:
    """A well-behaved stream (for the tests that look at what was sent)."""
    w.write(SSE_HEAD)
    await send(w, *good_sse("fine"), b"")
    return False


async def plain_500(server: HostileServer2, req: Received, w: Writer) -> bool:
    """500 with a short plain-text body (the URL of the request is in the message)."""
    w.write(head("500 Internal Server Error", "content-type: text/plain", body=b"engine died"))
    return True


async def one_char_then_die(server: HostileServer2, req: Received, w: Writer) -> bool:
    """One character of text, then the connection closes mid-stream."""
    w.write(SSE_HEAD)
    await send(w, delta(0, "x"))
    return False


EMOJI_TOKENS = ["I ❤", "\ufe0f", " tea ☺\ufe0f", " 🏳\ufe0f", "\u200d🌈", " 👍", "🏽", " 1\ufe0f\u20e3",
                " 👨\u200d👩\u200d👧", " and", " more"]
"""Emoji whose width terminals disagree on (VS16, ZWJ, a skin tone), split across tokens."""


async def emoji(server: HostileServer2, req: Received, w: Writer) -> bool:
    """Two candidates saying :data:`EMOJI_TOKENS` eight times over, one token per event."""
    w.write(SSE_HEAD)
    tokens = EMOJI_TOKENS * 8
    pieces = [delta(i, t) for t in tokens for i in range(2)]
    await send(w, *pieces, delta(0, "", "length"), delta(1, "", "length"), DONE, b"")
    return False


SCENARIOS: dict[str, Scenario] = {
    "done-keep-open": done_keep_open,
    "after-done": after_done,
    "json-body-completions": json_body(chat=False),
    "json-body-chat": json_body(chat=True),
    "json-error-body": json_error_body,
    "no-index": no_index,
    "null-choices-usage": null_choices_usage,
    "japanese-chat": japanese_chat,
    "emoji": emoji,
    "close-first-post": close_first_post,
    "reset-before-headers": reset_before_headers,
    "close-before-headers": close_before_headers,
    "429-retry-after": too_many_requests,
    "429-json": too_many_requests_json,
    "503-empty": empty_503,
    "fine": fine,
    "plain-500": plain_500,
    "one-char-then-die": one_char_then_die,
}


class HostileServer2(ScriptedServer):
    def __init__(self, scenario: str) -> None:
        super().__init__()
        self.scenario = scenario
        self._respond = SCENARIOS[scenario]
        self.posts = 0  # generation requests received so far

    async def respond(self, req: Received, writer: Writer) -> bool:
        path = req.path.split("?")[0]
        if path.endswith("/v1/models"):
            return self.simple(writer, 200, b'{"object":"list","data":[{"id":"hostile"}]}')
        if path == "/health":
            return self.simple(writer, 200, b"", None)
        self.posts += 1
        return await self._respond(self, req, writer)


if __name__ == "__main__":
    serve_from_command_line(HostileServer2, SCENARIOS, __doc__)
