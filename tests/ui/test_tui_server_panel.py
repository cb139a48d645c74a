"""The server panel (F5) and the header's server line, driven through Pilot against loopback servers."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from facts_server import FactsServer
from pilot import SIZE, make_app, wait_idle
from textual.pilot import Pilot
from textual.widgets import DataTable, Label, Static

from tui_client.demo.server import DemoServer
from tui_client.ui.app import TuiClientApp
from tui_client.ui.screens.server_screen import ServerScreen


async def until(pilot: Pilot, condition: Callable[[], object], timeout: float = 15, what: str = "") -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, f"timed out waiting for {what or condition}"
        await pilot.pause(0.02)


def text_of(screen: ServerScreen, selector: str) -> str:
    return str(screen.query_one(selector, Static).render())


def header_line(app: TuiClientApp) -> str:
    label = app.main.server_bar.query_one("#server-facts", Label)
    return str(label.render()).strip()


async def open_panel(app: TuiClientApp, pilot: Pilot, refreshes: int = 1) -> ServerScreen:
    await pilot.press("f5")
    await until(pilot, lambda: isinstance(app.screen, ServerScreen), what="the panel")
    screen = app.screen
    assert isinstance(screen, ServerScreen)
    await until(pilot, lambda: screen.refreshes >= refreshes, what=f"{refreshes} refreshes")
    return screen


async def test_f5_opens_shows_refreshes_and_closes() -> None:
    with FactsServer("recorded") as server:
        app = make_app(server.url)
        async with app.run_test(size=SIZE) as pilot:
            await wait_idle(app, pilot)
            assert header_line(app) == "max_model_len 2048"  # from the protocol detection: no request more
            assert server.count("/metrics") == 0  # idle: nothing asked
            app.main.server_polling.interval = 0.1
            screen = await open_panel(app, pilot, refreshes=3)
            assert "vLLM 0.32.0" in text_of(screen, "#server-title") and server.url in text_of(screen, "#server-title")
            assert text_of(screen, "#server-status").startswith("● answering")
            gauges = text_of(screen, "#server-gauges")
            assert "running  0" in gauges and "KV cache 0.0%" in gauges
            rates = text_of(screen, "#server-rates")
            assert "generation 0.0 tok/s" in rates and "total 595" in rates
            table = screen.query_one("#server-models", DataTable)
            assert [list(map(str, table.get_row_at(i))) for i in range(table.row_count)] == [
                ["smollm2-135m", "/tmp/smolhf", "2048", ""]]
            assert server.count("/version") == 1
            await pilot.press("escape")
            await until(pilot, lambda: not isinstance(app.screen, ServerScreen))
            asked = server.count("/metrics")
            await pilot.pause(0.5)  # closed and idle: asked no more (a worker out may still land)
            assert server.count("/metrics") <= asked + 1
            await open_panel(app, pilot)
            await pilot.press("f5")
            await until(pilot, lambda: not isinstance(app.screen, ServerScreen), what="F5 to close")


async def test_no_metrics_is_said_once_and_r_asks_again() -> None:
    with FactsServer("404") as server:
        app = make_app(server.url)
        async with app.run_test(size=SIZE) as pilot:
            await wait_idle(app, pilot)
            app.main.server_polling.interval = 0.05
            screen = await open_panel(app, pilot, refreshes=6)
            assert server.count("/metrics") == 1 and server.count("/v1/models") >= 6
            status = text_of(screen, "#server-status")
            assert "no load (requests, KV cache, tokens/s): no /metrics: 404" in status
            assert screen.query_one("#server-status").has_class("-missing")
            assert "no load figures" in text_of(screen, "#server-gauges")
            assert screen.query_one("#server-models", DataTable).row_count == 1  # what it has, it shows
            await pilot.press("r")
            await until(pilot, lambda: server.count("/metrics") == 2, what="the manual refresh")


async def test_a_hanging_metrics_stalls_neither_keys_nor_frames() -> None:
    with FactsServer("hang") as server:
        app = make_app(server.url)
        async with app.run_test(size=SIZE) as pilot:
            await wait_idle(app, pilot)
            app.main.server_polling.timeout = 1.0
            await pilot.press("f5")
            await until(pilot, lambda: server.count("/metrics") == 1, what="the request")
            screen = app.screen
            assert isinstance(screen, ServerScreen)
            await pilot.press("escape")  # while /metrics hangs
            await until(pilot, lambda: not isinstance(app.screen, ServerScreen), timeout=0.9, what="escape")
            await pilot.press("x", "y")
            assert app.main.prompt.text.endswith("xy")
            await until(pilot, lambda: not app.main.server_polling.busy, what="the timeout")
            screen = await open_panel(app, pilot)
            await until(pilot, lambda: screen.facts is not None and "metrics" in screen.facts.missing)
            assert "/metrics timed out (1 s without an answer)" in text_of(screen, "#server-status")
            assert "vLLM 0.32.0" in text_of(screen, "#server-title")


async def test_a_run_feeds_the_header_line_and_the_samples() -> None:
    with DemoServer(token_delay=0.02) as demo:
        app = make_app(demo.url, max_tokens=150)
        async with app.run_test(size=SIZE) as pilot:
            await wait_idle(app, pilot)
            app.main.server_polling.interval = 0.1
            await pilot.press("ctrl+j")
            await until(pilot, lambda: "4 running" in header_line(app), what="the running requests in the header")
            line = header_line(app)
            assert line.startswith("max_model_len 2048 · 4 running · 0 waiting · KV ")
            await until(pilot, lambda: "tok/s" in header_line(app), what="a rate")
            await wait_idle(app, pilot)
            await until(pilot, lambda: header_line(app) == "max_model_len 2048", what="the load dropped when idle")
            watch = app.main.server_polling.watch
            assert watch is not None and any(s.generation_tps for s in watch.samples)
            assert any(s.kv_cache_perc for s in watch.samples)


async def test_a_server_without_metrics_in_the_panel_and_the_palette() -> None:
    with DemoServer(token_delay=0, metrics=False) as demo:
        app = make_app(demo.url)
        async with app.run_test(size=SIZE) as pilot:
            await wait_idle(app, pilot)
            titles = {command.title for command in app.get_system_commands(app.screen)}
            assert "Server: version, models, load" in titles
            screen = await open_panel(app, pilot)
            assert "no /metrics: 404" in text_of(screen, "#server-status")
            assert "vLLM 0.32.0+demo" in text_of(screen, "#server-title")
            assert "(last 60 s)" in text_of(screen, "#tps-label")


async def test_no_client_at_all_is_said_in_the_panel() -> None:
    app = make_app("http://[::1")  # not a URL: the session has no client
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f5")
        await until(pilot, lambda: isinstance(app.screen, ServerScreen))
        screen = app.screen
        assert isinstance(screen, ServerScreen)
        await until(pilot, lambda: "not a URL" in text_of(screen, "#server-status"), what="the reason")
        assert screen.query_one("#server-status").has_class("-unreachable")
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, ServerScreen))


async def test_quitting_with_the_panel_open_and_a_refresh_out() -> None:
    with FactsServer("hang") as server:
        app = make_app(server.url)
        async with app.run_test(size=SIZE) as pilot:
            await wait_idle(app, pilot)
            await pilot.press("f5")
            await until(pilot, lambda: server.count("/metrics") == 1, what="the request")
            await pilot.press("ctrl+q")
            await until(pilot, lambda: not app.is_running, what="the app to quit")
        assert app.return_code in (0, None)
