"""A candidate's tokens' alternatives, packed: string ids into a table of distinct strings
(which a run's candidates may share) and flat columns (ids, logprobs, where each token's
start) instead of a tuple of tuples per token.

Read one token at a time (the inspector) or all at once (history, export); written as
tuples by the parser (packed when next read) or as rows of ids into a shared table (the stream
worker's messages, the history). Figures: ``benchmarks/notes/core.md``.
"""

from __future__ import annotations

from array import array
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from itertools import accumulate, chain, count, islice, pairwise
from operator import itemgetter
from typing import overload

from tui_client.core.protocol.token_logprobs import Alternatives, paused_gc

__all__ = ["PackedAlternatives", "StringTable"]

_text, _value = itemgetter(0), itemgetter(1)


class StringTable:
    """Distinct strings, each with its id (its place in ``strings``, which only grows)."""

    __slots__ = ("_ids", "strings")

    def __init__(self, strings: list[str] | None = None) -> None:
        self.strings: list[str] = strings if strings is not None else []
        self._ids: defaultdict[str, int] | None = None  # built when first asked for

    def __getstate__(self) -> list[str]:
        return self.strings

    def __setstate__(self, strings: list[str]) -> None:
        self.strings, self._ids = strings, None

    def ids_of(self, texts: Iterable[str]) -> array[int]:
        """The ids of ``texts``; a string new to the table is added."""
        ids = self._ids
        if ids is None:
            ids = self._ids = defaultdict(None)
            ids.default_factory = ids.__len__  # a new string gets the next id
        known = len(self.strings)
        if len(ids) < known:  # strings added as they were (add), not looked up yet
            ids.update(zip(self.strings[len(ids):], count(len(ids))))
        out = array("I", map(ids.__getitem__, texts))
        if len(ids) > known:  # the new strings: the dict's last entries
            added = list(islice(reversed(ids), len(ids) - known))
            added.reverse()
            self.strings += added
        return out


class PackedAlternatives(Sequence[Alternatives]):
    """Token i's alternatives are ``self[i]``: ``((text, logprob), ...)``, most probable first."""

    __slots__ = ("_pending", "_starts", "_table", "_text_ids", "_values")

    def __init__(self, tops: Iterable[Alternatives] = (), *, table: StringTable | None = None) -> None:
        self._table = table if table is not None else StringTable()
        self._text_ids = array("I")  # per alternative: its text's id in the table
        self._values = array("d")  # per alternative
        self._starts = array("I", [0])  # token i's alternatives: [starts[i], starts[i + 1])
        self._pending: list[Alternatives] = []  # appended, not packed yet
        self.extend(tops)

    @property
    def table(self) -> StringTable:
        return self._table

    def __len__(self) -> int:
        return len(self._starts) - 1 + len(self._pending)

    def extend(self, tops: Iterable[Alternatives]) -> None:
        """Append tokens' alternatives (packed when read: the stream worker never reads its own,
        it sends them as they came, and packing them in batches as they come cost it more CPU)."""
        if type(tops) is PackedAlternatives:  # (not isinstance: this runs for every token parsed)
            tops._pack()
            if not len(self):
                self._table = tops._table  # (shared from now on)
            ids = self._table.ids_of(tops._table.strings) if tops._table is not self._table else None
            self._pack()
            self.add_rows(tops._text_ids if ids is None else array("I", map(ids.__getitem__, tops._text_ids)),
                          tops._values, tops.counts())
            return
        self._pending += tops

    def __iadd__(self, tops: Iterable[Alternatives]) -> PackedAlternatives:
        self.extend(tops)
        return self

    def add_rows(self, text_ids: Iterable[int], values: Iterable[float], counts: Iterable[int]) -> None:
        """Append tokens with ``counts`` alternatives each: their texts' ids in this one's table, their logprobs."""
        self._pack()
        self._text_ids.extend(text_ids)
        self._values.extend(values)
        self._starts.extend(islice(accumulate(chain((self._starts[-1],), counts)), 1, None))
        if len(self._values) != len(self._text_ids) or self._starts[-1] != len(self._text_ids):
            raise ValueError("the counts do not add up to the alternatives")

    def _pack(self) -> None:
        pending = self._pending
        if not pending:
            return
        pairs = list(chain.from_iterable(pending))
        self._text_ids += self._table.ids_of(map(_text, pairs))
        self._values.extend(map(_value, pairs))
        self._starts.extend(islice(accumulate(chain((self._starts[-1],), map(len, pending))), 1, None))
        self._pending = []

    def _packed(self, index: int) -> Alternatives:
        a, b = self._starts[index], self._starts[index + 1]
        return tuple(zip(map(self._table.strings.__getitem__, self._text_ids[a:b]), self._values[a:b]))

    def tail(self, start: int) -> list[Alternatives]:
        """Tokens ``start`` on, as tuples (those not packed yet as they were given)."""
        packed = len(self._starts) - 1
        if start >= packed:
            return self._pending[start - packed:]
        return [self._packed(k) for k in range(start, packed)] + self._pending

    @overload
    def __getitem__(self, index: int) -> Alternatives: ...
    @overload
    def __getitem__(self, index: slice) -> list[Alternatives]: ...
    def __getitem__(self, index: int | slice) -> Alternatives | list[Alternatives]:
        self._pack()
        if isinstance(index, slice):
            return [self._packed(k) for k in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError("token index out of range")
        return self._packed(index)

    def __iter__(self) -> Iterator[Alternatives]:
        self._pack()
        with paused_gc():  # (many tuples, none of them garbage)
            pairs = list(zip(map(self._table.strings.__getitem__, self._text_ids), self._values))
        return (tuple(pairs[a:b]) for a, b in pairwise(self._starts))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence) or isinstance(other, (str, bytes)):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other))

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return repr(list(self))

    def counts(self) -> list[int]:
        """How many alternatives each token has."""
        self._pack()
        return [b - a for a, b in pairwise(self._starts)]

    def columns(self) -> tuple[list[str], array[int], array[float]]:
        """(the table's strings, each alternative's string id, each one's logprob), tokens in order (not copies)."""
        self._pack()
        return self._table.strings, self._text_ids, self._values
