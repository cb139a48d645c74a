"""The key table: every binding once, ids as users' config files know them, classes built from it."""

from __future__ import annotations

from textual.binding import Binding

from tui_client.ui.keys import KEYS, bindings_for, known_binding_ids

IDS = {
    "main": ["app.run", "app.cancel", "app.reconnect", "app.switch_pane", "app.toggle_controls", "app.help",
             "app.divergence", "app.tails", "app.probabilities", "app.sort", "app.history", "app.server", "app.cut_turn", "app.new_chat", "app.export_markdown", "app.export_json",
             "app.copy_all", "app.compare_across"],
    "candidate": ["candidate.copy", "candidate.inspect", "candidate.token_next", "candidate.token_previous",
                  "candidate.close_tokens", "candidate.continue", "candidate.fork", "candidate.alternative",
                  "candidate.alternative_previous", "candidate.maximize", "candidate.next", "candidate.previous", "candidate.follow"],
    "nslider": ["nslider.less", "nslider.more", "nslider.page_less", "nslider.page_more", "nslider.minimum",
                "nslider.maximum"],
    "history": ["history.close", "history.rerun", "history.edit", "history.delete", "history.search", "history.parent",
                "history.child"],
    "history.table": ["history.load"],
    "help": ["help.close"],
    "confirm": ["confirm.yes", "confirm.no"],
    "server": ["server.close", "server.refresh"],
    "compare_url": ["compare_url.cancel"],
    "compare_across": ["compare_across.close"],
}


def test_the_ids_are_the_ones_config_files_remap_in_order() -> None:
    assert {place: [key.id for key in keys] for place, keys in KEYS.items()} == IDS
    assert known_binding_ids() == {i for ids in IDS.values() for i in ids}


def test_every_id_is_defined_once() -> None:
    ids = [key.id for keys in KEYS.values() for key in keys]
    assert len(ids) == len(set(ids))


def test_bindings_carry_every_field() -> None:
    run = next(b for b in Binding.make_bindings(bindings_for("main")) if b.id == "app.run")
    assert (run.key, run.action, run.description, run.priority, run.show) == ("ctrl+j", "run", "Run", True, True)
    assert run.tooltip.startswith("Start a run")
    keys = [b.key for b in Binding.make_bindings(bindings_for("main")) if b.id == "app.run"]
    assert keys == ["ctrl+j", "ctrl+enter"]
    tails = next(b for b in Binding.make_bindings(bindings_for("main")) if b.id == "app.tails")
    assert not tails.show and not tails.priority


def test_the_classes_take_their_bindings_from_the_table() -> None:
    from tui_client.ui.main_screen import MainScreen
    from tui_client.ui.screens.compare_across_screen import CompareAcrossScreen
    from tui_client.ui.screens.compare_url_screen import CompareUrlScreen
    from tui_client.ui.screens.confirm_screen import ConfirmScreen
    from tui_client.ui.screens.help_screen import HelpScreen
    from tui_client.ui.screens.history_screen import HistoryScreen, RunTable
    from tui_client.ui.screens.server_screen import ServerScreen
    from tui_client.ui.widgets.candidates.panel import CandidatePanel
    from tui_client.ui.widgets.controls.n_slider import NSlider

    classes = {"main": MainScreen, "candidate": CandidatePanel, "nslider": NSlider, "history": HistoryScreen,
               "history.table": RunTable, "help": HelpScreen, "confirm": ConfirmScreen, "server": ServerScreen,
               "compare_url": CompareUrlScreen, "compare_across": CompareAcrossScreen}
    for place, cls in classes.items():
        assert list(Binding.make_bindings(cls.BINDINGS)) == list(Binding.make_bindings(bindings_for(place))), place
