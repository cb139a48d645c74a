"""Going on from a candidate: continue its text, or fork it at a token with another choice.

A completions or ``/generate`` run goes on from ``prompt + text``. A chat run makes the text
the assistant's turn: the next run sends the conversation so far, then the next user turn,
or (no next turn) asks the model to go on with that reply (vLLM's ``continue_final_message``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from tui_client.core.protocol.params import GenerationRequest, Parent, Turn
from tui_client.core.protocol.state import RunState

__all__ = ["ParentLink", "continue_from", "fork_at"]


@dataclass(frozen=True)
class ParentLink:
    """A run gone on from: its state (whose history id may come later: it is saved in the
    background), the candidate and where in its text (None: all of it)."""

    state: RunState
    candidate: int
    offset: int | None = None

    def resolve(self) -> Parent | None:
        """The parent as the history names it; None while the run has no history id."""
        run = self.state.history_id
        return Parent(run, self.candidate, self.offset) if run is not None else None


def continue_from(request: GenerationRequest, text: str, *, chat: bool, next_turn: str = "",
                  parent: Parent | None = None) -> GenerationRequest:
    """The request that goes on from ``text``, a candidate of ``request``.

    Chat: ``next_turn`` is the user's next message (empty: the model goes on with its reply).
    Otherwise ``next_turn`` is appended to the text.
    """
    if not chat:
        return replace(request, prompt=request.prompt + text + next_turn, turns=(), parent=parent)
    if request.continues_reply:  # the candidate went on with the last reply: it is that reply, longer
        last = request.turns[-1]
        turns = (*request.turns[:-1], Turn("assistant", last.content + text))
    else:
        turns = (*request.turns, Turn("user", request.prompt), Turn("assistant", text))
    return replace(request, prompt=next_turn, turns=turns, parent=parent)


def fork_at(request: GenerationRequest, text: str, offset: int, alternative: str, *, chat: bool,
            parent: Parent | None = None) -> GenerationRequest:
    """The request that goes on from ``text[:offset] + alternative``: another choice at a token
    (chat: inside the reply, which the model then goes on with)."""
    return continue_from(request, text[:offset] + alternative, chat=chat, parent=parent)
