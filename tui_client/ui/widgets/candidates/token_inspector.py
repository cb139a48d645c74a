"""Below the panels while a panel's token cursor is on (``i``): the token under the cursor,
how probable it was, its rank and the alternatives the server sent, and, in the divergence
view, each candidate's token where the candidates part."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path

from textual.content import Content
from textual.widgets import Static

from tui_client.core.protocol import Candidate
from tui_client.core.protocol.token_facts import TokenFacts, logprob_text, percent, token_facts
from tui_client.core.text.inert_text import make_inert

__all__ = ["TokenInspector", "describe_token", "fork_choices", "quoted"]

PartingToken = tuple[int, TokenFacts | None]
"""At the divergence point: a candidate's index and its token there (None: it has none)."""


def quoted(token: str) -> str:
    """A token as the inspector writes it: quoted, escapes visible (``" a"``, ``"\\n"``), inert."""
    return make_inert(json.dumps(token, ensure_ascii=False))


def fork_choices(facts: TokenFacts) -> list[int]:
    """The alternatives one can fork with: every one but the token itself."""
    return [i for i, (alt, probability) in enumerate(facts.alternatives)
            if not (alt == facts.text and math.isclose(probability, facts.probability))]


def describe_token(label: str, facts: TokenFacts, *, parting: Sequence[PartingToken] = (),
                   parted_at: int | None = None, keys: str = "", chosen: int | None = None) -> Content:
    """The inspector's lines for ``facts`` (of ``label``, e.g. ``Candidate 0``)."""
    if facts.rank is not None:
        rank = f"rank {facts.rank} of {facts.shown + 1}"
    elif facts.shown:
        rank = f"not in the top {facts.shown}"
    else:
        rank = "no alternatives sent"
    logprob = "no logprob" if facts.logprob != facts.logprob else f"logprob {logprob_text(facts.logprob)}"
    head = Content.assemble(
        (label, "bold"), f" · token {facts.index + 1:,} of {facts.count:,} · ",
        (quoted(facts.text) if facts.text else "(end of sequence: no text)", "bold $text-accent"), " · ",
        (percent(facts.probability), "bold"), f" · {rank} · {logprob}",
        (f" · at char {facts.offset:,} · cumulative {logprob_text(facts.cumulative)}", "$text-muted"),
    )
    lines = [head]
    if facts.alternatives:
        pieces: list[Content | str | tuple[str, str]] = [("alternatives ", "$text-muted")]
        for i, (alt, probability) in enumerate(facts.alternatives):
            own = alt == facts.text and math.isclose(probability, facts.probability)
            if i == chosen:
                pieces += [" ", ("▸" + quoted(alt) + f" {percent(probability)}", "bold reverse $text-accent")]
            else:
                pieces += ["  ", (quoted(alt), "bold $text-accent" if own else "$text-accent"), f" {percent(probability)}"]
        lines.append(Content.assemble(*pieces))
    if parting and parted_at is not None:
        pieces = [(f"where they part (after {parted_at:,} shared char{'s' if parted_at != 1 else ''}) ", "$text-muted")]
        for index, there in parting:
            pieces.append(f"  C{index} ")
            if there is None:
                pieces.append(("(ended)", "$text-muted"))
            else:
                pieces += [(quoted(there.text) if there.text else "(end)", "$text-accent"), f" {percent(there.probability)}"]
        lines.append(Content.assemble(*pieces))
    if keys:
        lines.append(Content(keys).stylize("$text-muted"))
    return Content("\n").join(lines)


class TokenInspector(Static):
    """Hidden until a panel's token cursor opens; :meth:`show_token` fills it."""

    DEFAULT_CSS = Path(__file__).with_name("token_inspector.tcss").read_text()

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, markup=False)
        self.display = False
        self._shown: Content | None = None
        self.facts: TokenFacts | None = None
        """What the inspector shows now (None: closed)."""
        self.chosen: int | None = None
        """The alternative picked to fork with (an index into ``facts.alternatives``)."""
        self._where: tuple[int, int] | None = None  # (id of the candidate, token index) the choice is for
        self._last: tuple[str, Candidate, int, int | None, Sequence[PartingToken], int | None, str] | None = None

    def show_token(self, label: str, cand: Candidate, index: int, *, k: int | None = None,
                   parting: Sequence[PartingToken] = (), parted_at: int | None = None, keys: str = "") -> None:
        """Token ``index`` of ``cand`` (``k``: the alternatives the run asked for)."""
        self._last = (label, cand, index, k, parting, parted_at, keys)
        self.facts = token_facts(cand, index, k)
        if self._where != (id(cand), index):  # another token: the most likely other choice is picked
            self._where = (id(cand), index)
            choices = fork_choices(self.facts)
            self.chosen = choices[0] if choices else None
        content = describe_token(label, self.facts, parting=parting, parted_at=parted_at, keys=keys,
                                 chosen=self.chosen)
        if content != self._shown:
            self._shown = content
            self.update(content)
        self.display = True

    def pick(self, step: int) -> bool:
        """Pick the next (or previous) alternative to fork with; False when there is none to pick."""
        if self.facts is None or self._last is None:
            return False
        choices = fork_choices(self.facts)
        if not choices:
            return False
        at = choices.index(self.chosen) if self.chosen in choices else -step
        self.chosen = choices[(at + step) % len(choices)]
        label, cand, index, k, parting, parted_at, keys = self._last
        self.show_token(label, cand, index, k=k, parting=parting, parted_at=parted_at, keys=keys)
        return True

    @property
    def chosen_alternative(self) -> str | None:
        """The text of the alternative picked (None: none)."""
        if self.facts is None or self.chosen is None or self.chosen >= len(self.facts.alternatives):
            return None
        return self.facts.alternatives[self.chosen][0]

    def close(self) -> None:
        self.facts = None
        self._where = self._last = None
        self.display = False
