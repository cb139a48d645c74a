"""Typing into the prompt: keys that come in a burst (a paste sent as keys) cost work in
proportion to their number, not to the square of the prompt's length."""

from __future__ import annotations

import time

from pilot import SIZE, make_app
from textual import events

from tui_client.ui.widgets.controls.prompt_area import PromptArea


def typed(n: int) -> str:
    return "".join(" " if i % 7 == 6 else "a" for i in range(n))


async def type_burst(n: int, unused_url: str) -> tuple[float, str]:
    """CPU seconds to take ``n`` keys sent at once, as a terminal's paste without bracketed
    paste arrives (the driver posts one Key per character), and the prompt after them."""
    app = make_app(unused_url, prompt="")
    async with app.run_test(size=SIZE) as pilot:
        prompt = app.query_one("#prompt", PromptArea)
        prompt.focus()
        await pilot.pause()
        start = time.process_time()
        for ch in typed(n):
            app.post_message(events.Key("space" if ch == " " else ch, ch))
        await pilot.pause()
        while prompt.pending_typed or len(prompt.document.text) < n:
            await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        return time.process_time() - start, prompt.text


async def test_a_burst_of_typed_keys_costs_linear_work(unused_url: str) -> None:
    small, text_small = await type_burst(2_000, unused_url)
    large, text_large = await type_burst(8_000, unused_url)
    assert text_small == typed(2_000) and text_large == typed(8_000)
    per_key_small, per_key_large = small / 2_000, large / 8_000
    # Measured: 0.2 ms a key at both sizes with the fix; 1.5 ms and 3.7 ms without it.
    assert per_key_large < 1.5 * per_key_small + 0.0002, (small, large)


async def test_typing_key_by_key_still_edits_as_before(unused_url: str) -> None:
    app = make_app(unused_url, prompt="")
    async with app.run_test(size=SIZE) as pilot:
        prompt = app.query_one("#prompt", PromptArea)
        prompt.focus()
        await pilot.press("a", "b", "c", "left", "X", "enter", "Y", "backspace", "end", "Z")
        assert prompt.text == "abX\ncZ"
        assert prompt.cursor_location == (1, 2)
        assert prompt.pending_typed == ""
