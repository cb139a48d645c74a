"""A run's per-token logprobs packed into one blob (the history's ``run_tokens``).

Columnar, little-endian, for all of a run's candidates at once: zlib over a table of the
distinct strings (token and alternative texts), the tokens' string ids, the alternatives'
counts and ids; then the logprobs, uncompressed (they hardly compress): float32 when that
keeps every value exactly (vLLM computes them in float32), else float64; -inf and NaN come
back as they were. Figures for 64 x 1024 tokens x 5 alternatives: ``benchmarks/notes/core.md``.
"""

from __future__ import annotations

import struct
import sys
import zlib
from array import array
from collections import defaultdict
from itertools import accumulate, chain
from operator import itemgetter

from tui_client.core.protocol import Candidate
from tui_client.core.protocol.packed_alternatives import PackedAlternatives, StringTable

__all__ = ["pack", "unpack"]

FORMAT = b"TLP1"
_HEAD = struct.Struct("<4sIIIc")  # format, strings, candidates, compressed bytes, float typecode
_CAND = struct.Struct("<III")  # index, tokens, alternatives
MAX_ALTERNATIVES = 255  # a count is one byte (vLLM's --max-logprobs caps K far below)

Tokens = tuple[list[str], list[float], PackedAlternatives]

_text, _value = itemgetter(0), itemgetter(1)


def pack(candidates: list[Candidate]) -> bytes | None:
    """The candidates' tokens as one blob; None when none has any."""
    cands = [c for c in candidates if c.token_texts]
    if not cands:
        return None
    ids: defaultdict[str, int] = defaultdict()
    ids.default_factory = ids.__len__  # a new string gets the next id
    token_ids, alt_ids, values, counts = array("I"), array("I"), array("d"), bytearray()
    alt_values = array("d")
    heads = []
    for cand in cands:
        token_ids.extend(map(ids.__getitem__, cand.token_texts))
        values.extend(cand.token_logprobs)
        tops = cand.token_tops
        alt_counts = tops.counts()
        if max(alt_counts, default=0) <= MAX_ALTERNATIVES:  # the packed columns as they are
            strings, text_ids, alt_floats = tops.columns()
            used = dict.fromkeys(text_ids)  # (the strings in the order they first come, as below)
            local = dict(zip(used, map(ids.__getitem__, map(strings.__getitem__, used))))
            alt_ids.extend(map(local.__getitem__, text_ids))
            alt_values.extend(alt_floats)
            counts += bytes(alt_counts)
            alts = len(text_ids)
        else:
            cut = [top[:MAX_ALTERNATIVES] for top in tops]
            pairs = list(chain.from_iterable(cut))
            alt_ids.extend(map(ids.__getitem__, map(_text, pairs)))
            alt_values.extend(map(_value, pairs))
            counts += bytes(map(len, cut))
            alts = len(pairs)
        heads.append(_CAND.pack(cand.index, len(cand.token_texts), alts))
    strings = [s.encode("utf-8", "surrogatepass") for s in ids]
    packed = zlib.compress(b"".join([_little(array("I", map(len, strings))), _little(token_ids), bytes(counts),
                                     _little(alt_ids), *strings]), 1)
    floats = values + alt_values
    narrow = array("f", floats)
    if array("d", narrow).tobytes() == floats.tobytes():
        floats = narrow
    head = _HEAD.pack(FORMAT, len(strings), len(cands), len(packed), floats.typecode.encode())
    return b"".join([head, *heads, packed, _little(floats)])


def unpack(blob: bytes) -> dict[int, Tokens]:
    """Candidate index -> (token texts, logprobs, alternatives), as :func:`pack` was given them."""
    fmt, n_strings, n_cands, size, code = _HEAD.unpack_from(blob)
    if fmt != FORMAT:
        raise ValueError(f"unknown token blob format {bytes(fmt)!r}")
    pos = _HEAD.size
    heads = [_CAND.unpack_from(blob, pos + k * _CAND.size) for k in range(n_cands)]
    pos += n_cands * _CAND.size
    n_tokens, n_alts = sum(h[1] for h in heads), sum(h[2] for h in heads)
    data = memoryview(zlib.decompress(blob[pos : pos + size]))
    floats, _ = _read(memoryview(blob), pos + size, code.decode(), n_tokens + n_alts)
    lengths, at = _read(data, 0, "I", n_strings)
    token_ids, at = _read(data, at, "I", n_tokens)
    counts, at = bytes(data[at : at + n_tokens]), at + n_tokens
    alt_ids, at = _read(data, at, "I", n_alts)
    text = bytes(data[at:])
    ends = list(accumulate(lengths))
    strings = [text[a:b].decode("utf-8", "surrogatepass") for a, b in zip([0, *ends], ends)]
    values = floats[:n_tokens].tolist()
    alt_values = array("d", floats[n_tokens:])
    texts = list(map(strings.__getitem__, token_ids))
    if alt_ids and max(alt_ids) >= len(strings):
        raise IndexError("an alternative's string id is past the table")
    table = StringTable(strings)  # the candidates share it
    out: dict[int, Tokens] = {}
    at = alt_at = 0
    for index, count, n_alt in heads:
        tops = PackedAlternatives(table=table)
        tops.add_rows(alt_ids[alt_at : alt_at + n_alt], alt_values[alt_at : alt_at + n_alt], counts[at : at + count])
        out[index] = (texts[at : at + count], values[at : at + count], tops)
        at += count
        alt_at += n_alt
    return out


def _little(column: array) -> bytes:  # type: ignore[type-arg]
    if sys.byteorder == "big":
        column = array(column.typecode, column)
        column.byteswap()
    return column.tobytes()


def _read(data: memoryview, pos: int, code: str, count: int) -> tuple[array, int]:  # type: ignore[type-arg]
    column = array(code)
    end = pos + count * column.itemsize
    column.frombytes(data[pos:end])
    if sys.byteorder == "big":
        column.byteswap()
    return column, end
