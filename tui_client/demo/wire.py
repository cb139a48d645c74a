"""vLLM's wire details the demo's routes share: request checks with vLLM's messages, SSE, pacing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any, Protocol, TypeVar

import orjson
from fastapi import Request

from tui_client.demo.markov import SamplingParams
from tui_client.demo.metrics import DemoMeter

MAX_MODEL_LEN = 2048
T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)


class ApiError(Exception):
    """An error answered with a JSON body: vLLM's error shape unless ``body`` is given."""

    def __init__(
        self, message: str, param: str | None = None, code: int = 400, kind: str = "BadRequestError", body: Any = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.body = body or {"error": {"message": message, "type": kind, "param": param, "code": code}}


def read_field(body: dict[str, Any], name: str, kind: type, default: Any) -> Any:
    """``body[name]`` checked to be of ``kind`` (vLLM's message if not); ``default`` if absent or null."""
    value = body.get(name)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float) if kind is float else kind):
        raise ApiError(f"{name} must be of type {kind.__name__}, got {value!r}.", name)
    return kind(value)


def sampling_params(body: dict[str, Any], default_max_tokens: int) -> SamplingParams:
    """Read vLLM's sampling fields from a request body, with vLLM's checks and messages."""
    stop = body.get("stop") or []
    stop = [stop] if isinstance(stop, str) else stop
    if not isinstance(stop, list) or not all(isinstance(s, str) and s for s in stop):
        raise ApiError("stop must be a string or a list of non-empty strings.", "stop")
    p = SamplingParams(
        n=read_field(body, "n", int, 1),
        max_tokens=read_field(body, "max_tokens", int, default_max_tokens),
        min_tokens=read_field(body, "min_tokens", int, 0),
        temperature=read_field(body, "temperature", float, 1.0),
        top_p=read_field(body, "top_p", float, 1.0),
        top_k=read_field(body, "top_k", int, 0),
        seed=read_field(body, "seed", int, None),
        stop=tuple(stop),
    )
    for bad, message in [
        (p.n < 1, f"n must be at least 1, got {p.n}."),
        (p.temperature < 0, f"temperature must be non-negative, got {p.temperature}."),
        (not 0 < p.top_p <= 1, f"top_p must be in (0, 1], got {p.top_p}."),
        (p.top_k < -1, f"top_k must be 0 (disable), or at least 1, got {p.top_k}."),
        (p.max_tokens < 1, f"max_tokens must be at least 1, got {p.max_tokens}."),
        (p.min_tokens < 0, f"min_tokens must be greater than or equal to 0, got {p.min_tokens}."),
        (p.min_tokens > p.max_tokens, f"min_tokens must be less than or equal to max_tokens={p.max_tokens}, got {p.min_tokens}."),
    ]:
        if bad:
            raise ApiError(message)
    if p.max_tokens > MAX_MODEL_LEN:
        raise ApiError(
            f"max_tokens={p.max_tokens} cannot be greater than max_model_len={MAX_MODEL_LEN}. "
            f"Please request fewer output tokens. (parameter=max_tokens, value={p.max_tokens})",
            "max_tokens",
        )
    return p


class Stepping(Protocol[T_co]):
    """Something generated one step at a time (:class:`Generation`, :class:`TokenGeneration`, :class:`BeamSearches`)."""

    @property
    def finished(self) -> bool: ...

    def step(self) -> T_co: ...


async def paced(
    gen: Stepping[T], delay: float, request: Request | None = None, *, meter: DemoMeter | None = None,
    prompt_tokens: int = 0,
) -> AsyncIterator[T]:
    """Step ``gen`` to the end, ``delay`` seconds a step; stop early if ``request`` is gone.
    ``meter``: counted in the demo's ``/metrics`` while it goes."""
    job = meter.begin(_sequences(gen), prompt_tokens) if meter is not None else None
    try:
        while not gen.finished:
            await asyncio.sleep(delay)
            if request is not None and await request.is_disconnected():
                return
            out = gen.step()
            if job is not None:
                job.step(len(out) if isinstance(out, (list, tuple)) else 1)
            yield out
    finally:
        if job is not None:
            job.end()


def _sequences(gen: object) -> int:
    """How many sequences a generation steps (candidates, token sequences or beam searches)."""
    for name in ("candidates", "sequences", "searches"):
        items = getattr(gen, name, None)
        if isinstance(items, (list, tuple)):
            return len(items)
    return 1


def sse(obj: Any) -> bytes:
    return b"data: " + orjson.dumps(obj) + b"\n\n"


async def json_body(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise ApiError("The request body must be a JSON object.")
    return body


def chat_messages(messages: Any) -> list[dict[str, Any]]:
    """A chat request's ``messages``, checked to be a list of objects."""
    if not isinstance(messages, list) or not all(isinstance(m, dict) for m in messages):
        raise ApiError("messages must be a list of objects.", "messages")
    return messages
