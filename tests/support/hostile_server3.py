"""Misbehaving servers, round 3 (issue #16: the faults found by looking), one scenario per name.

Unlike :mod:`hostile_server2`, a scenario may misbehave on any route: it gets every request and
calls :func:`usual` for the routes it leaves alone (``/v1/models`` listing ``hostile``, ``/health``).
``server.posts`` counts the generation requests so far. Run one by hand::

    python tests/support/hostile_server3.py error-escapes   # prints its URL
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable

from hostile_server import SSE_HEAD, Writer, send, serve_from_command_line
from hostile_server2 import DONE, event, head
from replay_server import Received, ScriptedServer

Scenario = Callable[["HostileServer3", Received, Writer], Awaitable[bool]]

MODELS = b'{"object":"list","data":[{"id":"hostile"}]}'

ESCAPES = "bad [bold]thing[/] \x1b[2J\x07 \x1b]0;pwned\x07 \u202e end"
"""Terminal escapes (clear screen, bell, retitle, a bidi override) and Rich markup."""


def usual(server: HostileServer3, req: Received, w: Writer) -> bool | None:
    """``/v1/models`` and ``/health`` as a well-behaved server answers them; None for the generation request."""
    path = req.path.split("?")[0]
    if path.endswith("/v1/models"):
        return server.simple(w, 200, MODELS)
    if path == "/health":
        return server.simple(w, 200, b"", None)
    server.posts += 1
    return None


async def error_escapes(server: HostileServer3, req: Received, w: Writer) -> bool:
    """The generation request answered 400 with :data:`ESCAPES` in vLLM's error message."""
    if (done := usual(server, req, w)) is not None:
        return done
    body = json.dumps({"object": "error", "message": ESCAPES, "type": "BadRequestError", "code": 400}).encode()
    w.write(head("400 Bad Request", "content-type: application/json", body=body))
    return True


def lp_event(index: int, tokens: list[tuple[str, float]], finish: str | None = None) -> bytes:
    """A completions event with one candidate's tokens and their logprobs (each token its own top 1)."""
    lp = {"tokens": [t for t, _ in tokens], "token_logprobs": [v for _, v in tokens],
          "top_logprobs": [{t: v, " alt": -1.0} for t, v in tokens], "text_offset": [0] * len(tokens)}
    return event({"choices": [{"index": index, "text": "".join(t for t, _ in tokens), "logprobs": lp,
                               "finish_reason": finish}]})


OVERFLOWING = [("Big", 1e308), (" and", 800.0), (" sure", 5.0), (" fine", -0.5)]
"""Logprobs above 0 (a probability above 1), some past what ``exp`` can take: a broken server's."""


async def logprob_overflow(server: HostileServer3, req: Received, w: Writer) -> bool:
    """Two candidates streamed with :data:`OVERFLOWING` logprobs (``--logprobs``), then ``[DONE]``."""
    if (done := usual(server, req, w)) is not None:
        return done
    w.write(SSE_HEAD)
    pieces = [lp_event(i, [token]) for token in OVERFLOWING for i in range(2)]
    await send(w, *pieces, lp_event(0, [], "length"), lp_event(1, [], "length"), DONE, b"")
    return False


async def models_not_a_list(server: HostileServer3, req: Received, w: Writer) -> bool:
    """``/v1/models`` answers 200 with JSON that is no model list: ``{"data": null}``."""
    if req.path.split("?")[0].endswith("/v1/models"):
        return server.simple(w, 200, b'{"object": "list", "data": null}')
    if (done := usual(server, req, w)) is not None:
        return done
    return server.simple(w, 500, b'{"message": "not reached"}')


REASONING = ("The user wants a greeting. ", "I will say hello.")
"""What a vLLM reasoning parser streams in ``delta.reasoning`` before the reply."""


async def chat_reasoning(server: HostileServer3, req: Received, w: Writer) -> bool:
    """Chat answered as vLLM with ``--reasoning-parser`` does: ``reasoning`` before the content
    (``reasoning_content`` in the one-body answer, as vLLM before 0.10 named it)."""
    if (done := usual(server, req, w)) is not None:
        return done
    if not (req.json() or {}).get("stream"):
        message = {"role": "assistant", "content": "Hello!", "reasoning_content": "".join(REASONING)}
        body = json.dumps({"choices": [{"index": 0, "message": message, "finish_reason": "stop"}]}).encode()
        return server.simple(w, 200, body)
    w.write(SSE_HEAD)
    pieces = [event({"choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]})]
    pieces += [event({"choices": [{"index": 0, "delta": {"reasoning": part}}]}) for part in REASONING]
    pieces += [event({"choices": [{"index": 0, "delta": {"content": "Hello!"}, "finish_reason": "stop"}]})]
    await send(w, *pieces, DONE, b"")
    return False


SCENARIOS: dict[str, Scenario] = {
    "chat-reasoning": chat_reasoning,
    "error-escapes": error_escapes,
    "logprob-overflow": logprob_overflow,
    "models-not-a-list": models_not_a_list,
}


class HostileServer3(ScriptedServer):
    def __init__(self, scenario: str) -> None:
        super().__init__()
        self.scenario = scenario
        self._respond = SCENARIOS[scenario]
        self.posts = 0  # generation requests received so far

    async def respond(self, req: Received, writer: Writer) -> bool:
        return await self._respond(self, req, writer)


__all__ = ["DONE", "ESCAPES", "REASONING", "SCENARIOS", "SSE_HEAD", "HostileServer3", "event", "send", "usual"]

if __name__ == "__main__":
    serve_from_command_line(HostileServer3, SCENARIOS, __doc__)
