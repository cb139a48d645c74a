"""Going on from a candidate in the TUI: what ``enter`` on a panel (continue) or on a token
with an alternative picked (fork) asks for, or why it cannot."""

from __future__ import annotations

from dataclasses import dataclass

from tui_client.core.protocol import Api, GenerationRequest, RunState
from tui_client.core.protocol.continuation import ParentLink, continue_from, fork_at
from tui_client.ui.widgets.controls.conversation import Source

__all__ = ["GoOn", "plan_go_on"]


@dataclass(frozen=True)
class GoOn:
    """The next run's prompt and turns, where it comes from, and whether it starts at once
    (chat continue: no, the user types the next turn first)."""

    request: GenerationRequest
    source: Source
    run_now: bool


def plan_go_on(state: RunState | None, index: int, *, fork: tuple[int, str] | None = None,
               next_api: Api | None = None) -> GoOn | str:
    """Go on from candidate ``index`` of ``state``; ``fork``: (character offset, alternative text);
    ``next_api``: the API the next run uses (None: not known). A string says why not."""
    cand = state.candidates.get(index) if state is not None else None
    if state is None or cand is None:
        return "Nothing to go on from yet: run first"
    if not cand.status.done:
        return f"Candidate {index} is still being written: wait for it to end (escape stops the run)"
    chat = state.server.api is Api.CHAT
    if next_api is not None and state.server.api is not None and chat != (next_api is Api.CHAT):
        return (f"Candidate {index} came from the {state.server.api.value} API and the next run uses "
                f"{next_api.value}: switch the API back to {state.server.api.value} to go on from it")
    if fork is not None:
        offset, alternative = fork
        link = ParentLink(state, index, offset)
        request = fork_at(state.request, cand.text, offset, alternative, chat=chat)
        run_now = True
    else:
        if not cand.text:
            return f"Candidate {index} has no text to go on from"
        link = ParentLink(state, index)
        request = continue_from(state.request, cand.text, chat=chat)
        run_now = not chat
    return GoOn(request, link.resolve() or link, run_now)
