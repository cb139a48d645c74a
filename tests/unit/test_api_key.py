"""The API key comes from the flag or the environment, never from a file."""

from __future__ import annotations

import pytest

from tui_client.core.protocol import api_key_from_env


@pytest.mark.parametrize(
    ("env", "key"),
    [({}, None), ({"VLLM_API_KEY": "a"}, "a"), ({"OPENAI_API_KEY": "b"}, "b"),
     ({"VLLM_API_KEY": "", "OPENAI_API_KEY": "b"}, "b"), ({"VLLM_API_KEY": "a", "OPENAI_API_KEY": "b"}, "a")],
)
def test_vllms_variable_first_then_openais(monkeypatch: pytest.MonkeyPatch, env: dict[str, str], key: str | None) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert api_key_from_env() == key
