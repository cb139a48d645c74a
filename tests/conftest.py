"""Shared fixtures: loopback servers the tests talk real HTTP to."""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tui_client.core.protocol.client import API_KEY_ENV_VARS
from tui_client.core.storage.config import ENV_VARS
from tui_client.core.storage.paths import CONFIG_ENV, DATA_DIR_ENV

sys.path.insert(0, str(Path(__file__).parent / "support"))


def pytest_configure(config: pytest.Config) -> None:
    """`generate` reads a piped stdin as its prompt: the processes the tests start read
    /dev/null, never the test runner's own pipe (which may stay open)."""
    if not os.isatty(0):
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.close(devnull)


@pytest.fixture(autouse=True)
def _private_user_dirs(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reads the developer's config file or writes to their history."""
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path_factory.mktemp("data")))
    monkeypatch.setenv(CONFIG_ENV, str(tmp_path_factory.mktemp("cfg") / "config.toml"))
    for name in (*ENV_VARS.values(), *API_KEY_ENV_VARS):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session")
def demo_url() -> Iterator[str]:
    """The embedded demo server, as fast as it goes (token_delay=0)."""
    from tui_client.demo.server import DemoServer

    with DemoServer(token_delay=0.0) as demo:
        yield demo.url


@pytest.fixture(scope="session")
def slow_demo_url() -> Iterator[str]:
    """The demo server at 50 steps a second: runs last long enough to cancel."""
    from tui_client.demo.server import DemoServer

    with DemoServer(token_delay=0.02) as demo:
        yield demo.url


@pytest.fixture
def unused_url() -> str:
    """A loopback URL where nothing listens (connection refused)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"
