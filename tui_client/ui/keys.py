"""Every key binding of the TUI as data: one table, by the place the keys work.

Each class takes its ``BINDINGS`` from here (``bindings_for("candidate")``); the binding ids
are what the config file's ``[keys]`` remaps, so they never change. The help screen lists the
keys from the classes' bindings, the keymap applied.
"""

from __future__ import annotations

import functools
import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from textual.app import App
from textual.binding import Binding, BindingType
from textual.keys import KEY_ALIASES, Keys

from tui_client.ui.textual_compat import app_keymap, character_key_name

__all__ = [
    "KEYS", "MODIFIERS", "Key", "bindings_for", "bindings_with_keymap", "help_sections", "key_of", "keymap_problems",
    "keys_problem", "known_binding_ids",
]

MODIFIERS = ("ctrl", "shift", "alt", "meta", "super", "hyper")
"""What may precede a key name, joined by ``+`` (``ctrl+shift+f5``)."""


@dataclass(frozen=True)
class Key:
    """One binding: its id (remappable), keys, action and what the footer and the help say."""

    id: str
    keys: str
    action: str
    description: str
    tooltip: str = ""
    show: bool = True
    priority: bool = False

    def binding(self) -> Binding:
        return Binding(self.keys, self.action, self.description, show=self.show, priority=self.priority,
                       tooltip=self.tooltip, id=self.id)


KEYS: dict[str, tuple[Key, ...]] = {
    # The main screen (ids keep their "app." prefix: users' config files remap them by id).
    "main": (
        Key("app.run", "ctrl+j,ctrl+enter", "run", "Run",
            "Start a run with the prompt and settings (cancels a running one)", priority=True),
        Key("app.cancel", "escape", "cancel", "Cancel", "Stop the running generation; text so far is kept"),
        Key("app.reconnect", "ctrl+r", "reconnect", "Reconnect", "Check the server again",
            show=False),  # (the banner says it when the server is unreachable)
        Key("app.switch_pane", "ctrl+o", "switch_pane", "Panels",
            "Move focus between the prompt and the candidate panels"),
        Key("app.toggle_controls", "ctrl+b", "toggle_controls", "Controls",
            "Hide or show the controls column (more room for panels)"),
        Key("app.help", "f1,question_mark", "help", "Help", "List every key"),
        Key("app.divergence", "d,f3", "divergence", "Divergence",
            "Dim the prefix all candidates share; highlight where each one differs from all others"),
        Key("app.tails", "t,f4", "tails", "Tails",
            "Show only the differing tails (hide the shared prefix in every panel)", show=False),
        Key("app.probabilities", "p", "probabilities", "Probabilities",
            "Shade every token by how probable it was (runs with logprobs)"),
        Key("app.sort", "s", "sort", "Sort",
            "Order the panels most likely first (mean token logprob; needs logprobs), or by index again"),
        Key("app.history", "f2", "history", "History", "Browse, search, load, re-run or delete past runs"),
        Key("app.server", "f5", "server", "Server",
            "The server: version, models, requests, KV cache, tokens/s", show=False),
        Key("app.cut_turn", "ctrl+l", "cut_turn", "Cut turn",
            "Chat: drop the conversation's last exchange (your turn goes back into the prompt)", show=False),
        Key("app.new_chat", "ctrl+n", "new_chat", "New chat", "Chat: forget the conversation so far", show=False),
        Key("app.export_markdown", "ctrl+s", "export('md')", "Export md",
            "Export the run as Markdown to a file in the current directory", show=False),
        Key("app.export_json", "ctrl+t", "export('json')", "Export JSON",
            "Export the run as JSON to a file in the current directory", show=False),
        Key("app.copy_all", "C", "copy_all", "Copy all", "Copy every candidate's text, with headers", show=False),
        Key("app.compare_across", "x", "compare_across", "Across",
            "Comparing servers: candidate 0 of each server side by side", show=False),
    ),
    "candidate": (
        Key("candidate.copy", "c", "copy", "Copy"),
        Key("candidate.inspect", "i", "inspect", "Tokens",
            "Inspect the tokens: probability, rank and alternatives of the one under the cursor "
            "(left/right: token, up/down: line, escape: close)"),
        # While the token cursor is on (else these keys do what the rows below say).
        Key("candidate.token_next", "right", "token_step(1)", "Next token", show=False),
        Key("candidate.token_previous", "left", "token_step(-1)", "Previous token", show=False),
        Key("candidate.close_tokens", "escape", "close_tokens", "Close tokens", show=False),
        Key("candidate.continue", "enter", "go_on", "Continue",
            "Run again from the prompt + this candidate's text (chat: it becomes the model's turn, "
            "then type your reply)"),
        Key("candidate.fork", "enter", "fork", "Fork",
            "With the token cursor on: run from the text up to that token + the alternative picked", show=False),
        Key("candidate.alternative", "a", "alternative(1)", "Next alternative",
            "With the token cursor on: pick the next alternative to fork with", show=False),
        Key("candidate.alternative_previous", "A", "alternative(-1)", "Previous alternative", show=False),
        Key("candidate.maximize", "m", "toggle_maximize", "Maximize",
            "Show this candidate alone, full screen (m or escape to go back)"),
        Key("candidate.next", "right,]", "neighbour(1)", "Next panel", show=False),
        Key("candidate.previous", "left,[", "neighbour(-1)", "Previous panel", show=False),
        Key("candidate.follow", "end", "follow", "Follow end", show=False),
    ),
    "nslider": (
        Key("nslider.less", "left,minus", "step(-1)", "Less"),
        Key("nslider.more", "right,plus", "step(1)", "More"),
        Key("nslider.page_less", "pagedown", "page(-1)", "Page-"),
        Key("nslider.page_more", "pageup", "page(1)", "Page+"),
        Key("nslider.minimum", "home", "to_minimum", "Min"),
        Key("nslider.maximum", "end", "to_maximum", "Max"),
    ),
    "history": (
        Key("history.close", "escape", "close", "Back", "Back to the app"),
        Key("history.rerun", "r", "choose('rerun')", "Re-run", "Run it again now, same parameters"),
        Key("history.edit", "e", "choose('edit')", "Edit",
            "Put its prompt and parameters in the controls, to edit before running"),
        Key("history.delete", "delete,x", "delete", "Delete", "Delete the run (asks first)"),
        Key("history.search", "slash,ctrl+f", "search", "Search", "Search prompts and candidate texts"),
        Key("history.parent", "p", "parent", "Parent", "Go to the run this one was continued or forked from"),
        Key("history.child", "c", "child", "Child", "Go to the first run continued or forked from this one"),
    ),
    "history.table": (
        Key("history.load", "enter", "select_cursor", "Load", "Load the run into the panels (read-only)"),
    ),
    "help": (
        Key("help.close", "escape,f1,question_mark,q", "dismiss", "Close"),
    ),
    "server": (
        Key("server.close", "escape,f5", "dismiss", "Back", "Back to the app"),
        Key("server.refresh", "r", "refresh", "Refresh",
            "Ask the server again now, also what it lacked (a /metrics that answered 404)"),
    ),
    "confirm": (
        Key("confirm.yes", "y", "answer(True)", "Yes"),
        Key("confirm.no", "n,escape", "answer(False)", "No"),
    ),
    "compare_url": (
        Key("compare_url.cancel", "escape", "cancel", "Cancel", "Back to the app, comparing nothing more"),
    ),
    "compare_across": (
        Key("compare_across.close", "escape,x,q", "dismiss", "Close", "Back to the panels"),
    ),
}
"""Every binding, by place: the main screen, a candidate panel, the n slider, the history
screen and its run table, the help screen, the yes/no dialog, the server panel, the compare
screens (a server's URL; candidate 0 of each server)."""


def bindings_for(place: str) -> list[BindingType]:
    """The ``BINDINGS`` of the class whose keys are ``KEYS[place]``."""
    return [key.binding() for key in KEYS[place]]


def known_binding_ids() -> set[str]:
    """Every binding id the TUI defines (what the config file's ``[keys]`` may remap)."""
    return {key.id for keys in KEYS.values() for key in keys}


@functools.cache
def _key_names() -> frozenset[str]:
    """Textual's key names: those of ``textual.keys`` and of each printable ASCII character."""
    names = {key.value.rpartition("+")[2] for key in Keys} | set(KEY_ALIASES)
    names |= {character_key_name(char) for char in string.printable if char.isprintable()}
    return frozenset(names)


def keys_problem(keys: str) -> str | None:
    """Why ``keys`` (a ``[keys]`` value: key names, comma-separated) cannot be bound; None when it can.

    A key is modifiers (:data:`MODIFIERS`) and a name, joined by ``+``: a name of ``textual.keys``
    (``f5``, ``enter``, ``question_mark``) or one printable character."""
    for key in keys.split(","):
        key = key.strip()
        if not key:
            return "an empty key (a comma at an end, or two in a row; the comma key is `comma`)"
        *modifiers, name = key.split("+")
        for modifier in modifiers:
            if modifier not in MODIFIERS:
                return f"{key!r}: {modifier!r} is not a modifier (one of {', '.join(MODIFIERS)})"
        if len(set(modifiers)) < len(modifiers):
            return f"{key!r}: a modifier given twice"
        if name not in _key_names() and not (len(name) == 1 and name.isprintable() and not name.isspace()):
            return (f"{key!r}: {name!r} is not a key name (such as f5, enter, escape, up, space, a, "
                    "question_mark: the names of textual.keys, or one character)")
    return None


def keymap_problems(keymap: Mapping[str, str]) -> dict[str, str]:
    """Each binding id of ``keymap`` whose keys cannot be bound, with why (see :func:`keys_problem`)."""
    return {binding: problem for binding, keys in keymap.items() if (problem := keys_problem(keys)) is not None}


def bindings_with_keymap(app: App[Any], bindings: Iterable[BindingType]) -> list[Binding]:
    """``bindings`` with the keys the keymap (config ``[keys]``) gives their ids."""
    keymap = app_keymap(app)
    out: list[Binding] = []
    remapped: set[str] = set()
    for binding in Binding.make_bindings(bindings):
        keys = keymap.get(binding.id) if binding.id else None
        if keys is None:
            out.append(binding)
        elif binding.id not in remapped:
            remapped.add(binding.id)  # type: ignore[arg-type]
            out += [binding.with_key(key.strip(), key_display=None) for key in keys.split(",") if key.strip()]
    return out


def key_of(app: App[Any], bindings: Iterable[BindingType], action: str) -> str:
    """How the first key bound to ``action`` is displayed (e.g. ``^j``), keymap applied."""
    for binding in bindings_with_keymap(app, bindings):
        if binding.action == action:
            return app.get_key_display(binding)
    return action


def help_sections(app: App[Any], history_key: str) -> list[tuple[str, list[tuple[str, ...]]]]:
    """The help screen's key list, by where the keys work: the table's rows, keymap applied,
    and the keys that Textual's widgets bring (described here)."""

    def rows(place: str, *, skip: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
        grouped: dict[str, list[str]] = {}
        descriptions: dict[str, tuple[str, str]] = {}
        for binding in bindings_with_keymap(app, bindings_for(place)):
            if binding.action in skip:
                continue
            grouped.setdefault(binding.action, []).append(app.get_key_display(binding))
            descriptions[binding.action] = (binding.tooltip or binding.description, binding.id or "")
        return [(" / ".join(keys), *descriptions[action]) for action, keys in grouped.items()]

    return [
        ("Anywhere", [
            *rows("main"),
            ("tab / shift+tab", "Next / previous control: prompt, n, stream, fields, panels"),
            ("^p", "Command palette (every action, themes)"),
            ("^q", "Quit"),
        ]),
        ("Prompt", [
            ("enter", "New line (the prompt may span lines)"),
            ("^a / ^e", "Start / end of line"),
            ("^z / ^y", "Undo / redo"),
        ]),
        ("n slider", rows("nslider")),
        ("Candidate panels", [
            ("up / down", "Scroll a line (token cursor on: the token a line up / down)"),
            ("pageup / pagedown", "Scroll a page"),
            ("home", "Top of the text (stops following the end)"),
            *rows("candidate"),
            ("click", "Focus a panel; wheel scrolls it"),
        ]),
        ("History (" + history_key + ")", [
            *rows("history.table"),
            *rows("history"),
            ("down / enter", "From the search field to the list"),
        ]),
        ("Server panel", rows("server")),
    ]
