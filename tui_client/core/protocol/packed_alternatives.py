"""A candidate's tokens' alternatives, packed: a table of distinct strings and flat columns
(string ids, logprobs, where each token's start) instead of a tuple of tuples per token.

Read one token at a time (the inspector) or all at once (history, export); written as
tuples by the parser (packed in batches, when next read) or as columns copied from another
one (the stream worker's messages). Figures: ``benchmarks/notes/core.md``.
"""

from __future__ import annotations

from array import array
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from itertools import accumulate, chain, count, islice, pairwise
from operator import itemgetter
from typing import Any, overload

from tui_client.core.protocol.token_logprobs import Alternatives, paused_gc

__all__ = ["Columns", "PackedAlternatives"]

Columns = tuple[int, int, list[str], bytes, bytes, bytes]
"""What :meth:`PackedAlternatives.columns` sends: the strings and alternatives the copy has,
the new strings, then the string ids, logprobs and token ends (native ``array`` bytes)."""

_text, _value = itemgetter(0), itemgetter(1)


class PackedAlternatives(Sequence[Alternatives]):
    """Token i's alternatives are ``self[i]``: ``((text, logprob), ...)``, most probable first."""

    __slots__ = ("_ids", "_pending", "_starts", "_strings", "_text_ids", "_values")

    def __init__(self, tops: Iterable[Alternatives] = ()) -> None:
        self._strings: list[str] = []
        self._ids: defaultdict[str, int] | None = None  # string -> id, built when tuples are packed
        self._text_ids = array("I")  # per alternative
        self._values = array("d")  # per alternative
        self._starts = array("I", [0])  # token i's alternatives: [starts[i], starts[i + 1])
        self._pending: list[Alternatives] = []  # appended, not packed yet
        self.extend(tops)

    def __len__(self) -> int:
        return len(self._starts) - 1 + len(self._pending)

    @classmethod
    def from_table(cls, strings: Sequence[str], text_ids: Iterable[int], values: Iterable[float],
                   counts: Iterable[int]) -> PackedAlternatives:
        """Tokens with ``counts`` alternatives each, whose texts are ``strings[text_ids[k]]``
        (a table that may have more strings) and logprobs ``values[k]``, in order."""
        text_ids = array("I", text_ids)
        local = dict(zip(dict.fromkeys(text_ids), count()))  # the strings used, in the order they first come
        packed = cls()
        packed._strings = list(map(strings.__getitem__, local))
        packed._text_ids = array("I", map(local.__getitem__, text_ids))
        packed._values = array("d", values)
        packed._starts = array("I", accumulate(counts, initial=0))
        if packed._starts[-1] != len(packed._text_ids) or len(packed._values) != len(packed._text_ids):
            raise ValueError("the counts do not add up to the alternatives")
        return packed

    def extend(self, tops: Iterable[Alternatives]) -> None:
        """Append tokens' alternatives (packed when next read)."""
        if isinstance(tops, PackedAlternatives) and not len(self):
            self.add_columns(tops.columns(0, 0))
        else:
            self._pending += tops

    def __iadd__(self, tops: Iterable[Alternatives]) -> PackedAlternatives:
        self.extend(tops)
        return self

    def _pack(self) -> None:
        pending = self._pending
        if not pending:
            return
        ids = self._ids
        if ids is None:
            ids = self._ids = defaultdict(None, {text: k for k, text in enumerate(self._strings)})
            ids.default_factory = ids.__len__  # a new string gets the next id
        known = len(ids)
        pairs = list(chain.from_iterable(pending))
        self._text_ids.extend(map(ids.__getitem__, map(_text, pairs)))
        self._values.extend(map(_value, pairs))
        self._starts.extend(islice(accumulate(chain((self._starts[-1],), map(len, pending))), 1, None))
        if len(ids) > known:  # the new strings: the dict's last entries
            added = list(islice(reversed(ids), len(ids) - known))
            added.reverse()
            self._strings += added
        self._pending = []

    @overload
    def __getitem__(self, index: int) -> Alternatives: ...
    @overload
    def __getitem__(self, index: slice) -> list[Alternatives]: ...
    def __getitem__(self, index: int | slice) -> Alternatives | list[Alternatives]:
        self._pack()
        if isinstance(index, slice):
            return [self[k] for k in range(*index.indices(len(self)))]
        starts = self._starts
        if index < 0:
            index += len(starts) - 1
        if not 0 <= index < len(starts) - 1:
            raise IndexError("token index out of range")
        a, b = starts[index], starts[index + 1]
        return tuple(zip(map(self._strings.__getitem__, self._text_ids[a:b]), self._values[a:b]))

    def __iter__(self) -> Iterator[Alternatives]:
        self._pack()
        with paused_gc():  # (many tuples, none of them garbage)
            pairs = list(zip(map(self._strings.__getitem__, self._text_ids), self._values))
        return (tuple(pairs[a:b]) for a, b in pairwise(self._starts))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence) or isinstance(other, (str, bytes)):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other))

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return repr(list(self))

    # -- the packed form, whole --------------------------------------------------------

    def counts(self) -> list[int]:
        """How many alternatives each token has."""
        self._pack()
        starts = self._starts
        return [b - a for a, b in pairwise(starts)]

    def table(self) -> tuple[list[str], array[int], array[float]]:
        """(strings, each alternative's string id, each one's logprob), tokens in order (not copies)."""
        self._pack()
        return self._strings, self._text_ids, self._values

    # -- copying one into another (the stream worker) ----------------------------------

    def columns(self, start: int, known: int) -> Columns:
        """Tokens ``start`` on, for :meth:`add_columns` of a copy that has ``known`` strings."""
        self._pack()
        starts = self._starts
        a = starts[start]
        return (known, a, self._strings[known:], self._text_ids[a:].tobytes(), self._values[a:].tobytes(),
                starts[start + 1 :].tobytes())

    @property
    def strings(self) -> int:
        """How many distinct strings there are (what :meth:`columns` calls ``known``)."""
        self._pack()
        return len(self._strings)

    def add_columns(self, columns: Columns) -> None:
        """Append what :meth:`columns` of the original sent (this one only ever filled so)."""
        known, first, strings, text_ids, values, starts = columns
        self._pack()
        if (known, first) != (len(self._strings), len(self._text_ids)):
            raise ValueError("columns of another token list")
        if self._ids is not None:
            self._ids.update(zip(strings, range(len(self._strings), len(self._strings) + len(strings))))
        self._strings += strings
        self._text_ids.frombytes(text_ids)
        self._values.frombytes(values)
        self._starts.frombytes(starts)

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (self.columns(0, 0),))


def _rebuild(columns: Columns) -> PackedAlternatives:
    packed = PackedAlternatives()
    packed.add_columns(columns)
    return packed

