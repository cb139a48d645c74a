"""SIGTERM and SIGHUP to the app in a real terminal: the run saved, the terminal restored, a clean exit."""

from __future__ import annotations

import signal

import pytest
from tty_app import TtyApp

from tui_client.core.protocol import Status
from tui_client.core.storage.history import HistoryStore

ENTER_ALT_SCREEN = b"\x1b[?1049h"
RESTORED = (b"\x1b[?1049l", b"\x1b[?1000l", b"\x1b[?1003l", b"\x1b[?1006l", b"\x1b[?25h")
"""Leave the alternate screen, stop mouse tracking (clicks, motion, SGR), show the cursor."""

TOKENS_CAME = " tok \N{MIDDLE DOT}".encode()  # a panel's bottom line: streaming · 12 tok · ...


def assert_restored(app: TtyApp) -> None:
    after = app.output.rsplit(ENTER_ALT_SCREEN, 1)[1]
    for sequence in RESTORED:
        assert sequence in after, f"{sequence!r} was not written"


def saved_runs() -> list[tuple[Status, list[str]]]:
    with HistoryStore() as store:
        runs = [store.get(summary.id) for summary in store.list()]
    return [(run.state.status, [c.text for c in run.state.ordered()]) for run in runs if run is not None]


@pytest.mark.parametrize(("how", "status"), [("SIGTERM", 143), ("SIGHUP", 129), ("hang up", 129)])
def test_a_stop_signal_mid_run_saves_it_and_restores_the_terminal(how: str, status: int, slow_demo_url: str) -> None:
    app = TtyApp("--url", slow_demo_url, "--prompt", "Once", "--n", "2", "--max-tokens", "2000", "--run")
    app.read_until(TOKENS_CAME)
    if how == "hang up":
        app.hang_up()  # the terminal's window closed: the kernel sends SIGHUP
    else:
        app.proc.send_signal(getattr(signal, how))
    assert app.wait() == status
    if how != "hang up":  # nothing can be read from a closed terminal
        assert_restored(app)
        assert b"Traceback" not in app.output
    [(run_status, texts)] = saved_runs()
    assert run_status is Status.CANCELLED
    assert len(texts) == 2 and all(texts), texts


def test_sigterm_when_idle_restores_the_terminal(slow_demo_url: str) -> None:
    app = TtyApp("--url", slow_demo_url)
    app.read_until(b"No candidates yet")
    app.proc.send_signal(signal.SIGTERM)
    assert app.wait() == 143
    assert_restored(app)
    assert b"Traceback" not in app.output
    assert saved_runs() == []
