"""The command palette's entries for the main view (ctrl+p), after Textual's own.

Built as :class:`~textual.app.SystemCommand` entries, so the palette shows them exactly as
before and tests find them through ``app.get_system_commands``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from textual.app import SystemCommand

from tui_client.ui.widgets.candidates.panel import CandidatePanel

if TYPE_CHECKING:
    from tui_client.ui.main_screen import MainScreen


def main_commands(main: MainScreen) -> Iterator[SystemCommand]:
    """Run, cancel, reconnect, controls, help, copy, divergence, probabilities, sort, history, server, export, and
    switching the API and model, in that order."""
    state = main.app.run_state
    yield SystemCommand("Run", "Generate the candidates (ctrl+j)", main.action_run)
    if main.running:
        yield SystemCommand("Cancel run", "Stop the running generation, keep its text", main.action_cancel)
    yield SystemCommand("Reconnect", "Check the server again", main.action_reconnect)
    yield SystemCommand("Toggle controls", "Hide or show the controls column", main.action_toggle_controls)
    yield SystemCommand("Help: keys", "List every key", main.action_help)
    for panel in main.grid.panels:
        if panel.raw_text:
            yield SystemCommand(f"Copy candidate {panel.index}", "Copy its text to the clipboard", panel.action_copy,
                                discover=False)
    if state is not None and state.candidates:
        yield SystemCommand("Copy all candidates", "Every candidate's text, with headers (C)", main.action_copy_all)
    on = "on" if main.marks.marking else "off"
    yield SystemCommand(f"Divergence: highlight where candidates differ ({on})",
                        "Dim the shared prefix, highlight each candidate's first unique word (d)",
                        main.action_divergence)
    on = "on" if main.marks.tails else "off"
    yield SystemCommand(f"Divergence: only the differing tails ({on})",
                        "Hide the prefix every candidate shares (t)", main.action_tails)
    on = "on" if main.grid.probability_view else "off"
    yield SystemCommand(f"Probability view: shade tokens by probability ({on})",
                        "Each token's background by how probable it was; runs with logprobs (p)",
                        main.action_probabilities)
    focused = main.focused
    if isinstance(focused, CandidatePanel) and focused.token_count:
        yield SystemCommand(f"Inspect candidate {focused.index}'s tokens",
                            "Probability, rank and alternatives of each token (i)", focused.action_inspect)
    on = "on" if main.order.likely else "off"
    yield SystemCommand(f"Sort: most likely first ({on})",
                        "Order the panels by mean token logprob, or by index again (s)", main.action_sort)
    yield SystemCommand("History", "Browse, search, load, re-run or delete past runs (F2)", main.action_history)
    yield SystemCommand("Server: version, models, load", "vLLM version, models and max_model_len, requests, KV cache, "
                        "tokens/s (F5)", main.action_server)
    if state is not None and state.candidates:
        yield SystemCommand("Export run as JSON", "Write tui-client-run-….json in the current directory",
                            lambda: main.action_export("json"))
        yield SystemCommand("Export run as Markdown", "Write tui-client-run-….md in the current directory",
                            lambda: main.action_export("md"))
    yield from main.switch.commands()
    yield from main.compare.commands()
