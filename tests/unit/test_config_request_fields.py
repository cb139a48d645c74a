"""The config file's ``system`` (the chat API's system prompt) and ``[params]`` (extra request fields)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tui_client.core.storage.config import ConfigError, Setting, load_config

TEXT = '''\
api = "chat"
system = """You answer
in three words."""

[params]
min_p = 0.05
ignore_eos = true
min_tokens = 8
logit_bias = { "50256" = -100 }

[params.structured_outputs]
choice = [" yes", " no"]
'''


def load(tmp_path: Path, text: str):
    path = tmp_path / "config.toml"
    path.write_text(text)
    return load_config(path, {})


def test_system_and_params(tmp_path: Path) -> None:
    config = load(tmp_path, TEXT)
    assert config.system == Setting("You answer\nin three words.", "file")
    assert config.params == {"min_p": 0.05, "ignore_eos": True, "min_tokens": 8, "logit_bias": {"50256": -100},
                             "structured_outputs": {"choice": [" yes", " no"]}}
    assert type(config.params["min_tokens"]) is int and type(config.params["ignore_eos"]) is bool
    assert config.where("params.min_tokens").endswith("config.toml:8")
    empty = load_config(tmp_path / "missing.toml", {})
    assert empty.system == Setting(None) and empty.params == {}


@pytest.mark.parametrize(("text", "message"), [
    ("[params]\ntemperature = 1\n", "FILE:2: params.temperature: temperature has a setting of its own ([sampling] "
     "temperature), not in [params]"),
    ("[params]\nmessages = []\n", "FILE:2: params.messages: messages has a setting of its own (--prompt), not in [params]"),
    ("[params]\nuse_beam_search = true\n", "FILE:2: params.use_beam_search: use_beam_search has a setting of its own "
     "(--beam-search), not in [params]"),
    ("[params]\nmodel = 'x'\n", "FILE:2: params.model: model has a setting of its own (model), not in [params]"),
    ("[params]\nwhen = 1979-05-27\n", "FILE:2: params.when: date is not a JSON value"),
    ("[params]\nx = [1, inf]\n", "FILE:2: params.x: numbers must be finite, not inf"),
    ("[params]\n'a b' = 1\n", "FILE:2: params.a b: 'a b' is not a field name (letters, digits and _)"),
    ("params = 3\n", "FILE:1: params: must be a table ([params]), not an integer"),
    ("system = ''\n", "FILE:1: system: must be a non-empty string, not an empty string"),
])
def test_a_bad_value_is_one_line_naming_file_line_and_key(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        load(tmp_path, text)
    assert str(info.value).replace(str(tmp_path / "config.toml"), "FILE") == message
