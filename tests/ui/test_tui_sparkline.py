"""The confidence sparkline in each panel's top border, after the title (runs with logprobs)."""

from __future__ import annotations

import math

from pilot import SIZE, make_app, panels, run_to_end, wait_idle
from textual.content import Content

from tui_client.ui.app import TuiClientApp
from tui_client.ui.widgets.candidates.panel import CandidatePanel

BLOCKS = "▁▂▃▄▅▆▇█"


def expected_spark(logprobs: list[float], edge: int, title: str) -> str:
    """Computed directly: as many cells as the border leaves (at most 32, none under 6), each
    the mean probability of an equal share of the tokens."""
    cells = min(32, edge - 6 - len(title) - 1)
    if cells < 6:
        return ""
    n = len(logprobs)
    cells = min(cells, n)
    out = ""
    for j in range(cells):
        probs = [math.exp(v) for v in logprobs[j * n // cells : (j + 1) * n // cells] if not math.isnan(v)]
        out += BLOCKS[min(7, int(math.fsum(probs) / len(probs) * 8))] if probs else " "
    return out


def check_titles(app: TuiClientApp) -> list[str]:
    state = app.run_state
    assert state is not None
    sparks = []
    for panel in panels(app):
        cand = state.candidates[panel.index]
        name = f"Candidate {panel.index}"
        spark = expected_spark(cand.token_logprobs, panel.outer_size.width, name)
        title = panel.border_title  # as markup
        assert title is not None and Content.from_markup(title).plain == (f"{name} {spark}" if spark else name)
        sparks.append(spark)
    return sparks


async def test_a_run_with_logprobs_shows_a_sparkline_after_each_title(demo_url: str) -> None:
    app = make_app(demo_url, n=4, max_tokens=48, logprobs=2)
    async with app.run_test(size=SIZE) as pilot:
        await wait_idle(app, pilot)
        await run_to_end(app, pilot)
        sparks = check_titles(app)
        assert all(sparks) and max(len(s) for s in sparks) == 32  # 48 tokens in a wide panel: the widest
        assert all(set(s) <= set(BLOCKS) for s in sparks)
        assert len(set(sparks)) > 1
        panel = panels(app)[0]
        shown = panel._border_title
        panel._title(app.run_state.candidates[0])  # type: ignore[union-attr]  # nothing new: the title is left alone
        assert panel._border_title is shown

        await pilot.resize_terminal(80, 40)  # narrower panels: fewer cells
        await pilot.pause()
        await wait_idle(app, pilot)
        narrower = check_titles(app)
        assert all(narrower) and max(len(s) for s in narrower) < 32

        await pilot.resize_terminal(50, 40)  # panels under 22 cells wide: no room
        await pilot.pause()
        await wait_idle(app, pilot)
        assert check_titles(app) == [""] * 4
        assert all(panel.border_title == f"Candidate {panel.index}" for panel in panels(app))


async def test_titles_without_logprobs_stay_as_they_were(demo_url: str) -> None:
    app = make_app(demo_url, n=3, max_tokens=16, logprobs=2)
    async with app.run_test(size=SIZE) as pilot:
        await wait_idle(app, pilot)
        await run_to_end(app, pilot)
        assert all(check_titles(app))
        app.query_one("#field-logprobs").value = ""  # type: ignore[attr-defined]
        await pilot.pause()
        await run_to_end(app, pilot)  # the same panels, a run without logprobs
        for panel in app.query(CandidatePanel):
            assert panel.border_title == f"Candidate {panel.index}"  # no markup: as before
