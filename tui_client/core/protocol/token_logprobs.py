"""Per-token logprobs as vLLM sends them, read into (text, logprob, alternatives) tokens
whose texts always join to the candidate's text.

A token's text is the piece of the candidate's text it produced, so a token that produced
none (an end-of-sequence token, whose own string the server shows in the alternatives) has
the text ``""``, and tokens that each carry part of one UTF-8 character are one token (their
logprobs summed, the first one's alternatives). Text the server sent without any token is
one token whose logprob is NaN (no logprob). vLLM's ``-9999.0`` is minus infinity.
"""

from __future__ import annotations

import gc
import math
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from operator import itemgetter
from typing import Any

WIRE_MINUS_INFINITY = -9999.0
"""How vLLM (and OpenAI) write a logprob of minus infinity."""

MAX_JOINED = 8
"""The most tokens joined into one while they wait for their text (their bytes end inside a
character, or their string is not in the text yet)."""

Alternatives = tuple[tuple[str, float], ...]
"""A token's alternatives: (text, logprob), most probable first (ties in the server's order)."""

WireToken = tuple[str, bytes | None, float, Alternatives]
"""One token as the server sent it: its string, its UTF-8 bytes (chat), logprob, alternatives."""

_by_logprob = itemgetter(1)


@contextmanager
def paused_gc() -> Iterator[None]:
    """No garbage collection while many containers that are not garbage are built (a run's
    tokens: collecting then traverses them all, again and again, for nothing)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def logprob(value: Any) -> float:
    """A logprob from the wire: ``-9999.0`` is minus infinity; anything not a number is NaN."""
    if type(value) is float:
        return -math.inf if value == WIRE_MINUS_INFINITY else value
    if isinstance(value, int) and not isinstance(value, bool):
        return -math.inf if value == WIRE_MINUS_INFINITY else float(value)
    return math.nan


def ranked(pairs: Iterable[tuple[Any, Any]]) -> Alternatives:
    """(text, logprob) pairs sorted most probable first; ties keep their order; bad ones dropped."""
    out = [(text, logprob(value)) for text, value in pairs if isinstance(text, str)]
    out = [pair for pair in out if pair[1] == pair[1]]
    out.sort(key=_by_logprob, reverse=True)  # stable, also reversed
    return tuple(out)


def ranked_dict(top: dict[str, Any]) -> Alternatives:
    """:func:`ranked` for completions' ``{text: logprob}``, quicker when all are numbers."""
    if WIRE_MINUS_INFINITY not in top.values():
        out = list(top.items())
        try:
            out.sort(key=_by_logprob, reverse=True)
        except TypeError:  # a value that is not a number
            return ranked(out)
        if out and type(out[0][1]) is float and type(out[-1][1]) is float:  # (then none is a string or null)
            return tuple(out)
    return ranked(top.items())


def completions_tokens(lp: Any) -> list[WireToken] | None:
    """``{"tokens", "token_logprobs", "top_logprobs": [{text: logprob}]}``; None if not that shape."""
    if not isinstance(lp, dict):
        return None
    texts, values, tops = lp.get("tokens"), lp.get("token_logprobs"), lp.get("top_logprobs")
    if not (isinstance(texts, list) and isinstance(values, list) and len(values) == len(texts)):
        return None
    if not (isinstance(tops, list) and len(tops) == len(texts)):
        tops = [None] * len(texts)
    out: list[WireToken] = []
    for text, value, top in zip(texts, values, tops):
        if not isinstance(text, str):
            return None
        out.append((text, None, logprob(value), ranked_dict(top) if isinstance(top, dict) else ()))
    return out


def chat_tokens(lp: Any) -> list[WireToken] | None:
    """``{"content": [{"token", "logprob", "bytes", "top_logprobs": [...]}]}``; None if not that shape."""
    content = lp.get("content") if isinstance(lp, dict) else None
    if not isinstance(content, list):
        return None
    out: list[WireToken] = []
    for item in content:
        if not isinstance(item, dict) or not isinstance(item.get("token"), str):
            return None
        top = item.get("top_logprobs")
        top = top if isinstance(top, list) else ()
        pairs = ((t.get("token"), t.get("logprob")) for t in top if isinstance(t, dict))
        out.append((item["token"], _bytes(item.get("bytes")), logprob(item.get("logprob")), ranked(pairs)))
    return out


def _bytes(value: Any) -> bytes | None:
    if not isinstance(value, list):
        return None
    try:
        return bytes(value)
    except (TypeError, ValueError):
        return None


Tokens = tuple[list[str], list[float], list[Alternatives]]


class TokenAligner:
    """One candidate's tokens matched to its text, event by event (see the module's docstring).

    Tokens whose text is not in the candidate's text yet (part of a character, shown by the
    server as U+FFFD or as bytes) wait for the next ones; a token whose string is not in the
    text at all (end of sequence) waits until the candidate finishes, or a later token matches.
    """

    __slots__ = ("_carry", "_group")

    def __init__(self) -> None:
        self._group: list[WireToken] = []  # tokens waiting for their text
        self._carry = ""  # text already sent for them while their bytes end inside a character

    @property
    def idle(self) -> bool:
        return not self._group

    def feed(self, text: str, tokens: list[WireToken], *, final: bool = False) -> Tokens:
        """The tokens an event completes, given its text (``""`` if none) and its tokens."""
        out: Tokens = ([], [], [])
        group, pos = self._group, 0
        if self._carry:
            text, self._carry = self._carry + text, ""
        for token in tokens:
            if group and token[0] and _group_text([token]) == token[0]:
                found = text.find(token[0], pos)
                if found >= 0:  # a whole token that is in the text: what waited ends where it starts
                    self._emit(out, text[pos:found])
                    pos = found
            group.append(token)
            piece = self._match(text, pos)
            if piece is not None:
                self._emit(out, piece)
                pos += len(piece)
        rest = text[pos:]
        if rest and group and not final and len(group) < MAX_JOINED and _group_text(group) is None:
            self._carry = rest  # (one token had a whole character and part of the next)
            return out
        if rest:
            if group:
                self._emit(out, rest)
            elif out[0]:
                out[0][-1] += rest  # text the tokens' strings missed: the event's last token's
            else:
                out[0].append(rest)
                out[1].append(math.nan)
                out[2].append(())
        if final and group:
            self._emit(out, "")
        return out

    def _match(self, text: str, pos: int) -> str | None:
        """The waiting tokens' piece of ``text`` at ``pos``, or None while they still wait."""
        group = self._group
        joined = _group_text(group)
        if joined is None and len(group) < MAX_JOINED:
            return None
        if joined is None:
            joined = b"".join(t[1] or b"" for t in group).decode("utf-8", "replace")
        if text.startswith(joined, pos):
            return joined
        common = _common_prefix(text, pos, joined)
        if not common and joined and len(group) < MAX_JOINED:
            return None
        return common

    def _emit(self, out: Tokens, piece: str) -> None:
        group = self._group
        total = group[0][2]
        for token in group[1:]:
            total += token[2]
        out[0].append(piece)
        out[1].append(total)
        out[2].append(group[0][3])
        group.clear()


def _group_text(group: list[WireToken]) -> str | None:
    """What tokens make together: their bytes decoded (None while a character is incomplete),
    or their strings where the server gave no bytes."""
    if any(t[1] is None for t in group):
        return "".join(t[0] for t in group)
    raw = b"".join(t[1] for t in group)  # type: ignore[misc]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as err:
        if err.end == len(raw) and err.reason == "unexpected end of data":
            return None
        return raw.decode("utf-8", "replace")


def _common_prefix(text: str, pos: int, other: str) -> str:
    i, limit = 0, min(len(text) - pos, len(other))
    while i < limit and text[pos + i] == other[i]:
        i += 1
    return other[:i]
