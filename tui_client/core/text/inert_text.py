"""Make model text inert for display: visible stand-ins for everything a terminal obeys.

Model output is untrusted. Written to a terminal as is, an ESC starts a control
sequence (colours, cursor moves, clearing the screen, OSC 0 retitling the window,
OSC 52 writing the clipboard), a C1 byte such as ``\\x9b`` (8-bit CSI) does the
same on some terminals, BEL rings, and bidi overrides reorder what the user reads.
:func:`make_inert` replaces each such character by a visible, harmless stand-in:

- C0 controls except ``\\n`` and ``\\t`` -> Unicode Control Pictures (ESC -> ``␛``,
  BEL -> ``␇``, NUL -> ``␀``); DEL -> ``␡``;
- CR: ``\\r\\n`` -> ``\\n`` (Windows line ends), a lone ``\\r`` -> ``␍``;
- C1 controls (U+0080..U+009F), bidi controls (LRE/RLE/PDF/LRO/RLO, LRI/RLI/FSI/PDI,
  LRM/RLM/ALM), line/paragraph separators (U+2028/U+2029) -> ``⟨U+XXXX⟩``;
- lone surrogates (undecodable input) -> ``U+FFFD``;
- tabs are kept, or become ``tab_size`` spaces when asked.

For a laid-out screen, it also drops what terminals disagree on the width of (pass
``exact=True`` to keep them, as the command line does): U+FE0F (VS16, emoji
presentation: rich counts ``❤️`` as 2 cells, tmux and VTE advance 1), U+200D (ZWJ: rich
counts ``🏳️‍🌈`` as 2 cells, per-code-point terminals 3, tmux 1) and the skin-tone
modifiers U+1F3FB..U+1F3FF (``👍🏽``: 2 cells in rich and kitty, 4 in tmux). Without them
every terminal and rich count each code point alike, so borders stay where they are;
``❤️`` is shown as ``❤``. The text itself (history, exports, copies) is never changed.

Every replacement is per character (``\\r\\n`` aside), so ``make_inert(a + b) ==
make_inert(a) + make_inert(b)`` whenever ``a`` does not end with ``\\r``: a growing
text can be made inert one delta at a time.

Pure Python, no Textual import: usable from any front end.
"""

from __future__ import annotations

import re

__all__ = ["CONTROL_PICTURE_OFFSET", "fold_cells", "is_inert", "make_inert"]

CONTROL_PICTURE_OFFSET = 0x2400
"""U+2400 (␀) + code point gives the Control Picture of a C0 control."""

_BIDI = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_SEPARATORS = "\u2028\u2029"
_WIDTH_AMBIGUOUS = "\ufe0f\u200d\U0001f3fb-\U0001f3ff"

# Everything that needs a stand-in (\n and \t are allowed; \r is handled apart).
_UNSAFE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f" + _BIDI + _SEPARATORS + "\ud800-\udfff]"
)
_FOLDED = re.compile(f"[{_WIDTH_AMBIGUOUS}]")


def _stand_in(char: str) -> str:
    code = ord(char)
    if code < 0x20:
        return chr(CONTROL_PICTURE_OFFSET + code)
    if code == 0x7F:
        return "\u2421"  # ␡
    if 0xD800 <= code <= 0xDFFF:
        return "\ufffd"
    return f"\u27e8U+{code:04X}\u27e9"  # ⟨U+009B⟩


_TABLE: dict[int, str] = {}
for _code in [*range(0x00, 0x09), *range(0x0B, 0x20), *range(0x7F, 0xA0)]:
    _TABLE[_code] = _stand_in(chr(_code))
for _char in _BIDI + _SEPARATORS:
    _TABLE[ord(_char)] = _stand_in(_char)


def _replace(match: re.Match[str]) -> str:
    char = match.group()
    return _TABLE.get(ord(char)) or _stand_in(char)


def make_inert(text: str, *, tab_size: int | None = None, exact: bool = False) -> str:
    """``text`` with every terminal-active character replaced by a visible stand-in.

    ``\\n`` is kept. ``\\t`` is kept, or replaced by ``tab_size`` spaces when given.
    Unless ``exact``, the width-ambiguous emoji parts are dropped (see above).
    Text without anything to replace is returned unchanged (the same object).
    """
    if not exact and _FOLDED.search(text) is not None:
        text = _FOLDED.sub("", text)
    if "\r" in text:
        text = text.replace("\r\n", "\n")
    if _UNSAFE.search(text) is not None:
        text = _UNSAFE.sub(_replace, text)
    if tab_size is not None and "\t" in text:
        text = text.replace("\t", " " * tab_size)
    return text


def is_inert(text: str) -> bool:
    """True when ``text`` holds nothing a terminal would act on (besides ``\\n``/``\\t``)."""
    return "\r" not in text and _UNSAFE.search(text) is None


def fold_cells(text: str) -> str:
    """``text`` without the width-ambiguous emoji parts (for text drawn by a widget it does not own)."""
    return _FOLDED.sub("", text) if _FOLDED.search(text) is not None else text
