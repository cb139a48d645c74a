"""PackedAlternatives: a candidate's alternatives packed, read back as the tuples they were."""

from __future__ import annotations

import math
import pickle

import pytest

from tui_client.core.protocol.packed_alternatives import PackedAlternatives

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
    assert packed[-1] == TOPS[-1] and packed[1:3] == TOPS[1:3]
    assert repr(packed) == repr(TOPS)
    assert packed.counts() == [2, 0, 3, 1]
    with pytest.raises(IndexError):
        packed[4]
    assert packed != TOPS[:3] and packed != [*TOPS[:3], ((" a", -0.0001),)]


def test_nan_and_infinity_come_back_as_they_were() -> None:
    packed = PackedAlternatives([(("x", math.nan), ("y", -math.inf))])
    (x, nan), (y, inf) = packed[0]
    assert math.isnan(nan) and inf == -math.inf and (x, y) == ("x", "y")


def test_a_copy_fed_its_columns_and_a_pickle_equal_the_original() -> None:
    original, copy = PackedAlternatives(), PackedAlternatives()
    sent_tokens = sent_strings = 0
    for top in TOPS:
        original.extend([top])
        copy.add_columns(original.columns(sent_tokens, sent_strings))
        sent_tokens, sent_strings = len(original), original.strings
    assert copy == original == TOPS
    copy.extend([(("new", -1.0), (" a", -2.0))])  # a copy can grow by tuples too
    assert copy[-1] == (("new", -1.0), (" a", -2.0))
    assert pickle.loads(pickle.dumps(copy)) == copy


def test_columns_of_another_list_are_refused() -> None:
    original = PackedAlternatives(TOPS)
    with pytest.raises(ValueError):
        PackedAlternatives(TOPS[:1]).add_columns(original.columns(2, 3))


def test_from_a_shared_table_as_the_history_keeps_them() -> None:
    strings = ["unused", " b", " a", "\ud800", " 日"]
    packed = PackedAlternatives.from_table(strings, [2, 1, 1, 3, 4, 2], [-0.5, -1.25, -math.inf, -2.0, -3.0, 0.0],
                                           bytes([2, 0, 3, 1]))
    assert packed == TOPS and packed.strings == 4
    copy = PackedAlternatives()
    copy.extend(packed)
    assert copy == TOPS
    with pytest.raises(ValueError):
        PackedAlternatives.from_table(strings, [2, 1], [-0.5, -1.25], bytes([3]))
