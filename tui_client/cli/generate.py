"""`tui-client generate`: the headless front end, printing vLLM's example client's
``Beam candidate i: '...'`` lines (``repr()``, which also makes escapes inert; with ``--logprobs``
each followed by one of mean logprob and perplexity); on a terminal
a streaming run is redrawn in place every :data:`REDRAW_INTERVAL`, piped only the final lines."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any, TextIO

import orjson
from rich.cells import cell_len

from tui_client.cli.streams import escape_json_for
from tui_client.core.protocol import (
    Api,
    Candidate,
    ClientConfig,
    GenerationRequest,
    RunEnded,
    RunState,
    Status,
    VLLMClient,
)
from tui_client.core.protocol.token_facts import logprob_text
from tui_client.core.text.inert_text import make_inert

REDRAW_INTERVAL = 0.05
"""Shortest time between two redraws of the live terminal view (seconds)."""

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
"""Signals that end a run, the text so far printed and saved; the exit status is then
128 + the signal's number (130 for ctrl+c, 143, 129). A second ctrl+c quits at once."""

RECANCEL_INTERVAL = 1.0
"""A run still going this long after its stop signal is cancelled again (seconds): a
cancellation that lands as a read timeout fires can be swallowed below us."""


def candidate_lines(state: RunState, *, logprobs: bool = False) -> list[str]:
    """The example client's lines: prompt + generated text (chat: the reply only); with
    ``logprobs``, each followed by its :func:`logprob_line`."""
    prefix = "" if state.server.api is Api.CHAT else state.request.prompt
    lines = []
    for cand in state.ordered():
        lines.append(f"Beam candidate {cand.index}: {prefix + cand.text!r}")
        if logprobs:
            lines.append(logprob_line(cand))
    return lines


def logprob_line(cand: Candidate) -> str:
    """``  5 tokens, mean logprob -2.836, perplexity 17.05, cumulative logprob -14.18``."""
    mean, perplexity = cand.mean_logprob, cand.perplexity
    if mean is None or perplexity is None or cand.cumulative_logprob is None:
        return "  no logprobs"
    return (f"  {len(cand.token_texts)} tokens, mean logprob {logprob_text(mean)}, perplexity {perplexity:.4g}, "
            f"cumulative logprob {cand.cumulative_logprob:.4g}")


class LiveView:
    """Redraws the candidate lines in place on a terminal, one physical line each; a change
    that comes too soon after a redraw is drawn :data:`REDRAW_INTERVAL` later (the stream may stall)."""

    def __init__(self, out: TextIO, lines_of: Callable[[Any], list[str]] | None = None) -> None:
        self.out = out
        self.lines_of = lines_of or candidate_lines
        """What to draw of the state given (a comparison draws every server's lines)."""
        self.drawn = 0
        self.last = 0.0
        self._later: asyncio.TimerHandle | None = None

    def draw(self, state: Any, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self.last < REDRAW_INTERVAL:
            if self._later is None:
                self._later = asyncio.get_running_loop().call_later(
                    REDRAW_INTERVAL - (now - self.last), self.draw, state)
            return
        self._cancel_later()
        self.last = now
        size = shutil.get_terminal_size()
        width, room = max(size.columns - 1, 20), max(size.lines - 3, 1)
        lines = self.lines_of(state)
        if len(lines) > room:
            lines = lines[: room - 1] + [f"… {len(lines) - room + 1} more candidates"]
        shown = [_fit(line, width) for line in lines]
        self.clear()
        self.out.write("".join(line + "\n" for line in shown))
        self.out.flush()
        self.drawn = len(shown)

    def clear(self) -> None:
        self._cancel_later()
        if self.drawn:
            self.out.write(f"\x1b[{self.drawn}F\x1b[J")
        self.drawn = 0

    def _cancel_later(self) -> None:
        if self._later is not None:
            self._later.cancel()
            self._later = None


def _fit(line: str, width: int) -> str:
    """Cut a line to ``width`` cells, keeping its end (where the text grows)."""
    if cell_len(line) <= width:
        return line
    head = line[: line.index(": ") + 2] if ": " in line else ""
    room = max(width - cell_len(head) - 1, 1)
    tail = line[len(head) :]
    tail = tail[max(len(tail) - room, 0) :]
    while cell_len(tail) > room:  # wide characters take two cells
        tail = tail[1:]
    return head + "…" + tail


@contextlib.contextmanager
def _stop_on_signals(stopped_by: list[int]) -> Iterator[None]:
    """While the run goes, :data:`STOP_SIGNALS` cancel it (noted in ``stopped_by``). Through the
    loop's own handlers: a signal that lands on another thread still wakes the loop."""
    loop, task = asyncio.get_running_loop(), asyncio.current_task()
    installed = []
    going = True

    def cancel_until_stopped() -> None:
        if going and task is not None:
            task.cancel()
            loop.call_later(RECANCEL_INTERVAL, cancel_until_stopped)

    def stop(signum: int) -> None:
        if stopped_by:
            if signum == signal.SIGINT:  # ctrl+c again: do not wait for the run to wind up
                raise KeyboardInterrupt
            return
        stopped_by.append(signum)
        cancel_until_stopped()

    for signum in STOP_SIGNALS:
        try:
            loop.add_signal_handler(signum, stop, signum)
        except (NotImplementedError, RuntimeError, ValueError):  # not the main thread, or no such signal
            continue
        installed.append(signum)
    try:
        yield
    finally:
        going = False
        for signum in installed:
            loop.remove_signal_handler(signum)


def cancelled_status(stopped_by: list[int], err: TextIO) -> int:
    """Say a cancelled run was cancelled (by which signal, but ctrl+c), and its exit status."""
    if stopped_by and stopped_by[0] != signal.SIGINT:
        err.write(f"cancelled by {signal.Signals(stopped_by[0]).name}\n")
        return 128 + stopped_by[0]
    err.write("cancelled\n")
    return 130


def summary(state: RunState) -> str:
    timing = state.timing()
    parts = [f"{len(state.candidates)} candidate(s)", f"{state.server.api.value if state.server.api else '?'}"]
    if state.server.model:
        parts.append(state.server.model)
    if state.usage and state.usage.completion_tokens is not None:
        parts.append(f"{state.usage.completion_tokens} tokens")
    if timing.get("time_to_first_text") is not None:
        parts.append(f"first text {timing['time_to_first_text']:.2f} s")
    parts.append(f"total {timing['total']:.2f} s")
    if timing.get("tokens_per_second"):
        parts.append(f"{timing['tokens_per_second']:.1f} tok/s")
    elif timing.get("chars_per_second"):
        parts.append(f"{timing['chars_per_second']:.0f} chars/s")
    return " · ".join(parts)


async def run_headless(
    config: ClientConfig,
    request: GenerationRequest,
    *,
    json_output: bool = False,
    out: TextIO | None = None,
    err: TextIO | None = None,
    on_end: Callable[[RunState], None] | None = None,
) -> int:
    """Run one generation and print it. Returns the exit status.

    ``on_end`` is called with the ended run before it is printed (the CLI saves it
    to the history)."""
    out = out or sys.stdout
    err = err or sys.stderr
    live = LiveView(out) if (request.stream and not json_output and out.isatty() and os.environ.get("TERM") != "dumb") else None
    if not json_output:
        out.write(f"Prompt: {request.prompt!r}\n\n")
        out.flush()
    state: RunState | None = None
    stopped_by: list[int] = []
    async with VLLMClient(config) as client:
        try:
            with _stop_on_signals(stopped_by):
                async for event in client.generate(request):
                    state = event.state
                    if live is not None and not isinstance(event, RunEnded):
                        live.draw(state)
        except asyncio.CancelledError:
            if state is None:  # cancelled before the server answered
                state = RunState(request, client.describe())
                state.finish(Status.CANCELLED)
    if on_end is not None:
        on_end(state)
    if live is not None:
        live.clear()
    if json_output:
        out.write(escape_json_for(out, orjson.dumps(state.to_json(), option=orjson.OPT_INDENT_2).decode()) + "\n")
    else:
        for line in candidate_lines(state, logprobs=bool(request.params.logprobs)):
            out.write(line + "\n")
    out.flush()
    for note in state.notes:
        err.write(f"note: {make_inert(note, exact=True)}\n")  # notes and errors may quote the server
    if state.status is Status.FAILED and state.error is not None:
        chars = state.total_chars
        kept = (f" ({chars:,} character{' received is' if chars == 1 else 's received are'} printed above)"
                if chars and not json_output else "")
        err.write(f"error: {make_inert(str(state.error), exact=True)}{kept}\n")
        return 1
    if state.status is Status.CANCELLED:
        return cancelled_status(stopped_by, err)
    if err.isatty():
        err.write(summary(state) + "\n")
    return 0
