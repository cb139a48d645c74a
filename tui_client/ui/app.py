"""The full-screen client: a prompt, n candidates streaming side by side.

The app holds what outlives a view: the config, the :class:`RunSession` (client, stream
worker, runs, history), the frame pacer, the keymap and the theme. The main view, its
keys and actions are :class:`~tui_client.ui.main_screen.MainScreen`, the default screen.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import ClassVar

from textual import events
from textual.app import App, ComposeResult, SystemCommand
from textual.screen import Screen
from textual.theme import Theme

from tui_client.core.defaults import TUI_DEFAULTS
from tui_client.core.protocol import (
    ClientConfig,
    GenerationRequest,
    RunState,
    ServerInfo,
)
from tui_client.core.protocol.compare import ServerTarget
from tui_client.core.protocol.params import request_from
from tui_client.core.run_session import RunSession
from tui_client.core.storage.ui_state import load_ui_state, save_ui_state
from tui_client.core.text.inert_text import make_inert
from tui_client.ui.keys import known_binding_ids
from tui_client.ui.main_screen import MainScreen
from tui_client.ui.rendering.pacer import FramePacer
from tui_client.ui.textual_compat import app_keymap

UI_DIR = Path(__file__).parent

DEFAULT_REQUEST = request_from(TUI_DEFAULTS)
"""What the controls show when no request is passed in."""

STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)
"""Signals that quit the app like a cancel: a run going is saved, the terminal restored,
and the exit status is 128 + the signal's number (143, 129)."""


class TuiClientApp(App[None]):
    """``TuiClientApp(config, request, run_on_start=False, demo_url_note=None).run()``."""

    TITLE = "tui-client"
    # The main screen's CSS is listed here: Textual loads a screen's CSS_PATH when it is
    # pushed, never for the default screen.
    CSS_PATH: ClassVar[list[str | Path]] = [  # type: ignore[assignment]
        UI_DIR / "app.tcss", UI_DIR / "main_screen.tcss",
    ]

    def __init__(
        self,
        config: ClientConfig | None = None,
        request: GenerationRequest | None = None,
        *,
        run_on_start: bool = False,
        demo_url_note: str | None = None,
        theme: str | None = None,
        keymap: Mapping[str, str] | None = None,
        compare: Sequence[ServerTarget] = (),
        label: str | None = None,
    ) -> None:
        super().__init__()
        self.config = config or ClientConfig()
        self.initial_request = request or DEFAULT_REQUEST
        self.run_on_start = run_on_start
        self.demo_url_note = demo_url_note
        self.session = RunSession(self.config)
        """The client, the stream worker, the runs and the history."""
        if compare:  # --url A --url B: the URLs were checked by the command line
            self.session.set_compare(list(compare), label=label)
        self.server_info: ServerInfo | None = None
        """What the server said it speaks (None until it answered)."""
        self.main = MainScreen(self.initial_request, self.session.describe(), note=demo_url_note)
        """The main view: the default screen."""
        self.pacer = FramePacer(self, self.main.draw)
        # Theme: the config file's wins; else the one last chosen in the palette.
        self.config_theme = theme
        saved = load_ui_state().get("theme")
        for name in (theme, saved):
            if isinstance(name, str) and name in self.available_themes:
                self.theme = name
                break
        self._theme_seen = self.theme
        self._signals_caught: list[int] = []
        self._stopped_by: int | None = None
        if keymap:
            self.set_keymap(dict(keymap))

    @property
    def run_state(self) -> RunState | None:
        """The state of the current or last run (the live object the protocol mutates)."""
        return self.session.state

    def get_default_screen(self) -> Screen:
        return self.main

    def compose(self) -> ComposeResult:
        yield from self.main.main_widgets()  # into the default screen, the main one

    def on_mount(self) -> None:
        self._catch_stop_signals()
        self.main.start()
        if self.run_on_start:
            self.call_after_refresh(self.main.action_run)
        self._theme_seen = self.theme
        self.theme_changed_signal.subscribe(self, self._theme_changed)
        unknown = sorted(set(app_keymap(self)) - known_binding_ids())
        if unknown:
            self.notify(
                make_inert(f"Unknown binding id{'s' if len(unknown) > 1 else ''} in the config file's [keys]: "
                           f"{', '.join(unknown)}. The ids are listed in the help ({self.main.key_of('help')})."),
                title="Keys not remapped", severity="warning", markup=False, timeout=10,
            )

    def on_resize(self, event: events.Resize) -> None:
        self.main.set_narrow(event.size.width)

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key) and self.main.running:
            self.pacer.key_pressed()  # its effect goes on screen before the next frame
        await super().on_event(event)

    async def run_action(self, action: object, default_namespace: object = None, namespaces: object = None) -> bool:
        # A disabled divergence key still answers: with why it is disabled.
        if isinstance(action, str) and default_namespace is self.main and self.main.explain_refusal(action):
            return True
        return await super().run_action(action, default_namespace, namespaces)  # type: ignore[arg-type]

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield from self.main.commands()

    def _theme_changed(self, theme: Theme) -> None:
        """A theme picked in the palette: remember it for the next start."""
        if theme.name == self._theme_seen:
            return
        self._theme_seen = theme.name
        try:
            save_ui_state(theme=theme.name)
        except OSError as err:
            self.notify(make_inert(f"The theme choice was not saved: {err}"), severity="warning", markup=False)
            return
        if self.config_theme is not None and self.config_theme != theme.name:
            self.notify(make_inert(f"Saved, but the config file's theme ({self.config_theme}) is used at startup"),
                        markup=False)

    def _catch_stop_signals(self) -> None:
        loop = asyncio.get_running_loop()
        for signum in STOP_SIGNALS:
            try:
                loop.add_signal_handler(signum, self._stop_by_signal, signum)
            except (NotImplementedError, RuntimeError, ValueError):  # not the main thread
                continue
            self._signals_caught.append(signum)

    def _stop_by_signal(self, signum: int) -> None:
        """SIGTERM or SIGHUP: quit as a cancel does (the run worker's end saves the run)."""
        if self._stopped_by is None:
            self._stopped_by = signum
            self.exit(return_code=128 + signum)

    async def on_unmount(self) -> None:
        loop = asyncio.get_running_loop()
        for signum in self._signals_caught:
            loop.remove_signal_handler(signum)
        self.pacer.resume_gc(now=True)
        await self.session.aclose()
