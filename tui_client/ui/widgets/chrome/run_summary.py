"""One line above the panels: what the run is doing, how fast, and its notes."""

from __future__ import annotations

from collections.abc import Sequence

from rich.style import Style as RichStyle
from textual.content import Content
from textual.style import Style
from textual.widgets import Static

from tui_client.core.protocol import RunState, Status
from tui_client.core.protocol.compare import CompareState
from tui_client.core.text.inert_text import make_inert
from tui_client.ui.textual_compat import NoRelayoutOnVirtualSize

SUMMARY_STATES = ("idle", "waiting", "streaming", "finished", "cancelled", "failed")


def describe_run(state: RunState, *, stream: bool, origin: str | None = None, shared: int | None = None,
                 order: str | None = None) -> str:
    """``✓ finished · 4 candidates · 2.31 s · first text 0.12 s · 312 tok/s · …``.

    ``origin`` leads (``from history #12``); ``shared`` (the divergence view is on) follows
    the candidate count as ``shared prefix 123 chars``, then ``order`` (how the panels are
    sorted, e.g. ``sorted: most likely first``).
    """
    timing = state.timing()
    n = state.request.params.n
    got = len(state.candidates)
    status = state.status
    if status is Status.WAITING:
        head = "◌ waiting for the server" if stream else f"◌ waiting for all {n} candidates (streaming off)"
    elif status is Status.STREAMING:
        head = "▶ streaming"
    elif status is Status.FINISHED:
        head = "✓ finished"
    elif status is Status.CANCELLED:
        head = "■ cancelled (text so far kept)"
    else:
        head = "✗ failed"
    if state.beams:
        parts = [head, f"beam search, width {n}"] + ([f"step {state.beam_step:,}"] if state.beam_step else [])
    else:
        parts = [head, f"{got}/{n} candidates" if got != n else f"{n} candidate{'s' if n != 1 else ''}"]
    if origin:
        parts.insert(0, origin)
    if shared is not None:
        parts.append(f"shared prefix {shared:,} char{'s' if shared != 1 else ''}")
    if order:
        parts.append(order)
    if timing.get("total") is not None:
        parts.append(f"{timing['total']:.2f} s")
    if timing.get("time_to_first_text") is not None:
        parts.append(f"first text {timing['time_to_first_text']:.2f} s")
    if state.beams and state.beam_step > 1 and timing.get("total"):
        parts.append(f"{state.beam_step / timing['total']:.1f} steps/s")  # type: ignore[operator]
    elif timing.get("tokens_per_second"):
        parts.append(f"{timing['tokens_per_second']:,.0f} tok/s")
    elif timing.get("chars_per_second"):
        parts.append(f"{timing['chars_per_second']:,.0f} chars/s")
    usage = state.usage
    if usage is not None and usage.completion_tokens is not None:
        parts.append(f"{usage.prompt_tokens or 0:,} prompt + {usage.completion_tokens:,} generated tokens")
    parts.extend(state.notes)
    return make_inert(" · ".join(parts))


def probability_legend(shades: Sequence[RichStyle], levels: Sequence[float]) -> Content:
    """The probability view's key: each level's label on its own shade (``≥90% … <10%``)."""
    labels = [f"≥{floor * 100:g}%" for floor in levels] + [f"<{levels[-1] * 100:g}%"]
    pieces = [(f" {label} ", Style.from_rich_style(shade)) for label, shade in zip(labels, shades)]
    return Content.assemble(("p ", "bold"), *pieces, " ")


class RunSummary(NoRelayoutOnVirtualSize, Static):
    """Idle hint, or the state of the current/last run. Its height is its rows (one, or one
    per server compared), never its text's: a new text lays nothing out again."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, markup=False)
        self.summary_state = "idle"
        self._text = ""
        self._legend: Content | None = None
        self._rows = 1  # one line per server while comparing

    def show_idle(self, run_key: str) -> None:
        self._set(f"Type a prompt, pick n, press {run_key} to run", "idle")

    def show_state(self, state: RunState, *, stream: bool, origin: str | None = None, shared: int | None = None,
                   legend: Content | None = None, order: str | None = None) -> None:
        """``legend`` (the probability view's key) leads the line."""
        self._set(describe_run(state, stream=stream, origin=origin, shared=shared, order=order), state.status.value,
                  legend)

    def show_compare(self, compare: CompareState, *, origin: str | None = None) -> None:
        """Comparing servers: one line per server (TTFT, tokens/s, finish reasons, or its error)."""
        lines = [make_inert(line) for line in compare.summaries()]
        if origin:
            lines[0] = f"{make_inert(origin)} · {lines[0]}"
        self._set_rows(len(lines))  # once per comparison: a plain run sets it back to 1
        self._set("\n".join(lines), compare.status.value)

    def _set_rows(self, rows: int) -> None:
        if rows != self._rows:
            self._rows = rows
            self.styles.height = rows

    def _set(self, text: str, summary_state: str, legend: Content | None = None) -> None:
        if self._rows != 1 and "\n" not in text:
            self._set_rows(1)
        if text == self._text and summary_state == self.summary_state and legend == self._legend:
            return
        self._text = text
        self._legend = legend
        # One row whatever the text (height: 1 in the CSS): no layout of the screen per frame.
        self.update(legend + Content(text) if legend is not None else Content(text), layout=False)
        if summary_state != self.summary_state:
            self.remove_class(*(f"-{s}" for s in SUMMARY_STATES))
            self.add_class(f"-{summary_state}")
            self.summary_state = summary_state
