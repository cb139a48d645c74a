"""The confidence sparkline, against a direct computation over all the tokens."""

from __future__ import annotations

import math
import random
import subprocess
import sys

import pytest

from tui_client.ui.rendering.tuning import SPARKLINE_MAX_CELLS, SPARKLINE_MIN_CELLS
from tui_client.ui.widgets.candidates.sparkline import BLOCKS, ConfidenceSparkline, block, sparkline_cells


def reference_means(logprobs: list[float], cells: int) -> list[float | None]:
    """Each of ``cells`` equal shares of the tokens (by position): its mean exp(logprob), NaN left out."""
    n = len(logprobs)
    cells = min(cells, n)
    out: list[float | None] = []
    for j in range(cells):
        share = logprobs[j * n // cells : (j + 1) * n // cells]
        probs = [math.exp(v) for v in share if not math.isnan(v)]
        out.append(math.fsum(probs) / len(probs) if probs else None)
    return out


def reference_draw(logprobs: list[float], cells: int) -> str:
    return "".join(" " if m is None else BLOCKS[min(7, int(m * 8))] for m in reference_means(logprobs, cells))


def random_logprobs(rng: random.Random, n: int) -> list[float]:
    out = []
    for _ in range(n):
        roll = rng.random()
        out.append(math.nan if roll < 0.05 else -math.inf if roll < 0.08 else math.log(rng.uniform(1e-6, 1.0)))
    return out


@pytest.mark.parametrize("seed", range(8))
def test_grown_piece_by_piece_it_matches_the_direct_computation(seed: int) -> None:
    rng = random.Random(seed)
    logprobs: list[float] = []
    spark = ConfidenceSparkline()
    for _ in range(40):
        logprobs += random_logprobs(rng, rng.choice([0, 1, 3, 17, 60]))
        spark.update(logprobs)
        assert len(spark) == len(logprobs)
        for cells in (1, 6, 7, 32, 33, 500):
            means = spark.means(cells)
            expected = reference_means(logprobs, cells)
            assert len(means) == len(expected) == min(cells, len(logprobs))
            for got, want in zip(means, expected):
                assert (got is None and want is None) or got == pytest.approx(want, abs=1e-9)
            drawn = spark.draw(cells)
            if all(m is None or abs(m * 8 - round(m * 8)) > 1e-6 for m in expected):  # no level boundary
                assert drawn == reference_draw(logprobs, cells)


def test_levels_and_gaps() -> None:
    assert [block(p) for p in (0.0, 0.124, 0.125, 0.5, 0.874, 0.875, 1.0)] == list("▁▁▂▅▇██")
    spark = ConfidenceSparkline()
    spark.update([0.0, math.log(0.5), -math.inf, math.nan])
    assert spark.draw(32) == "█▅▁ "  # fewer tokens than cells: a cell each; NaN alone: blank
    assert spark.draw(2) == "▇▁"  # (1 + 0.5) / 2 = 0.75, then 0 (the NaN left out)
    assert spark.draw(0) == ""


def test_another_list_or_a_shorter_one_starts_over() -> None:
    spark = ConfidenceSparkline()
    first = [0.0] * 10
    spark.update(first)
    second = [-math.inf] * 4
    spark.update(second)
    assert len(spark) == 4 and spark.draw(8) == "▁▁▁▁"
    del second[2:]
    spark.update(second)
    assert len(spark) == 2
    spark.clear()
    assert len(spark) == 0 and spark.draw(8) == ""


def test_taking_new_tokens_costs_only_the_new_ones() -> None:
    class Counting(list):  # type: ignore[type-arg]
        read = 0

        def __getitem__(self, item):  # type: ignore[no-untyped-def]
            got = super().__getitem__(item)
            Counting.read += len(got) if isinstance(item, slice) else 1
            return got

    logprobs = Counting([-0.1] * 1000)
    spark = ConfidenceSparkline()
    spark.update(logprobs)
    Counting.read = 0
    logprobs += [-0.2] * 5
    spark.update(logprobs)
    assert Counting.read == 5
    spark.update(logprobs)
    assert Counting.read == 5


def test_the_width_left_by_the_title() -> None:
    title = len("Candidate 0")
    assert sparkline_cells(6 + title + 1 + SPARKLINE_MIN_CELLS, title) == SPARKLINE_MIN_CELLS
    assert sparkline_cells(6 + title + SPARKLINE_MIN_CELLS, title) == 0  # one short of the minimum
    assert sparkline_cells(200, title) == SPARKLINE_MAX_CELLS
    assert sparkline_cells(0, title) == 0


def test_the_module_imports_no_textual() -> None:
    code = ("import sys; import tui_client.ui.widgets.candidates.sparkline; "
            "print(any(m == 'textual' or m.startswith('textual.') for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
