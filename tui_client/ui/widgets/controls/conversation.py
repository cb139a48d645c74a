"""Above the prompt in chat: the conversation so far, one line per turn, cut back from the end."""

from __future__ import annotations

from pathlib import Path

from textual.content import Content
from textual.widgets import Static

from tui_client.core.protocol import Parent, Turn
from tui_client.core.protocol.continuation import ParentLink
from tui_client.core.text.inert_text import make_inert

__all__ = ["ConversationView", "Source", "turn_line"]

Source = ParentLink | Parent | None
"""Where an assistant turn came from: a run not saved yet (a link), a saved one, or nowhere known."""

SHOWN_TURNS = 6
"""The last turns listed; earlier ones are counted."""
LINE_CHARS = 200
"""A turn's line is cut here (the widget crops it to its width)."""


def turn_line(turn: Turn) -> Content:
    """``you  Hi there`` / ``model  The mass of men…``: one line, inert."""
    text = " ".join(make_inert(turn.content[:LINE_CHARS], tab_size=1).replace("\n", " ⏎ ").split())
    who = "you  " if turn.role == "user" else "model"
    return Content.assemble((who, "bold $text-accent" if turn.role == "user" else "bold $text-success"), " ",
                            text or ("(empty)", "$text-muted"))


class ConversationView(Static):
    """The chat turns the next run sends before the prompt; hidden while there are none.

    Each assistant turn remembers the run and candidate it came from (:attr:`parent`)."""

    DEFAULT_CSS = Path(__file__).with_name("conversation.tcss").read_text()

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, markup=False)
        self._turns: tuple[Turn, ...] = ()
        self._sources: tuple[Source, ...] = ()  # per turn: where an assistant turn came from
        self.border_title = "Conversation"
        self.display = False
        self._for_api = True

    @property
    def shown_for_api(self) -> bool:
        """False while the next run's API is not chat: the turns are kept, hidden (and not sent)."""
        return self._for_api

    @shown_for_api.setter
    def shown_for_api(self, shown: bool) -> None:
        if shown != self._for_api:
            self._for_api = shown
            self.display = bool(self._turns) and shown

    @property
    def turns(self) -> tuple[Turn, ...]:
        return self._turns

    @property
    def sources(self) -> tuple[Source, ...]:
        return self._sources

    @property
    def source(self) -> Source:
        """Where the last assistant turn came from."""
        for turn, source in zip(reversed(self._turns), reversed(self._sources)):
            if turn.role == "assistant":
                return source
        return None

    def set_turns(self, turns: tuple[Turn, ...], sources: tuple[Source, ...] | None = None) -> None:
        self._turns = turns
        self._sources = sources if sources is not None and len(sources) == len(turns) else (None,) * len(turns)
        self._show()

    def cut(self) -> str | None:
        """Drop the last exchange (the last assistant turn and the user turn before it); the user turn's text."""
        turns, sources = list(self._turns), list(self._sources)
        if not turns:
            return None
        user_text = None
        if turns[-1].role == "assistant":
            turns.pop(), sources.pop()
        if turns and turns[-1].role == "user":
            user_text = turns.pop().content
            sources.pop()
        self.set_turns(tuple(turns), tuple(sources))
        return user_text

    def _show(self) -> None:
        turns = self._turns
        self.display = bool(turns) and self._for_api
        if not turns:
            self.update("")
            return
        lines = [turn_line(turn) for turn in turns[-SHOWN_TURNS:]]
        if len(turns) > SHOWN_TURNS:
            earlier = len(turns) - SHOWN_TURNS
            lines.insert(0, Content(f"… {earlier} earlier turn{'s' if earlier != 1 else ''}").stylize("$text-muted"))
        self.update(Content("\n").join(lines))
        self.border_subtitle = f"{len(turns)} turn{'s' if len(turns) != 1 else ''}"
