"""make_inert: model text can never style, move the cursor or retitle the terminal."""

from __future__ import annotations

import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from tui_client.core.text.inert_text import fold_cells, is_inert, make_inert


def test_plain_text_is_returned_unchanged() -> None:
    text = "Hello, world!\n\tindented — ünïcode 中文 🙂"
    assert make_inert(text) is text
    assert is_inert(text)


def test_markup_is_left_as_text() -> None:
    # Markup is harmless as long as nobody parses it: the sanitizer leaves it alone.
    text = "[bold]x[/] [@click=app.quit]quit[/]"
    assert make_inert(text) == text


def test_escape_sequences_become_control_pictures() -> None:
    assert make_inert("\x1b[2J\x1b[31mred") == "␛[2J␛[31mred"
    assert make_inert("\x1b]0;owned\x07") == "␛]0;owned␇"  # OSC title + BEL
    assert make_inert("\x1b]52;c;SGVsbG8=\x1b\\") == "␛]52;c;SGVsbG8=␛\\"  # OSC 52 clipboard


def test_c0_controls_and_del() -> None:
    assert make_inert("a\x00b\x08c\x0bd\x0ce\x7f") == "a␀b␈c␋d␌e␡"


def test_newline_and_tab_are_kept() -> None:
    assert make_inert("a\nb\tc") == "a\nb\tc"
    assert make_inert("a\tb", tab_size=4) == "a    b"


def test_carriage_returns() -> None:
    assert make_inert("line1\r\nline2\r\n") == "line1\nline2\n"
    assert make_inert("progress 10%\rprogress 20%") == "progress 10%␍progress 20%"


def test_c1_controls_get_a_visible_marker() -> None:
    assert make_inert("\x9b2J") == "⟨U+009B⟩2J"  # 8-bit CSI
    assert make_inert("\x9d0;t\x9c") == "⟨U+009D⟩0;t⟨U+009C⟩"  # 8-bit OSC .. ST
    assert make_inert("a\x85b") == "a⟨U+0085⟩b"  # NEL


def test_bidi_controls_get_a_visible_marker() -> None:
    assert make_inert("abc\u202edcba") == "abc⟨U+202E⟩dcba"
    for char in "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u2066\u2067\u2068\u2069\u2028\u2029":
        out = make_inert(f"x{char}y")
        assert char not in out
        assert out == f"x⟨U+{ord(char):04X}⟩y"


def test_lone_surrogates_are_replaced() -> None:
    assert make_inert("a\ud800b") == "a\ufffdb"


@given(st.text())
def test_output_holds_nothing_a_terminal_obeys(text: str) -> None:
    out = make_inert(text)
    assert is_inert(out)
    for char in out:
        if char in "\n\t":
            continue
        assert unicodedata.category(char) not in ("Cc", "Cs"), repr(char)


@given(st.text(), st.text())
def test_deltas_can_be_made_inert_one_at_a_time(a: str, b: str) -> None:
    if a.endswith("\r"):
        a += "x"
    assert make_inert(a + b) == make_inert(a) + make_inert(b)


@given(st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cs", "Cf", "Zl", "Zp"))))
def test_printable_text_is_untouched_when_exact(text: str) -> None:
    assert make_inert(text, exact=True) == text
    assert make_inert(text) == fold_cells(text)


def test_emoji_parts_of_ambiguous_width_are_dropped_for_display() -> None:
    # VS16, ZWJ, skin tones: rich and the terminals disagree on their width (issue #16, item 14).
    assert make_inert("I ❤️ 🏳️‍🌈 👍🏽 1️⃣") == "I ❤ 🏳🌈 👍 1⃣"
    assert make_inert("I ❤️ 🏳️‍🌈 👍🏽\x1b", exact=True) == "I ❤️ 🏳️‍🌈 👍🏽␛"
    assert make_inert("\ufe0f") == "" and fold_cells("👍🏿") == "👍"
    plain = "no emoji here ❤ 中文"
    assert make_inert(plain) is plain and fold_cells(plain) is plain


@given(st.text(), st.text())
def test_folding_is_per_character(a: str, b: str) -> None:
    assert fold_cells(a + b) == fold_cells(a) + fold_cells(b)
    assert not any(char in fold_cells(a) for char in "\ufe0f\u200d\U0001f3fb\U0001f3ff")
