"""Compare servers in the TUI: a labelled group of n panels per server, a summary line each, a failing
server failing its group only, escape cancelling all, x across the groups, the palette's URL prompt,
the history; against loopback servers (a legacy recording beside an OpenAI one, a dying one, demos)."""

from __future__ import annotations

import asyncio

from expected import expected_legacy, expected_openai, request_for
from hostile_server import HostileServer
from pilot import SIZE, make_app, run_to_end, wait_idle
from replay_server import LEGACY, OPENAI, Recording, ReplayServer
from textual.widgets import Input, Label, Static

from tui_client.core.protocol import ClientConfig, Status
from tui_client.core.protocol.compare import ServerTarget, group_summary
from tui_client.core.storage.history import HistoryStore, default_path
from tui_client.core.text.inert_text import make_inert
from tui_client.demo.server import DemoServer
from tui_client.ui.app import TuiClientApp
from tui_client.ui.screens.compare_across_screen import CompareAcrossScreen
from tui_client.ui.screens.compare_url_screen import CompareUrlScreen
from tui_client.ui.widgets.candidates.grid import CandidateGrid
from tui_client.ui.widgets.candidates.panel import CandidatePanel
from tui_client.ui.widgets.chrome.run_summary import RunSummary

OPENAI_REC = Recording.load(OPENAI / "completions-stream-n4.json")
LEGACY_REC = Recording.load(LEGACY / "generate-stream-n4.json")


def summary_lines(app: TuiClientApp) -> list[str]:
    return str(app.query_one(RunSummary).render()).splitlines()


def header(app: TuiClientApp) -> tuple[str, str | None]:
    """The header's URL label, and its list of the other servers compared (None: hidden)."""
    url, others = app.query_one("#server-url", Label), app.query_one("#server-compare", Label)
    return str(url.render()), str(others.render()) if others.display else None


async def test_each_server_has_its_group_a_dying_one_fails_alone_and_the_run_is_saved_once() -> None:
    with ReplayServer(OPENAI_REC, time_scale=0.2) as openai, ReplayServer(LEGACY_REC) as legacy, \
            HostileServer("die-mid-stream") as dying:
        app = TuiClientApp(ClientConfig(url=openai.url), request_for(OPENAI_REC),
                           compare=[ServerTarget("old", legacy.url), ServerTarget("C", dying.url)])
        async with app.run_test(size=SIZE) as pilot:
            await wait_idle(app, pilot)
            assert header(app) == (f"A {openai.url}", f"+ old {legacy.url} · C {dying.url}")
            await run_to_end(app, pilot)
            grid = app.query_one(CandidateGrid)
            titles = [p.name_shown for p in grid.panels]
            assert titles == [f"{label} · Candidate {i}" for label in ("A", "old", "C") for i in range(4)]
            assert str(grid.panels[4].border_title) == "old · Candidate 0"
            compare = app.session.compare
            assert compare is not None and [g.label for g in compare.groups] == ["A", "old", "C"]
            texts, _, _ = expected_openai(OPENAI_REC)
            assert [p.raw_text for p in grid.panels[:4]] == [texts[i] for i in range(4)]
            assert sorted(p.raw_text for p in grid.panels[4:8]) == expected_legacy(LEGACY_REC)
            dying_panels = grid.panels[8:]
            assert {p.panel_state for p in dying_panels} == {"failed"}
            assert "the first words of a long answer".startswith(dying_panels[0].raw_text) and dying_panels[0].raw_text
            lines = summary_lines(app)
            assert lines == [make_inert(group_summary(g)) for g in compare.groups]
            assert lines[0].startswith("A · completions · smollm2-135m · first text ") and "length×4" in lines[0]
            assert lines[1].startswith("old · generate · ") and lines[2].startswith("C · completions · hostile · failed: ")
            assert app.query_one(RunSummary).size.height == 3
            # d: each server's candidates are compared among themselves.
            await pilot.press("ctrl+o", "d")
            await pilot.pause()
            for group in (grid.panels[:4], grid.panels[4:8]):
                shared = len(_common([p.display_text for p in group]))
                assert {p.divergence_marks[0] for p in group} == {shared}
            # x: candidate 0 of each server side by side.
            await pilot.press("x")
            await pilot.pause()
            assert isinstance(app.screen, CompareAcrossScreen)
            columns = [str(s.render()) for s in app.screen.query(".across-text").results(Static)]
            assert columns[0].startswith(texts[0][:20].split("\n")[0]) and len(columns) == 3
            await pilot.press("escape")
            await pilot.pause()
            assert not isinstance(app.screen, CompareAcrossScreen)
            # Going on from a candidate is refused in one line.
            await pilot.press("enter")
            await pilot.pause()
            assert any("is for a run of one server" in str(n.message) for n in app._notifications)
            await wait_idle(app, pilot)
        with HistoryStore(default_path()) as store:
            [summary] = store.list()
            stored = store.get(summary.id)
    assert summary.servers == 3 and stored is not None
    assert [(g.label, g.state.status) for g in stored.groups] == [
        ("A", Status.FINISHED), ("old", Status.FINISHED), ("C", Status.FAILED)]
    assert [c.text for c in stored.groups[0].state.ordered()] == [texts[i] for i in range(4)]


def _common(texts: list[str]) -> str:
    first = texts[0]
    for i, ch in enumerate(first):
        if any(len(t) <= i or t[i] != ch for t in texts[1:]):
            return first[:i]
    return first


async def test_escape_cancels_every_server_and_a_plain_run_follows() -> None:
    with DemoServer(token_delay=0.05) as one, DemoServer(token_delay=0.05) as two:
        app = make_app(one.url, "The", n=2, max_tokens=400)
        app.session.set_compare([ServerTarget("B", two.url)])
        async with app.run_test(size=SIZE) as pilot:
            await wait_idle(app, pilot)
            await pilot.press("ctrl+j")
            for _ in range(200):
                compare = app.session.compare
                if compare is not None and all(g.state.total_chars for g in compare.groups):
                    break
                await pilot.pause(0.05)
            await pilot.press("escape")
            await wait_idle(app, pilot)
            compare = app.session.compare
            assert compare is not None and [g.state.status for g in compare.groups] == [Status.CANCELLED] * 2
            grid = app.query_one(CandidateGrid)
            assert [p.raw_text for p in grid.panels] == [
                c.text for g in compare.groups for c in g.state.ordered()] and all(p.raw_text for p in grid.panels)
            # Stop comparing (the palette): the next run is of one server, titled as before.
            commands = {c.title: c for c in app.get_system_commands(app.screen)}
            commands["Stop comparing"].callback()
            app.main.sidebar.query_one("#field-max_tokens", Input).value = "4"
            await run_to_end(app, pilot)
            assert app.session.compare is None and [p.name_shown for p in grid.panels] == ["Candidate 0", "Candidate 1"]
            assert len(summary_lines(app)) == 1 and app.query_one(RunSummary).size.height == 1
            await pilot.press("ctrl+o", "x")
            await pilot.pause()
            assert not isinstance(app.screen, CompareAcrossScreen)
            assert any("Nothing to compare across" in str(n.message) for n in app._notifications)


async def test_the_palette_adds_a_server_through_its_url_prompt(demo_url: str) -> None:
    app = make_app(demo_url, "The", n=2, max_tokens=5)
    async with app.run_test(size=SIZE) as pilot:
        await wait_idle(app, pilot)
        commands = {c.title: c for c in app.get_system_commands(app.screen)}
        assert "Stop comparing" not in commands
        assert header(app) == (demo_url, None)
        commands["Compare with a server…"].callback()
        await pilot.pause()
        assert isinstance(app.screen, CompareUrlScreen)
        field = app.screen.query_one("#compare-url", Input)
        field.value = "ftp://nowhere"
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, CompareUrlScreen)  # a bad URL is said in the dialog, which stays
        assert str(app.screen.query_one("#compare-problem", Static).render())
        field.value = f"A={demo_url}"
        await pilot.press("enter")
        await pilot.pause()
        assert "the label A is taken" in str(app.screen.query_one("#compare-problem", Static).render())
        field.value = f"twin={demo_url}"
        await pilot.press("enter")
        await pilot.pause()
        assert not isinstance(app.screen, CompareUrlScreen)
        assert [t.label for t, _ in app.session.compare_with] == ["twin"]
        await pilot.pause()
        assert header(app) == (f"A {demo_url}", f"+ twin {demo_url}")
        assert str(app.query_one("#server-facts", Label).render()) == "A: max_model_len 2048"  # whose facts
        await run_to_end(app, pilot)
        grid = app.query_one(CandidateGrid)
        assert [p.name_shown for p in grid.panels] == ["A · Candidate 0", "A · Candidate 1", "twin · Candidate 0",
                                                       "twin · Candidate 1"]
        assert all(p.raw_text for p in grid.panels)
        {c.title: c for c in app.get_system_commands(app.screen)}["Stop comparing"].callback()
        await pilot.pause()
        assert header(app) == (demo_url, None)
        assert str(app.query_one("#server-facts", Label).render()) == "max_model_len 2048"
        await asyncio.sleep(0)


async def test_comparing_the_panels_of_every_server_wait_mounted_and_laid_out_in_groups(demo_url: str) -> None:
    """While idle, n panels per server are mounted, and those in view laid out (under the
    hint) in the groups a run shows: the run mounts none and keeps their shape."""
    app = make_app(demo_url, "The", n=4, max_tokens=4)  # 160 columns: 2 groups of 2 x 2 (not 3 columns of 8)
    app.session.set_compare([ServerTarget("B", demo_url)])
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_idle(app, pilot)
        grid = app.query_one(CandidateGrid)
        for _ in range(200):  # the mounting, 8 at a time, then the staging
            if len(grid.query(CandidatePanel)) >= 8 and grid.staged:
                break
            await pilot.pause(0.05)
        await wait_idle(app, pilot)
        mounted = {p.index: p for p in grid.query(CandidatePanel)}
        assert sorted(mounted) == list(range(8))
        staged = {p.index: p.region.column_span for p in grid.staged}
        assert staged and set(staged) <= set(mounted)
        await run_to_end(app, pilot)
        assert {p.index: p for p in grid.query(CandidatePanel)} == mounted, "the run mounted panels"
        assert [p.name_shown for p in grid.panels][3:5] == ["A · Candidate 3", "B · Candidate 0"]
        # The same columns (the summary's second line takes a row from the grid's height).
        assert {i: mounted[i].region.column_span for i in staged} == staged, "the groups' shape was not the staged one"


async def test_a_comparison_from_the_history_shows_its_groups_again(demo_url: str, unused_url: str) -> None:
    app = make_app(demo_url, "The", n=2, max_tokens=5)
    app.session.set_compare([ServerTarget("gone", unused_url.replace("http://", "http://me:hunter2@"))])
    async with app.run_test(size=SIZE) as pilot:
        await wait_idle(app, pilot)
        assert header(app) == (f"A {demo_url}", f"+ gone {unused_url}")  # never the secret in a URL
        await run_to_end(app, pilot)
        await wait_idle(app, pilot)
        texts = [c.text for c in app.session.compare.groups[0].state.ordered()]
        assert len(texts) == 2 and all(texts)
        with HistoryStore(default_path()) as store:
            [summary] = store.list()
            stored = store.get(summary.id)
        assert stored is not None and [g.label for g in stored.groups] == ["A", "gone"]
        app.session.set_compare([])  # the stored run is shown as it was, comparing or not now
        app.main.show_stored_run(stored)
        await wait_idle(app, pilot)
        grid = app.query_one(CandidateGrid)
        assert [p.name_shown for p in grid.panels] == ["A · Candidate 0", "A · Candidate 1", "gone · Candidate 0",
                                                       "gone · Candidate 1"]
        assert [p.raw_text for p in grid.panels[:2]] == texts
        assert {p.panel_state for p in grid.panels[2:]} == {"failed"}
        lines = summary_lines(app)
        assert lines[0].startswith(f"from history #{summary.id} · A · completions") and "gone · ? · failed: " in lines[1]


async def test_the_header_fits_many_servers_and_keeps_the_facts_in_view(demo_url: str) -> None:
    others = [ServerTarget(label, f"{demo_url}/{label}/a/long/path") for label in ("B", "C", "D")]
    app = TuiClientApp(ClientConfig(url=demo_url), request_for(OPENAI_REC), compare=others)
    async with app.run_test(size=(120, 30)) as pilot:
        await wait_idle(app, pilot)
        await pilot.pause()
        bar = app.query_one("#server-bar")
        compare, facts = app.query_one("#server-compare", Label), app.query_one("#server-facts", Label)
        assert header(app)[1] == "+ " + " · ".join(f"{t.label} {t.url}" for t in others)
        assert 8 <= compare.content_size.width < len(header(app)[1])  # ellipsised, not cut by the edge
        assert facts.content_size.width >= len("A: max_model_len 2048")
        assert max(label.region.right for label in bar.query(Label) if label.display) <= bar.region.right
        await pilot.resize_terminal(280, 30)
        await pilot.pause()
        assert compare.content_size.width == len(header(app)[1])  # room enough: all of it
