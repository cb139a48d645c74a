"""Where n candidate texts stop agreeing: a shared prefix, and per candidate where it departs.

For two texts, their *mismatch* is the first offset where both have a character and
the characters differ; a text that is a prefix of the other has no mismatch with it
(yet: the shorter one may still grow). Per candidate:

- ``departs_at``: its first mismatch with any other candidate (it no longer says
  what all the others say), None while it has none;
- ``unique_at``: its last mismatch once it has one with every other candidate (from
  there on nobody says what it says), None until then.

Both offsets are snapped back to the start of the word they fall in. While streaming,
:class:`DivergenceTracker` is called once per frame with the current texts: texts
that only grew are compared on their new suffix only, and a pair of candidates is
never compared again once it has a mismatch (that offset cannot change any more).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = ["MAX_WORD", "DivergenceTracker", "DivergenceView", "compute_divergence", "is_word", "word_end", "word_start"]


@dataclass(frozen=True)
class DivergenceView:
    """One frame's answer. ``comparable`` is False with fewer than two candidates
    (then nothing departs and ``shared_prefix_len`` is 0)."""

    shared_prefix_len: int = 0  # characters every text starts with (not snapped)
    departs_at: dict[int, int | None] = field(default_factory=dict)
    unique_at: dict[int, int | None] = field(default_factory=dict)

    @property
    def comparable(self) -> bool:
        return len(self.departs_at) > 1


MAX_WORD = 64  # snapping moves back at most this far: longer runs are not words


def is_word(char: str) -> bool:
    """True for a character words are made of: letters, digits and ``_``."""
    return char.isalnum() or char == "_"


def word_start(text: str, offset: int) -> int:
    """``offset`` moved back to the start of the word (letters, digits, ``_``) it is in."""
    if offset >= len(text) or not is_word(text[offset]):
        return offset
    limit = max(offset - MAX_WORD, 0)
    while offset > limit and is_word(text[offset - 1]):
        offset -= 1
    return offset


def word_end(text: str, offset: int) -> int:
    """The end of the word that starts at ``offset`` (at most :data:`MAX_WORD` on): a space
    or newline there takes the next word along, punctuation is a word of one character."""
    end, limit = offset, min(len(text), offset + MAX_WORD)
    if end < limit and not is_word(text[end]):
        end += 1
        if not text[end - 1].isspace():
            return end  # punctuation: that character alone
    while end < limit and is_word(text[end]):
        end += 1
    return end


def _first_difference(a: str, b: str, lo: int, hi: int) -> int:
    """The first offset in [lo, hi) where ``a`` and ``b`` differ, given that they do."""
    while hi - lo > 1:  # invariant: a[:lo] == b[:lo] and a[lo:hi] != b[lo:hi]
        mid = (lo + hi) // 2
        if a[lo:mid] == b[lo:mid]:
            lo = mid
        else:
            hi = mid
    return lo


def _mismatch(a: str, b: str) -> int | None:
    """The mismatch of two texts; None when one is a prefix of the other."""
    end = min(len(a), len(b))
    return None if a[:end] == b[:end] else _first_difference(a, b, 0, end)


def compute_divergence(texts: Mapping[int, str]) -> DivergenceView:
    """The view of texts seen once (a finished or stored run)."""
    return DivergenceTracker().update(texts)


class DivergenceTracker:
    """Incremental :func:`compute_divergence` for texts that grow by appending.

    ``update(texts)`` takes the current texts (all of them, each frame) and returns
    a :class:`DivergenceView` (the same object while nothing changed). A text that
    changed other than by appending, a new candidate and a vanished one are handled
    too: only their pairs are compared again.
    """

    def __init__(self) -> None:
        self._texts: dict[int, str] = {}
        self._agreed: dict[int, dict[int, int]] = {}  # pairs without a mismatch: how far they agree
        self._mismatch: dict[int, dict[int, int]] = {}  # pairs with one: where (final)
        self._departs: dict[int, int | None] = {}  # snapped, per candidate
        self._unique: dict[int, int | None] = {}
        self._first: dict[int, int] = {}  # raw first mismatch of candidates that have one
        self._dirty: set[int] = set()  # candidates whose offsets need recomputing
        self._view = DivergenceView()

    def update(self, texts: Mapping[int, str]) -> DivergenceView:
        changed = False
        for i in [i for i in self._texts if i not in texts]:
            self._forget(i)
            changed = True
        grown: list[int] = []
        for i, text in texts.items():
            old = self._texts.get(i)
            if old is None or (text is not old and not text.startswith(old)):
                self._forget(i)
                self._add(i, text)
                changed = True
            elif text is not old and len(text) > len(old):
                self._texts[i] = text
                grown.append(i)
        if grown:
            self._compare_grown(grown)
        if changed or grown:
            self._view = self._make_view()
        return self._view

    def _add(self, i: int, text: str) -> None:
        self._texts[i] = text
        self._agreed[i], self._mismatch[i] = {}, {}
        self._dirty.update(self._texts)  # every unique_at depends on how many others there are
        for j, other in self._texts.items():
            if j != i:
                m = _mismatch(text, other)
                if m is None:
                    self._agreed[i][j] = self._agreed[j][i] = min(len(text), len(other))
                else:
                    self._record(i, j, m)

    def _forget(self, i: int) -> None:
        if self._texts.pop(i, None) is None:
            return
        for j in self._agreed.pop(i):
            del self._agreed[j][i]
        for j in self._mismatch.pop(i):
            del self._mismatch[j][i]
        for per_candidate in (self._departs, self._unique, self._first):
            per_candidate.pop(i, None)
        self._dirty.discard(i)
        self._dirty.update(self._texts)

    def _compare_grown(self, grown: list[int]) -> None:
        """Compare each grown text with the texts it agrees with, on the new part only."""
        texts, done = self._texts, set()
        for i in grown:
            a, partners = texts[i], self._agreed[i]
            for j, agreed in list(partners.items()):
                if j in done:
                    continue
                b = texts[j]
                end = min(len(a), len(b))
                if end == agreed:
                    continue
                if a[agreed:end] == b[agreed:end]:
                    partners[j] = self._agreed[j][i] = end
                else:
                    self._record(i, j, _first_difference(a, b, agreed, end))
            done.add(i)

    def _record(self, i: int, j: int, m: int) -> None:
        self._agreed[i].pop(j, None)
        self._agreed[j].pop(i, None)
        self._mismatch[i][j] = self._mismatch[j][i] = m
        self._dirty.update((i, j))

    def _make_view(self) -> DivergenceView:
        others = len(self._texts) - 1
        for i in self._dirty:
            found, text = self._mismatch[i], self._texts[i]
            if found:
                self._first[i] = min(found.values())
            else:
                self._first.pop(i, None)
            self._departs[i] = word_start(text, self._first[i]) if found else None
            self._unique[i] = word_start(text, max(found.values())) if found and len(found) == others else None
        self._dirty.clear()
        if others < 1:
            return DivergenceView()
        shortest = min(len(t) for t in self._texts.values())
        shared = min(shortest, min(self._first.values(), default=shortest))
        return DivergenceView(shared, dict(self._departs), dict(self._unique))
