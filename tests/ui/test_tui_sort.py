"""``s``: the panels most likely first (by mean token logprob), or by index again."""

from __future__ import annotations

import asyncio
import math

from pilot import SIZE, make_app, run_to_end, wait_idle
from textual.pilot import Pilot

from tui_client.core.protocol import Candidate, RunState
from tui_client.ui.app import TuiClientApp
from tui_client.ui.panel_order import SORT_AT_END, SORTED
from tui_client.ui.textual_compat import FooterKey, footer_key_disabled
from tui_client.ui.widgets.candidates.panel import CandidatePanel

N = 6


def mean(cand: Candidate) -> float | None:
    scored = [value for value in cand.token_logprobs if not math.isnan(value)]
    return math.fsum(scored) / len(scored) if scored else None


def expected_order(state: RunState) -> list[int]:
    """Most likely first, computed from the token logprobs themselves."""
    means = {index: mean(cand) for index, cand in state.candidates.items()}
    scored = sorted((i for i in means if means[i] is not None), key=lambda i: (-means[i], i))  # type: ignore[operator]
    return scored + sorted(i for i in means if means[i] is None)


def shown_order(app: TuiClientApp) -> list[int]:
    return [panel.index for panel in app.main.grid.panels_in_order]


def laid_out_order(app: TuiClientApp) -> list[int]:
    """The panels by where they are on screen: row by row, left to right."""
    placed = sorted(app.main.grid.panels, key=lambda p: (p.region.y, p.region.x))
    return [panel.index for panel in placed]


def summary(app: TuiClientApp) -> str:
    return str(app.main.summary.render())


def sort_key(app: TuiClientApp) -> FooterKey:
    [key] = [key for key in app.query(FooterKey) if key.action == "sort"]
    return key


def logprob_app(url: str, **params: object) -> TuiClientApp:
    return make_app(url, **{"n": N, "max_tokens": 24, "seed": 7, "logprobs": 2, **params})


async def test_s_puts_the_most_likely_first_and_back_keeping_focus(demo_url: str) -> None:
    app = logprob_app(demo_url)
    async with app.run_test(size=SIZE) as pilot:
        await wait_idle(app, pilot)
        await run_to_end(app, pilot)
        state = app.run_state
        assert state is not None
        expected = expected_order(state)
        assert expected != list(range(N))  # the test shows something
        assert shown_order(app) == list(range(N))

        await pilot.press("ctrl+o", "right", "right")  # focus candidate 2 (in the prompt, s types an s)
        focused = app.focused
        assert isinstance(focused, CandidatePanel) and focused.index == 2
        assert not footer_key_disabled(sort_key(app))
        await pilot.press("s")
        await pilot.pause()
        assert shown_order(app) == expected
        assert laid_out_order(app) == expected
        assert app.focused is focused
        assert SORTED in summary(app)
        # The neighbour keys follow the order on screen.
        place = expected.index(2)
        if place + 1 < N:
            await pilot.press("right")
            assert app.focused.index == expected[place + 1]  # type: ignore[union-attr]
            await pilot.press("left")
        assert any(c.title == "Sort: most likely first (on)" for c in app.get_system_commands(app.screen))

        await pilot.press("s")
        await pilot.pause()
        assert shown_order(app) == list(range(N)) == laid_out_order(app)
        assert app.focused is focused
        assert SORTED not in summary(app)
        assert any(c.title == "Sort: most likely first (off)" for c in app.get_system_commands(app.screen))


async def test_a_focused_panel_sorted_out_of_view_is_scrolled_to(demo_url: str) -> None:
    app = logprob_app(demo_url, n=24)
    async with app.run_test(size=SIZE) as pilot:
        await wait_idle(app, pilot)
        await run_to_end(app, pilot)
        grid = app.main.grid
        assert grid.has_class("-scrolling") and grid.scroll_y == 0
        last = expected_order(app.run_state)[-1]  # type: ignore[arg-type]
        panel = grid.panel(last)
        assert panel is not None
        panel.focus()
        await pilot.pause()
        await pilot.press("s")
        await pilot.pause()
        assert app.focused is panel and grid.panels_in_order[-1] is panel
        assert grid.scroll_y > 0 and grid.region.contains_region(panel.region)


async def test_the_order_holds_while_streaming_and_sorts_when_the_run_ends(slow_demo_url: str) -> None:
    app = logprob_app(slow_demo_url, max_tokens=400)
    async with app.run_test(size=SIZE) as pilot:
        await wait_idle(app, pilot)
        app.main.order.likely = True  # s, pressed before: tested above
        await pilot.press("ctrl+j")
        orders = []
        for _ in range(400):
            await asyncio.sleep(0.02)
            state = app.run_state
            if state is not None and sum(len(c.token_logprobs) for c in state.candidates.values()) > 10 * N:
                assert app.main.running
                orders.append(shown_order(app))
                if len(orders) >= 5:
                    break
        assert len(orders) == 5 and all(order == list(range(N)) for order in orders)  # index order while it streams
        assert SORT_AT_END in summary(app)
        await pilot.press("escape")  # cancelled: an end too
        await wait_idle(app, pilot)
        state = app.run_state
        assert state is not None and state.status.done and not app.main.running
        assert shown_order(app) == expected_order(state) == laid_out_order(app)
        assert expected_order(state) != list(range(N))
        assert SORTED in summary(app)


async def test_a_stored_run_loaded_while_sorting_is_shown_sorted(demo_url: str) -> None:
    app = logprob_app(demo_url)
    async with app.run_test(size=SIZE) as pilot:
        await wait_idle(app, pilot)
        await run_to_end(app, pilot)
        stored = app.run_state
        assert stored is not None
        app.main.prompt.load_text("The sea")
        await run_to_end(app, pilot)
        await pilot.press("ctrl+o", "s")
        await pilot.pause()
        await pilot.press("f2")
        await asyncio.wait_for(app.workers.wait_for_complete(), 30)
        await pilot.pause()
        await pilot.press("down", "enter")  # the older run, loaded
        await wait_idle(app, pilot)
        state = app.run_state
        assert state is not None and state.request.prompt == "Once upon a time" and app.main.loaded_run is not None
        assert [c.text for c in state.ordered()] == [c.text for c in stored.ordered()]
        assert shown_order(app) == expected_order(state) == expected_order(stored)
        assert SORTED in summary(app) and "from history" in summary(app)


async def test_without_logprobs_s_says_why_and_is_shown_disabled(demo_url: str) -> None:
    app = make_app(demo_url, n=3)
    async with app.run_test(size=SIZE) as pilot:
        await wait_idle(app, pilot)
        await run_to_end(app, pilot)
        await pilot.press("ctrl+o", "s")
        await pilot.pause()
        assert not app.main.order.likely and shown_order(app) == [0, 1, 2]
        messages = [n.message for n in app._notifications]
        assert "no logprobs in this run: set logprobs (1-20) and run again" in messages
        assert footer_key_disabled(sort_key(app))
        assert app.main.check_action("sort", ()) is None


async def test_beam_search_is_already_in_score_order(demo_url: str) -> None:
    app = make_app(demo_url, n=3, temperature=0.0, max_tokens=8, beam_search=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_idle(app, pilot)
        await run_to_end(app, pilot)
        assert app.run_state is not None and app.run_state.beams
        await pilot.press("ctrl+o", "s")
        await pilot.pause()
        assert not app.main.order.likely
        assert any("already in score order" in n.message for n in app._notifications)
        assert footer_key_disabled(sort_key(app))

