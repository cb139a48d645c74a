"""PackedAlternatives: a candidate's alternatives packed, read back as the tuples they were."""

from __future__ import annotations

import math
import pickle

import pytest

from tui_client.core.protocol.packed_alternatives import PackedAlternatives, StringTable

TOPS = [
    ((" a", -0.5), (" b", -1.25)),
    (),
    ((" b", -math.inf), ("\ud800", -2.0), (" 日", -3.0)),
    ((" a", 0.0),),
]


def test_it_reads_back_the_tuples_it_was_given_in_any_batches() -> None:
    packed = PackedAlternatives(TOPS[:1])
    packed.extend(TOPS[1:3])
    assert packed[0] == TOPS[0] and len(packed) == 3  # read while tokens wait to be packed
    packed += TOPS[3:]
    assert len(packed) == 4
    assert [packed[k] for k in range(4)] == TOPS
    assert list(packed) == TOPS and packed == TOPS and TOPS == packed
    assert packed[-1] == TOPS[-1] and packed[1:3] == TOPS[1:3] and packed.tail(2) == TOPS[2:]
    assert repr(packed) == repr(TOPS)
    assert packed.counts() == [2, 0, 3, 1]
    assert packed.table.strings == [" a", " b", "\ud800", " 日"]
    with pytest.raises(IndexError):
        packed[4]
    assert packed != TOPS[:3] and packed != [*TOPS[:3], ((" a", -0.0001),)]


def test_the_tail_reads_both_the_packed_tokens_and_those_waiting() -> None:
    packed = PackedAlternatives()
    tops = [((f"t{k % 7}", -float(k)),) for k in range(20)]
    packed.extend(tops[:15])
    assert packed[0] == tops[0]  # (packs them)
    packed.extend(tops[15:])
    assert len(packed._pending) == 5
    assert packed.tail(12) == tops[12:] and packed.tail(17) == tops[17:] and packed.tail(20) == []
    assert packed == tops


def test_nan_and_infinity_come_back_as_they_were() -> None:
    packed = PackedAlternatives([(("x", math.nan), ("y", -math.inf))])
    (x, nan), (y, inf) = packed[0]
    assert math.isnan(nan) and inf == -math.inf and (x, y) == ("x", "y")


def test_rows_of_a_shared_table_as_the_history_and_the_stream_worker_give_them() -> None:
    table = StringTable(["unused", " b", " a", "\ud800", " 日"])
    packed = PackedAlternatives(table=table)
    packed.add_rows([2, 1], [-0.5, -1.25], [2, 0])
    packed.add_rows([1, 3, 4, 2], [-math.inf, -2.0, -3.0, 0.0], [3, 1])
    assert packed == TOPS
    other = PackedAlternatives(table=table)
    other.extend([(("new", -1.0), (" a", -2.0))])  # tuples into the shared table
    assert other[0] == (("new", -1.0), (" a", -2.0)) and table.strings[-1] == "new" and packed == TOPS
    copy = PackedAlternatives([(("mine", -1.0),)])
    copy.extend(packed)  # another table's ids: looked up in its own
    assert copy == [(("mine", -1.0),), *TOPS] and copy.table is not table
    assert pickle.loads(pickle.dumps(copy)) == copy
    with pytest.raises(ValueError):
        packed.add_rows([2, 1], [-0.5, -1.25], [3])
