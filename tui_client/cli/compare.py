"""`tui-client generate --url A --url B`: the same request to each server at once, printed as one
group of ``Beam candidate i`` lines per server under a ``== A · URL ==`` header (or ``--json``'s
``{"servers": [...]}``). Exit status 0 when every server answered, 3 when some failed and others
answered, 1 when all failed."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Callable
from contextlib import AsyncExitStack
from typing import TextIO

import orjson

from tui_client.cli.generate import LiveView, _stop_on_signals, cancelled_status, candidate_lines
from tui_client.cli.streams import escape_json_for
from tui_client.core.protocol import ClientConfig, GenerationRequest, RunState, Status, VLLMClient
from tui_client.core.protocol.compare import CompareState, ServerGroup, follow_all
from tui_client.core.protocol.errors import without_userinfo
from tui_client.core.text.inert_text import make_inert

__all__ = ["PARTIAL_FAILURE_STATUS", "compare_lines", "run_compare_headless"]

PARTIAL_FAILURE_STATUS = 3
"""Exit status when some compared servers failed and the others answered."""


def group_header(group: ServerGroup) -> str:
    """``== A · http://h:8000 (completions, model) ==``."""
    server = group.state.server
    how = ", ".join(filter(None, (server.api.value if server.api else None, server.model)))
    return f"== {group.label} · {without_userinfo(server.url)}{f' ({how})' if how else ''} =="


def compare_lines(compare: CompareState, *, logprobs: bool = False, errors_below: bool = False) -> list[str]:
    """Each server's header, then its candidates' lines (or its error; ``errors_below``: only that it
    failed, its error following on stderr, on the same terminal)."""
    lines: list[str] = []
    for group in compare.groups:
        lines.append(group_header(group))
        lines += candidate_lines(group.state, logprobs=logprobs)
        if group.state.status is Status.FAILED:
            if errors_below and group.state.error is not None:
                lines.append(f"{group.label} failed (its error is below)")
            else:
                lines.append(f"{group.label} failed: {make_inert(str(group.state.error or 'failed'), exact=True)}")
    return lines


async def run_compare_headless(
    configs: list[tuple[str, ClientConfig]],
    request: GenerationRequest,
    *,
    json_output: bool = False,
    out: TextIO | None = None,
    err: TextIO | None = None,
    on_end: Callable[[CompareState], None] | None = None,
) -> int:
    """Send ``request`` to each (label, config) at once and print every group; the exit status."""
    out = out or sys.stdout
    err = err or sys.stderr
    live = LiveView(out, lines_of=compare_lines) if (request.stream and not json_output and out.isatty()
                                                      and os.environ.get("TERM") != "dumb") else None
    if not json_output:
        out.write(f"Prompt: {request.prompt!r}\n\n")
        out.flush()
    stopped_by: list[int] = []
    async with AsyncExitStack() as stack:
        clients = [(label, await stack.enter_async_context(VLLMClient(config))) for label, config in configs]
        compare = CompareState([ServerGroup(label, RunState(request, client.describe())) for label, client in clients])

        def changed(_: int) -> None:
            if live is not None and not compare.done:
                live.draw(compare)

        try:
            with _stop_on_signals(stopped_by):
                await follow_all([client.generate(request) for _, client in clients], compare, changed)
        except asyncio.CancelledError:
            pass  # every group is ended, cancelled, with its text
    if on_end is not None:
        on_end(compare)
    if live is not None:
        live.clear()
    if json_output:
        out.write(escape_json_for(out, orjson.dumps(compare.to_json(), option=orjson.OPT_INDENT_2).decode()) + "\n")
    else:
        # On a terminal, stderr's error lines follow at once: not the same message twice.
        below = out.isatty() and err.isatty()
        for line in compare_lines(compare, logprobs=bool(request.params.logprobs), errors_below=below):
            out.write(line + "\n")
    out.flush()
    for group in compare.groups:
        for note in group.state.notes:
            err.write(f"note: {group.label}: {make_inert(note, exact=True)}\n")
        if group.state.status is Status.FAILED and group.state.error is not None:
            err.write(f"error: {group.label}: {make_inert(str(group.state.error), exact=True)}\n")
    status = compare.status
    if status is Status.CANCELLED:
        return cancelled_status(stopped_by, err)
    if status is Status.FAILED:
        return 1
    if compare.some_failed:
        return PARTIAL_FAILURE_STATUS
    if err.isatty():
        for line in compare.summaries():
            err.write(make_inert(line, exact=True) + "\n")
    return 0
