"""Running the app in a real pseudo-terminal, for the signal and terminal-restore tests."""

from __future__ import annotations

import fcntl
import os
import select
import struct
import subprocess
import sys
import termios


class TtyApp:
    """``tui-client ARGS`` on a fresh pty (its controlling terminal, and stdin, stdout and
    stderr: Textual draws on stderr), 160 x 48; ``output`` is what it wrote."""

    def __init__(self, *args: str) -> None:
        self.master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 48, 160, 0, 0))
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tui_client", *args], stdin=slave, stdout=slave, stderr=slave,
            env={**os.environ, "TERM": "xterm-256color", "COLUMNS": "160", "LINES": "48"},
            start_new_session=True, preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0),
        )
        os.close(slave)
        self.output = b""

    def read(self, timeout: float = 30) -> bytes:
        """What the app wrote next; b"" once the terminal closed (or nothing came for ``timeout`` s)."""
        if self.master < 0 or not select.select([self.master], [], [], timeout)[0]:
            return b""
        try:
            data = os.read(self.master, 65536)
        except OSError:  # the app's end closed
            return b""
        self.output += data
        return data

    def read_until(self, needle: bytes) -> None:
        while needle not in self.output:
            assert self.read(), f"{needle!r} never came; the app wrote {self.output[-2000:]!r}"

    def read_to_end(self) -> None:
        while self.read():
            pass

    def hang_up(self) -> None:
        """Close the terminal, as closing its window does (the app gets SIGHUP)."""
        os.close(self.master)
        self.master = -1

    def wait(self, timeout: float = 60) -> int:
        """The exit status, once the app has ended (what it wrote is read first)."""
        self.read_to_end()
        status = self.proc.wait(timeout)
        if self.master >= 0:
            os.close(self.master)
            self.master = -1
        return status
