"""The demo server the protocol tests talk to (one per module), and an HTTP client to it."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tui_client.demo.server import DemoServer


@pytest.fixture(scope="module")
def server() -> Iterator[DemoServer]:
    with DemoServer(token_delay=0) as srv:
        yield srv


@pytest.fixture
def http(server: DemoServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        yield client
