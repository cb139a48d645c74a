"""Pure checks behind issue #16's values: secrets kept out of messages, bounds, keys."""

from __future__ import annotations

import pytest

from tui_client.core.protocol import ClientError, ErrorKind
from tui_client.core.protocol.errors import without_userinfo


@pytest.mark.parametrize(("text", "expected"), [
    ("http://alice:hunter2@127.0.0.1:99999", "http://127.0.0.1:99999"),
    ("not an http(s) URL: 'ftp://alice:hunter2@x'", "not an http(s) URL: 'ftp://x'"),
    ("bad port in URL 'alice:hunter2@h:99999'", "bad port in URL 'h:99999'"),
    ("http://a:p@ss@h/x?q=a@b", "http://h/x?q=a@b"),  # the authority's last @; not the query's
    ("http://alice:pw@[::1]:80/v1", "http://[::1]:80/v1"),
    ("http://[::1", "http://[::1"),
    ("write to bob@example.com", "write to bob@example.com"),  # an e-mail is not a URL
])
def test_without_userinfo(text: str, expected: str) -> None:
    assert without_userinfo(text) == expected


def test_a_client_error_never_holds_a_password() -> None:
    err = ClientError(ErrorKind.CONNECT, "cannot reach http://u:hunter2@h:1", url="http://u:hunter2@h:1")
    assert "hunter2" not in str(err) + str(err.url) + err.message
