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


def test_every_integer_is_bounded_in_one_place() -> None:
    from tui_client.core.defaults import LIMITS, MAX_N
    from tui_client.core.protocol import SamplingParams

    huge = 10**20
    assert set(SamplingParams(n=huge, top_k=huge, max_tokens=huge, seed=huge).problems()) == {
        "n", "top_k", "max_tokens", "seed"}
    at_most = SamplingParams(n=LIMITS["n"], top_k=LIMITS["top_k"], max_tokens=LIMITS["max_tokens"])
    assert at_most.problems() == {}
    assert SamplingParams(n=MAX_N + 1).problems(max_n=MAX_N) == {"n": f"n must be between 1 and {MAX_N}, got {MAX_N + 1}"}


@pytest.mark.parametrize("keys", ["ctrl+j,ctrl+enter", "f1,question_mark", "ctrl+shift+f5", "comma", "é", "shift+tab",
                                  "super+hyper+meta+alt+a", "ctrl+@", "space"])
def test_textual_key_names_are_accepted(keys: str) -> None:
    from tui_client.ui.keys import keys_problem

    assert keys_problem(keys) is None


@pytest.mark.parametrize("keys", ["ctrl+shift+alt+banana", "???,,,", "", "a,", "Ctrl+a", "F5", "ctrl+", "ctrl+ctrl+a"])
def test_what_is_not_a_key_name_is_refused(keys: str) -> None:
    from tui_client.ui.keys import keys_problem

    assert keys_problem(keys)


def test_every_default_binding_passes_the_check() -> None:
    from tui_client.ui.keys import KEYS, keymap_problems

    assert keymap_problems({key.id: key.keys for keys in KEYS.values() for key in keys}) == {}
