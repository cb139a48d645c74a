"""The learnt panels-per-frame allowance: down when frames run long, up (at most doubled) when short."""

from __future__ import annotations

from tui_client.ui.rendering.frame_budget import FrameBudget


def test_the_first_frame_gets_the_first_allowance() -> None:
    budget = FrameBudget(0.020, first=8, minimum=2)
    assert budget.panels_per_frame(0.0) == 8


def test_a_slow_full_frame_lowers_the_allowance_to_what_fits() -> None:
    budget = FrameBudget(0.020, first=8, minimum=2)
    budget.drawn = 8
    assert budget.panels_per_frame(0.040) == 4  # twice the budget: half the panels


def test_a_fast_full_frame_at_most_doubles_it() -> None:
    budget = FrameBudget(0.020, first=8, minimum=2)
    budget.drawn = 8
    assert budget.panels_per_frame(0.001) == 16


def test_never_below_the_minimum() -> None:
    budget = FrameBudget(0.020, first=8, minimum=2)
    budget.drawn = 8
    assert budget.panels_per_frame(1.0) == 2


def test_a_frame_that_drew_less_than_its_allowance_teaches_nothing() -> None:
    budget = FrameBudget(0.020, first=8, minimum=2)
    budget.drawn = 3
    assert budget.panels_per_frame(0.5) == 8


def test_reset_starts_again() -> None:
    budget = FrameBudget(0.020, first=8, minimum=2)
    budget.drawn = 8
    budget.panels_per_frame(0.040)
    budget.reset()
    assert (budget.drawn, budget.allowance) == (0, 8)
