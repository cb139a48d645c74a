"""How often a run lays out the whole screen (Textual's costliest step: every widget is
placed and the screen repainted in full, ~45 ms with 64 panels in view).

A run's first start shows its panels: one layout. Nothing else a run does needs one:
not text growing, not state colours, not the footer's keys turning on and off, not
validation messages that did not change. A later run with the same n needs none.
"""

from __future__ import annotations

import pytest
from pilot import make_app, wait_idle
from textual.screen import Screen
from textual.widgets._footer import FooterKey

from tui_client.ui.widgets.chrome.footer import AppFooter


@pytest.fixture
def layouts(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Every layout of a screen from now on (True: a scroll-only one)."""
    seen: list[bool] = []
    refresh_layout = Screen._refresh_layout

    def counted(self: Screen, size: object = None, scroll: bool = False) -> None:
        seen.append(scroll)
        refresh_layout(self, size, scroll)  # type: ignore[arg-type]

    monkeypatch.setattr(Screen, "_refresh_layout", counted)
    return seen


@pytest.mark.parametrize("n", [4, 16])
async def test_a_run_lays_out_once_then_never(demo_url: str, layouts: list[bool], n: int) -> None:
    app = make_app(demo_url, n=n, max_tokens=120)
    async with app.run_test(size=(200, 60)) as pilot:
        await wait_idle(app, pilot)
        layouts.clear()
        await pilot.press("ctrl+j")
        await wait_idle(app, pilot)
        assert all(p.raw_text for p in app.main.grid.panels)
        assert layouts.count(False) == 1, "the first run: its panels appear"
        layouts.clear()
        await pilot.press("ctrl+j")
        await wait_idle(app, pilot)
        assert layouts.count(False) == 0, "the same n again: the panels are in place"


async def test_footer_keys_stay_and_cancel_turns_on_and_off(slow_demo_url: str) -> None:
    app = make_app(slow_demo_url, n=2, max_tokens=400)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_idle(app, pilot)
        footer = app.query_one(AppFooter)
        keys = list(footer.query(FooterKey))
        cancel = next(k for k in keys if k.action == "cancel")
        assert cancel.has_class("-disabled") and cancel.display
        await pilot.press("ctrl+j")
        await pilot.pause(0.3)
        assert app.main.running
        assert not cancel.has_class("-disabled")
        assert list(footer.query(FooterKey)) == keys, "the keys were built again"
        await pilot.press("escape")
        await wait_idle(app, pilot)
        assert not app.main.running and cancel.has_class("-disabled")
        assert list(footer.query(FooterKey)) == keys


async def test_cancel_key_steps_aside_on_narrow_screens_while_off(slow_demo_url: str) -> None:
    app = make_app(slow_demo_url, n=1, max_tokens=400)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_idle(app, pilot)
        cancel = next(k for k in app.query(FooterKey) if k.action == "cancel")
        history = next(k for k in app.query(FooterKey) if k.action == "history")
        assert not cancel.display
        assert history.region.right <= 80 - len("^p palette"), "History is cut short"
        await pilot.press("ctrl+j")
        await pilot.pause(0.3)
        assert app.main.running and cancel.display
        await pilot.press("escape")
        await wait_idle(app, pilot)
        assert not cancel.display
