"""Starting the full-screen app from the command line (Textual is imported only here, and only then)."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from tui_client.core.protocol import ClientConfig, GenerationRequest
from tui_client.core.protocol.compare import ServerTarget
from tui_client.core.storage.config import Config

__all__ = ["run_tui"]


def run_tui(
    config: ClientConfig, request: GenerationRequest, settings: Config, *, run_on_start: bool, demo: bool, insecure: bool,
    compare: Sequence[ServerTarget] = (), label: str | None = None,
) -> int:
    """Run the app until it quits; 2 when the configured theme does not exist, 143 / 129
    after SIGTERM / SIGHUP (a run going is saved first)."""
    from tui_client.ui.app import TuiClientApp
    from tui_client.ui.keys import keymap_problems

    for binding, problem in keymap_problems(settings.keys).items():
        print(f"tui-client: error: {settings.where(f'keys.{binding}')}: keys.{binding}: {problem}", file=sys.stderr)
        return 2
    note = "embedded demo server" if demo else None
    if insecure:
        note = "TLS verification off (--insecure)" if note is None else f"{note}; TLS verification off"
    theme = settings.theme.value
    app = TuiClientApp(config, request, run_on_start=run_on_start, demo_url_note=note, theme=theme,
                       keymap=settings.keys, compare=list(compare), label=label)
    if theme is not None and theme not in app.available_themes:
        print(f"tui-client: error: {settings.path}: theme: unknown theme {theme!r} "
              f"(one of {', '.join(sorted(app.available_themes))})", file=sys.stderr)
        return 2
    app.run()
    return app.return_code or 0
