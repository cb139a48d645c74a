"""Running ``python -m tui_client ...`` in a subprocess, as a user would, for the CLI tests."""

from __future__ import annotations

import os
import select
import subprocess
import sys
from collections.abc import Mapping

from tui_client.core.protocol.client import API_KEY_ENV_VARS


def run_cli(
    *args: str, env: Mapping[str, str] | None = None, base: Mapping[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """The command's result, text mode; its environment is ``base`` (default: this one) plus ``env``."""
    return subprocess.run(
        [sys.executable, "-m", "tui_client", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**(os.environ if base is None else base), **(env or {})},
    )


def environ_without_user_settings() -> dict[str, str]:
    """This environment minus every ``TUI_CLIENT_*`` variable and the API keys."""
    return {k: v for k, v in os.environ.items() if not k.startswith("TUI_CLIENT_") and k not in API_KEY_ENV_VARS}


def read_terminal(master: int, silence: float = 30) -> bytes:
    """All a process wrote to the pty ``master``, until it closed its side (or wrote nothing for ``silence`` s)."""
    chunks = []
    while select.select([master], [], [], silence)[0]:
        try:
            data = os.read(master, 65536)
        except OSError:  # Linux: EIO once the other side is closed
            break
        if not data:
            break
        chunks.append(data)
    return b"".join(chunks)
