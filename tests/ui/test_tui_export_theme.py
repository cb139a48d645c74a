"""Export and copy from the app; the theme remembered across starts; the config keymap."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pilot import SIZE, make_app, run_to_end, type_text, wait_idle
from textual.pilot import Pilot

from tui_client.core.protocol import ClientConfig
from tui_client.core.storage.export import to_json, to_markdown
from tui_client.core.storage.history import HistoryStore
from tui_client.core.storage.ui_state import load_ui_state, ui_state_path
from tui_client.ui.app import TuiClientApp


def notification_texts(app: TuiClientApp) -> list[str]:
    return [n.message for n in app._notifications]


async def test_export_json_and_markdown_to_the_current_directory(
    demo_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    app = make_app(demo_url, "The sea", n=3)
    async with app.run_test(size=SIZE) as pilot:
        await wait_idle(app, pilot)
        await pilot.press("ctrl+t")  # nothing to export yet
        assert "No run to export yet" in notification_texts(app)
        await run_to_end(app, pilot)
        run_id = app.main.run_history_id
        assert run_id is not None
        state = app.run_state
        assert state is not None

        await pilot.press("ctrl+t")  # JSON (works with the prompt focused)
        path = tmp_path / f"tui-client-run-{run_id}.json"
        doc = json.loads(path.read_text())
        assert doc.pop("id") == run_id and doc.pop("created")
        assert doc == json.loads(to_json(state))
        assert f"Exported the run to {path}" in notification_texts(app)

        await pilot.press("ctrl+s")  # Markdown
        md = tmp_path / f"tui-client-run-{run_id}.md"
        assert md.read_text().startswith(f"# tui-client run {run_id}\n")
        assert md.read_text().split("- **Server:**")[1] == to_markdown(state).split("- **Server:**")[1]
        assert all(f"## Candidate {c.index}" in md.read_text() and c.text in md.read_text() for c in state.ordered())

        # Again: a new file, never an overwrite.
        await pilot.press("ctrl+t")
        assert (tmp_path / f"tui-client-run-{run_id}-2.json").exists()

        # The palette commands do the same.
        commands = {c.title: c for c in app.get_system_commands(app.screen)}
        commands["Export run as Markdown"].callback()
        assert (tmp_path / f"tui-client-run-{run_id}-2.md").exists()


async def test_export_a_run_loaded_from_the_history_names_its_id(
    demo_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    app = make_app(demo_url, "The sea", n=2)
    async with app.run_test(size=SIZE) as pilot:
        await wait_idle(app, pilot)
        await run_to_end(app, pilot)
        with HistoryStore() as store:
            run = store.get(store.list()[0].id)
        assert run is not None
        app.main.show_stored_run(run)
        await wait_idle(app, pilot)
        await pilot.press("ctrl+t")
        doc = json.loads((tmp_path / f"tui-client-run-{run.id}.json").read_text())
        assert doc["id"] == run.id and doc["created"] and doc["prompt"] == "The sea"


async def test_export_without_a_history_id_uses_a_timestamp(
    demo_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    monkeypatch.setenv("TUI_CLIENT_DATA_DIR", str(blocker))  # the history cannot be written
    app = make_app(demo_url, n=2)
    async with app.run_test(size=SIZE) as pilot:
        await wait_idle(app, pilot)
        await run_to_end(app, pilot)
        await pilot.press("ctrl+s")
        [path] = tmp_path.glob("tui-client-run-*.md")
        assert len(path.stem.removeprefix("tui-client-run-")) == len("20260101-120000")


async def test_copy_one_and_copy_all(demo_url: str) -> None:
    app = make_app(demo_url, n=3)
    async with app.run_test(size=SIZE) as pilot:
        await wait_idle(app, pilot)
        await run_to_end(app, pilot)
        state = app.run_state
        assert state is not None
        await pilot.press("ctrl+o", "c")  # the focused panel
        assert app.clipboard == state.candidates[0].text
        await pilot.press("C")  # shift+c: every candidate
        assert app.clipboard == "\n\n".join(f"=== Candidate {c.index} ===\n{c.text}" for c in state.ordered())


async def change_theme_in_the_palette(pilot: Pilot, name: str) -> None:
    await pilot.press("ctrl+p")
    await type_text(pilot, "theme")  # Textual 8: "Theme: Change the current theme"
    await pilot.pause(0.3)
    await pilot.press("enter")
    await pilot.pause(0.3)
    await type_text(pilot, name)
    await pilot.pause(0.3)
    await pilot.press("enter")
    await pilot.pause()


async def test_the_theme_picked_in_the_palette_is_there_next_time(demo_url: str) -> None:
    app = make_app(demo_url)
    async with app.run_test(size=SIZE) as pilot:
        await wait_idle(app, pilot)
        assert app.theme == "textual-dark"
        assert not ui_state_path().exists()  # nothing written until a choice is made
        await change_theme_in_the_palette(pilot, "nord")
        assert app.theme == "nord"
    assert load_ui_state() == {"theme": "nord"}

    app = make_app(demo_url)
    async with app.run_test(size=SIZE) as pilot:
        await wait_idle(app, pilot)
        assert app.theme == "nord"
        app.theme = "gruvbox"
        await pilot.pause()
    assert load_ui_state()["theme"] == "gruvbox"

    # The config file's theme wins at startup; a palette choice is still remembered (and said).
    app = TuiClientApp(ClientConfig(url=demo_url), theme="dracula")
    async with app.run_test(size=SIZE) as pilot:
        await wait_idle(app, pilot)
        assert app.theme == "dracula"
        assert load_ui_state()["theme"] == "gruvbox"  # starting did not overwrite the choice
        app.theme = "monokai"
        await pilot.pause()
        assert any("config file's theme (dracula)" in text for text in notification_texts(app))
    assert load_ui_state()["theme"] == "monokai"


async def test_a_broken_state_file_means_the_default_theme(demo_url: str) -> None:
    ui_state_path().parent.mkdir(parents=True, exist_ok=True)
    ui_state_path().write_text("{not json")
    app = make_app(demo_url)
    async with app.run_test(size=SIZE) as pilot:
        await wait_idle(app, pilot)
        assert app.theme == "textual-dark"
    ui_state_path().write_text('{"theme": "no-such-theme"}')
    app = make_app(demo_url)
    async with app.run_test(size=SIZE) as pilot:
        await wait_idle(app, pilot)
        assert app.theme == "textual-dark"


async def test_the_keymap_shows_in_help_and_footer_and_unknown_ids_warn(demo_url: str) -> None:
    keymap = {"app.divergence": "g", "app.history": "f9", "candidate.copy": "y", "app.no_such_thing": "x"}
    app = TuiClientApp(make_app(demo_url, n=2).config, make_app(demo_url, n=2).initial_request, keymap=keymap)
    async with app.run_test(size=SIZE) as pilot:
        await wait_idle(app, pilot)
        warnings = [n for n in app._notifications if n.title == "Keys not remapped"]
        assert len(warnings) == 1 and "app.no_such_thing" in warnings[0].message
        assert "app.divergence" not in warnings[0].message
        assert app.main.key_of("history") == "f9"
        help_rows = {row[-1]: row[0] for _, rows in app.main.key_sections() for row in rows if len(row) == 3}
        assert help_rows["app.divergence"] == "g"
        assert help_rows["app.history"] == "f9"
        assert help_rows["candidate.copy"] == "y"
        assert help_rows["app.run"] == "^j / ^⏎"  # not remapped: as it was
        await run_to_end(app, pilot)
        await pilot.press("ctrl+o")
        active = app.screen.active_bindings
        assert active["g"].binding.action == "divergence" and "d" not in active
        assert active["f9"].binding.action == "history"
        assert active["y"].binding.action == "copy"
        await pilot.press("g")
        await pilot.pause()
        assert app.main.marks.marking
        await pilot.press("f9")
        assert app.screen is not app.default_screen
