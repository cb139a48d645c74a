"""F5: the server, like a compact ``nvtop``: version, models, load, and the last minute of it.

It shows what :class:`~tui_client.ui.server_polling.ServerPolling` hands it (refreshed every
couple of seconds while it is open); a source the server lacks is named with why, once, in the
status line. ``r`` asks again at once, also what was given up on (a ``/metrics`` that 404'd).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, ClassVar

from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Sparkline, Static

from tui_client.core.defaults import SERVER_HISTORY_SECONDS
from tui_client.core.protocol.server_facts import ServerFacts
from tui_client.core.text.inert_text import make_inert
from tui_client.ui.keys import bindings_for

if TYPE_CHECKING:
    from tui_client.core.protocol.server_facts import Sample
    from tui_client.ui.server_polling import ServerPolling

MISSING_WHAT = {"version": "version", "models": "model list", "metrics": "load (requests, KV cache, tokens/s)"}


def _count(value: float | None) -> str:
    return "?" if value is None else f"{value:,.0f}"


def _rate(value: float | None) -> str:
    return "?" if value is None else f"{value:,.1f}"


def _padded(values: list[float], width: int | None) -> list[float]:
    return [0.0] * max(0, (width or 0) - len(values)) + values


class ServerScreen(Screen[None]):
    """The server panel; escape or F5 closes it, ``r`` refreshes now."""

    BINDINGS: ClassVar[list[BindingType]] = bindings_for("server")
    CSS_PATH = "server_screen.tcss"

    def __init__(self, polling: ServerPolling) -> None:
        super().__init__()
        self.polling = polling
        self.facts: ServerFacts | None = None
        self.refreshes = 0
        """How many sets of facts it has shown (the tests wait on it)."""

    def compose(self) -> ComposeResult:
        with Vertical(id="server-panel"):
            yield Static(Content("Server"), id="server-title")
            yield Static(Content("asking the server…"), id="server-status")
            with Horizontal(id="server-numbers"):
                yield Static(id="server-gauges")
                yield Static(id="server-rates")
            yield Static(id="tps-label", classes="spark-label")
            yield Sparkline([], id="tps-spark")
            yield Static(id="kv-label", classes="spark-label")
            yield Sparkline([], id="kv-spark")
            yield Static(Content("Models"), id="models-title")
            yield DataTable(id="server-models", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#server-models", DataTable)
        table.add_columns("model", "root", "max_model_len", "LoRA of")
        self.show(self.polling.watch.facts if self.polling.watch is not None else None,
                  tuple(self.polling.watch.samples) if self.polling.watch is not None else ())
        self.polling.opened(self)

    def on_unmount(self) -> None:
        self.polling.closed()

    def action_refresh(self) -> None:
        """Ask every source again now (a manual refresh also retries what was given up on)."""
        self.query_one("#server-status", Static).update(Content("asking the server again…"))
        self.polling.ask(manual=True)

    def show(self, facts: ServerFacts | None, samples: Sequence[Sample]) -> None:
        """Show the facts of the latest refresh (None: nothing known yet)."""
        if not self.is_mounted:
            return
        self.facts = facts
        if facts is not None:
            self.refreshes += 1
        self._show_title(facts)
        self._show_status(facts)
        self._show_numbers(facts)
        self._show_sparklines(facts, samples)
        self._show_models(facts)

    def show_problem(self, message: str) -> None:
        """Nothing can be asked (the URL or the key cannot be used): say why."""
        if self.is_mounted:
            status = self.query_one("#server-status", Static)
            status.add_class("-unreachable")
            status.update(Content(make_inert(f"✗ {message}")))

    def _show_title(self, facts: ServerFacts | None) -> None:
        parts: list[tuple[str, str] | str] = [("Server", "bold")]
        if facts is not None:
            parts += ["  ", (f"vLLM {make_inert(facts.version)}" if facts.version else "version ?", "bold $accent"),
                      "  ", make_inert(facts.url), "  ", (facts.api or "protocol ?", "$text-accent")]
        self.query_one("#server-title", Static).update(Content.assemble(*parts))

    def _show_status(self, facts: ServerFacts | None) -> None:
        status = self.query_one("#server-status", Static)
        if facts is None:
            status.update(Content("asking the server…"))
            return
        status.set_class(not facts.reachable, "-unreachable")
        status.set_class(bool(facts.missing) and facts.reachable, "-missing")
        if not facts.reachable:
            status.update(Content(make_inert(f"✗ {facts.unreachable}")))
        elif facts.missing:
            lines = [f"no {MISSING_WHAT[name]}: {make_inert(reason)}" for name, reason in facts.missing.items()]
            status.update(Content("\n".join(lines) + f"\n(r asks again; refreshing every {self.polling.interval:g} s)"))
        else:
            status.update(Content(f"● answering: version, models and /metrics (every {self.polling.interval:g} s)"))

    def _show_numbers(self, facts: ServerFacts | None) -> None:
        metrics = facts.metrics if facts is not None else None
        gauges, rates = self.query_one("#server-gauges", Static), self.query_one("#server-rates", Static)
        if metrics is None:
            gauges.update(Content.styled("no load figures (no /metrics)", "$text-muted"))
            rates.update(Content(""))
            return
        kv = "?" if metrics.kv_cache is None else f"{metrics.kv_cache * 100:.1f}%"
        engines = f"  ({metrics.engines} engines)" if metrics.engines > 1 else ""
        gauges.update(Content.assemble(
            ("running  ", "$text-muted"), (_count(metrics.running), "bold"), "\n",
            ("waiting  ", "$text-muted"), (_count(metrics.waiting), "bold"), "\n",
            ("KV cache ", "$text-muted"), (kv, "bold"), engines,
        ))
        moved = facts.rates if facts is not None else None
        preempted = "" if moved is None or not moved.preemptions else f"  (+{moved.preemptions:g})"
        rates.update(Content.assemble(
            ("prompt     ", "$text-muted"), (_rate(moved.prompt_tps if moved else None), "bold"), " tok/s   ",
            ("total ", "$text-muted"), _count(metrics.prompt_tokens), "\n",
            ("generation ", "$text-muted"), (_rate(moved.generation_tps if moved else None), "bold"), " tok/s   ",
            ("total ", "$text-muted"), _count(metrics.generation_tokens), "\n",
            ("preemptions ", "$text-muted"), (_count(metrics.preemptions), "bold"), preempted,
        ))

    def _show_sparklines(self, facts: ServerFacts | None, samples: Sequence[Sample]) -> None:
        tps = [s.generation_tps for s in samples if s.generation_tps is not None]
        kv = [s.kv_cache_perc for s in samples if s.kv_cache_perc is not None]
        span = f"last {SERVER_HISTORY_SECONDS:g} s"
        peak = f", peak {max(tps):,.0f}" if tps else ""
        self.query_one("#tps-label", Static).update(Content(f"generation tok/s ({span}{peak})"))
        kv_peak = f", peak {max(kv):.0f}%" if kv else ""
        self.query_one("#kv-label", Static).update(Content(f"KV cache usage % ({span}{kv_peak})"))
        # Padded on the left to the whole span, so a point is always as wide (newest on the right);
        # each line is scaled to its own peak (in its label).
        width = self.polling.watch.samples.maxlen if self.polling.watch is not None else None
        self.query_one("#tps-spark", Sparkline).data = _padded(tps, width)
        self.query_one("#kv-spark", Sparkline).data = _padded(kv, width)

    def _show_models(self, facts: ServerFacts | None) -> None:
        table = self.query_one("#server-models", DataTable)
        cards = facts.models if facts is not None else ()
        rows = [(make_inert(c.id), make_inert(c.root or ""), "" if c.max_model_len is None else str(c.max_model_len),
                 make_inert(c.parent or "")) for c in cards]
        if rows == [tuple(str(cell) for cell in table.get_row_at(i)) for i in range(table.row_count)]:
            return  # unchanged: keep the cursor where it is
        table.clear()
        for row in rows:
            table.add_row(*row)
