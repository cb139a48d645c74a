"""Compare servers: the same request sent to K servers at once, one group of n candidates each.

:class:`ServerTarget` is a server as the user named it (``--url A --url B``, ``LABEL=URL``);
:class:`CompareState` holds one :class:`ServerGroup` (a label and its :class:`RunState`) per
server; :func:`follow_all` reads the K streams concurrently: a server that fails fails its
group only, cancelling cancels them all.
"""

from __future__ import annotations

import asyncio
import re
import string
from collections import Counter
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from contextlib import aclosing
from dataclasses import dataclass, replace

from tui_client.core.protocol.client import ClientConfig
from tui_client.core.protocol.errors import ClientError, ErrorKind
from tui_client.core.protocol.state import RunEvent, RunState, Status

__all__ = [
    "CompareState", "ServerGroup", "ServerTarget", "compare_configs", "default_label", "follow_all", "group_summary", "parse_target", "run_all", "targets_from",
]

_LABEL = re.compile(r"[A-Za-z0-9_.-]{1,16}")
"""A label given as ``LABEL=URL``: short, no ``:`` or ``/`` (those start a URL)."""


@dataclass(frozen=True)
class ServerTarget:
    """A server to compare: its label (``A``, ``B``… or the user's) and URL."""

    label: str
    url: str


def parse_target(text: str, position: int) -> ServerTarget:
    """``URL`` (labelled by position: A, B, …) or ``LABEL=URL``; ValueError on an empty one."""
    label, sep, rest = text.partition("=")
    if sep and _LABEL.fullmatch(label) and rest.strip():
        return ServerTarget(label, rest.strip())
    if not text.strip():
        raise ValueError("an empty server URL")
    return ServerTarget(default_label(position), text.strip())


def default_label(position: int) -> str:
    """A, B, … Z, then S27, S28…"""
    return string.ascii_uppercase[position] if position < 26 else f"S{position + 1}"


def targets_from(texts: Sequence[str]) -> list[ServerTarget]:
    """The servers as given (``URL`` or ``LABEL=URL`` each); ValueError on a repeated label."""
    targets = [parse_target(text, i) for i, text in enumerate(texts)]
    seen = Counter(t.label for t in targets)
    repeated = [label for label, count in seen.items() if count > 1]
    if repeated:
        raise ValueError(f"the server label {repeated[0]!r} is given twice (labels: {', '.join(t.label for t in targets)})")
    return targets


def compare_configs(config: ClientConfig, label: str | None, others: Sequence[ServerTarget]) -> list[tuple[str, ClientConfig]]:
    """Each server's label and client config: ``config`` first (as ``label``, default A), then ``others``, whose
    protocol and model are detected (the API key, timeout, TLS and limits are ``config``'s)."""
    taken = {target.label for target in others}
    first = label or next(default_label(i) for i in range(len(others) + 1) if default_label(i) not in taken)
    return [(first, config), *((t.label, replace(config, url=t.url, api=None, model=None)) for t in others)]


@dataclass
class ServerGroup:
    """One server's part of a comparison: its label and its run (the live state)."""

    label: str
    state: RunState

    def to_json(self) -> dict[str, object]:
        doc = self.state.to_json()
        server = doc.pop("server")
        assert isinstance(server, dict)
        return {"label": self.label, **server, "status": self.state.status.value,
                "error": self.state.error.to_json() if self.state.error else None,
                **{k: v for k, v in doc.items() if k not in ("status", "error")}}


def group_summary(group: ServerGroup) -> str:
    """One line: ``A · completions · model · first text 0.12 s · 45.3 tok/s · length×2, stop×1``, or the error."""
    state = group.state
    parts = [group.label, state.server.api.value if state.server.api else "?"]
    if state.server.model:
        parts.append(state.server.model)
    if state.status is Status.FAILED:
        error = str(state.error) if state.error else "failed"
        return " · ".join([*parts, f"failed: {error}"])
    timing = state.timing()
    if timing.get("time_to_first_text") is not None:
        parts.append(f"first text {timing['time_to_first_text']:.2f} s")
    if timing.get("tokens_per_second"):
        parts.append(f"{timing['tokens_per_second']:.1f} tok/s")
    elif timing.get("chars_per_second"):
        parts.append(f"{timing['chars_per_second']:.0f} chars/s")
    reasons = Counter(c.finish_reason for c in state.ordered() if c.finish_reason)
    if reasons:
        parts.append(", ".join(f"{reason}×{count}" for reason, count in sorted(reasons.items())))
    if not state.status.done:
        parts.append(state.status.value)
    elif state.status is Status.CANCELLED:
        parts.append("cancelled")
    return " · ".join(parts)


class CompareState:
    """The groups of one comparison, in the order the servers were given."""

    def __init__(self, groups: Sequence[ServerGroup]) -> None:
        self.groups = list(groups)

    @property
    def done(self) -> bool:
        return all(g.state.status.done for g in self.groups)

    @property
    def status(self) -> Status:
        """Waiting or streaming while one goes; then cancelled if any was, failed if all failed, else finished
        (:attr:`some_failed` says whether one failed beside others)."""
        states = [g.state.status for g in self.groups]
        if not all(s.done for s in states):
            return Status.STREAMING if Status.STREAMING in states else Status.WAITING
        if Status.CANCELLED in states:
            return Status.CANCELLED
        if all(s is Status.FAILED for s in states):
            return Status.FAILED
        return Status.FINISHED

    @property
    def some_failed(self) -> bool:
        return any(g.state.status is Status.FAILED for g in self.groups)

    def summaries(self) -> list[str]:
        return [group_summary(g) for g in self.groups]

    def to_json(self) -> dict[str, object]:
        return {"status": self.status.value, "servers": [g.to_json() for g in self.groups]}


async def follow_all(streams: Sequence[AsyncIterator[RunEvent]], compare: CompareState,
                     changed: Callable[[int], object] | None = None) -> None:
    """Read stream i into group i, all at once; ``changed(i)`` after each event. A stream that raises
    fails its group only; cancelling this cancels every stream (each keeps the text it has)."""

    async def follow(i: int, events: AsyncIterator[RunEvent]) -> None:
        group = compare.groups[i]
        try:
            async with aclosing(events) as stream:  # type: ignore[type-var]
                async for event in stream:
                    group.state = event.state
                    if changed is not None:
                        changed(i)
        except Exception as err:  # noqa: BLE001 - one server's bug must not end the others
            if not group.state.status.done:
                group.state.finish(Status.FAILED, ClientError(ErrorKind.BAD_RESPONSE, f"internal error: {err!r}"))
        finally:
            if not group.state.status.done:
                group.state.finish(Status.CANCELLED)

    await run_all([follow(i, events) for i, events in enumerate(streams)])


async def run_all(coroutines: Sequence[Coroutine[object, object, None]]) -> None:
    """Run the coroutines at once until all end; cancelling this cancels each and waits for it."""
    tasks = [asyncio.ensure_future(coroutine) for coroutine in coroutines]
    try:
        await asyncio.gather(*tasks)
    except asyncio.CancelledError:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
