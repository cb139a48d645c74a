"""A tiny deterministic token model with scripted next-token logprobs, and named beam scenarios.

:class:`ScriptedModel` satisfies ``tui_client.demo.tokens.TokenModel`` (structurally: it
imports nothing from ``tui_client``). Its vocabulary is a handful of words plus ChatML's
special tokens; ``<|im_end|>`` ends a sequence. The next-token logprobs come from
:data:`TABLE`: the longest suffix of the context that is a key there wins, else
:data:`DEFAULT`. Every word a context does not list gets a negligible, distinct logprob
``-(32 + id)``, so the top k of any context is unique for any k <= 20. Special tokens
(EOS among them) get ``-(64 + id)`` where not scripted: below all 21 words, so never in
a top 20, yet forcing one with ``logit_bias`` works (the client learns EOS that way). The
single characters that make any ASCII text encodable are never listed. So no beam holds
a special token and no two beams decode to the same text.
All scripted logprobs are binary fractions, so cumulative logprobs are exact; each
context's probabilities sum to less than 1.

The scenarios (worked out by hand in ``tests/unit/test_beam_reference.py``):

- ``prune_replace`` (W=2, 3 steps): at step 2 rank 1 " dog" is pruned (no descendant)
  and rank 0's child " cat ran" takes rank 1.
- ``short_wins`` (W=2, 4 steps): " cat" + EOS completes at step 2 out of the ranking and
  ranks first at the end: -2/2 beats " dog ran away." at -5.25/5. Step 3 swaps ranks
  (each rank replaced by a continuation of the other).
- ``length_penalty`` (the same search, length_penalty 2): the long beams win instead,
  " cat" is not even in the answer.
- ``eos_first`` (W=2, 3 steps): EOS at the very first step; that empty beam ranks first at the end.
- ``tie`` (W=2, 2 steps): " cat ran" and " dog sat" both have cumulative logprob -2.0 at
  the cut for rank 1; which one vLLM keeps is unspecified (numpy), a stable sort keeps
  " cat ran" (beam 0's candidates are listed before beam 1's).
- ``tie_kept`` (the same with W=3): both tied beams are kept, their order is unspecified.
- ``chat`` (W=2, 3 steps): the prompt goes through :meth:`ScriptedModel.chat_ids`
  (ChatML, 9 prompt tokens); both answers end with EOS.
- ``wide`` (W=4, 3 steps, over ``prune_replace``'s table and the default): more beams than
  the scripted contexts list, for integration runs only; ``widest`` (W=10) is the most
  vLLM allows (2 x 10 logprobs = its default ``max_logprobs``), filler tokens among the beams.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

SPECIALS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>")
WORDS = (
    "user", "assistant", "system", "\n", "The", "Once", "Hi", "So", "Hello", "!", ".",
    " cat", " dog", " sat", " ran", " on", " the", " mat", " away", " big", " red",
)  # fmt: skip
CHARS = tuple(c for c in map(chr, range(32, 127)) if c not in WORDS)
"""Single characters: any ASCII text encodes (the client tokenizes its own probes, "hi" among them)."""
VOCAB = SPECIALS + WORDS + CHARS
EOS = "<|im_end|>"
FILLER = -32.0  # logprob of an unlisted word t: FILLER - t; of an unlisted special token: 2 * FILLER - t

# context (text whose tokens end the context) -> next token -> logprob (best first).
TABLE: dict[str, dict[str, float]] = {
    # prune_replace: "The" (also under "wide")
    "The": {" cat": -0.75, " dog": -1.25, " big": -2.5, " red": -3.0},
    "The cat": {" sat": -0.5, " ran": -1.0, ".": -4.0, " on": -5.0},
    "The dog": {" ran": -0.75, " sat": -1.0, ".": -2.5, " on": -3.0},
    "The cat sat": {" on": -0.25, ".": -2.25, " away": -3.0, " the": -4.0},
    "The cat ran": {" away": -0.5, ".": -1.5, EOS: -2.5, " on": -3.5},
    # short_wins / length_penalty: "Once"
    "Once": {" cat": -0.5, " dog": -1.5, " big": -3.0, " red": -4.0},
    "Once cat": {" sat": -0.75, EOS: -1.5, " ran": -2.0, ".": -3.0},
    "Once dog": {" ran": -0.5, " sat": -1.5, ".": -2.75, " on": -3.75},
    "Once cat sat": {" on": -1.75, " the": -2.0, ".": -2.25, " big": -2.5},
    "Once dog ran": {" away": -0.75, " on": -2.0, ".": -3.0, " the": -4.0},
    "Once dog ran away": {".": -2.5, EOS: -3.25, " on": -3.5, " the": -4.0},
    "Once cat sat on": {" the": -2.5, " mat": -3.0, ".": -3.5, " big": -4.0},
    # eos_first: "Hi"
    "Hi": {EOS: -0.75, " cat": -1.25, " dog": -2.0, " the": -2.5},
    "Hi cat": {".": -0.75, " sat": -1.25, EOS: -2.0, " ran": -3.0},
    "Hi dog": {" ran": -0.75, " sat": -1.5, EOS: -2.5, ".": -3.0},
    "Hi cat.": {EOS: -0.5, " the": -1.5, " cat": -2.5, " dog": -3.0},
    "Hi cat sat": {".": -0.75, " on": -1.25, EOS: -2.0, " the": -3.0},
    # tie / tie_kept: "So"
    "So": {" cat": -0.5, " dog": -1.0, " big": -4.0, " red": -5.0},
    "So cat": {" sat": -1.0, " ran": -1.5, ".": -2.0, " on": -3.0},
    "So dog": {" sat": -1.0, " ran": -2.0, ".": -2.25, " on": -3.0},
    # chat: the answer after ChatML's generation prompt
    "<|im_start|>assistant\n": {"Hello": -0.5, "Hi": -1.25, ".": -3.0, " cat": -4.0},
    "<|im_start|>assistant\nHello": {"!": -0.25, EOS: -2.0, ".": -3.0, " cat": -4.0},
    "<|im_start|>assistant\nHi": {"!": -0.5, EOS: -1.0, ".": -5.0, " cat": -6.0},
    "<|im_start|>assistant\nHello!": {EOS: -0.125, " cat": -3.0, ".": -4.0, " the": -5.0},
    "<|im_start|>assistant\nHi!": {EOS: -0.25, " cat": -2.5, ".": -4.0, " the": -5.0},
}
DEFAULT: dict[str, float] = {".": -1.125, EOS: -1.625, " the": -2.125, " cat": -2.625, " dog": -3.125}


class ScriptedModel:
    """A ``TokenModel`` from a table; records every call (the demo server calls from its thread)."""

    def __init__(self, table: Mapping[str, Mapping[str, float]] = TABLE, default: Mapping[str, float] = DEFAULT) -> None:
        self.vocab: tuple[str, ...] = VOCAB
        self._ids = {s: i for i, s in enumerate(VOCAB)}
        self.eos_token_id: int = self._ids[EOS]
        self.special_ids = frozenset(self._ids[s] for s in SPECIALS)
        self.word_ids = frozenset(self._ids[s] for s in WORDS)
        self._table = {tuple(self.tokens_of(ctx)): self._row(row) for ctx, row in table.items()}
        self._default = self._row(default)
        self._lock = threading.Lock()
        self.calls: list[tuple[str, Any]] = []  # (method, argument) of every protocol call, in order

    def _row(self, row: Mapping[str, float]) -> dict[int, float]:
        listed = {self._ids[tok]: lp for tok, lp in row.items()}
        fillers = {t: FILLER - t for t in sorted(self.word_ids) if t not in listed}
        fillers.update({t: 2 * FILLER - t for t in sorted(self.special_ids) if t not in listed})
        return {**listed, **fillers}

    def _record(self, method: str, arg: Any) -> None:
        with self._lock:
            self.calls.append((method, arg))

    def count(self, method: str) -> int:
        """How many times ``method`` (``"encode"``, ``"next_logprobs"``...) was called."""
        with self._lock:
            return sum(1 for m, _ in self.calls if m == method)

    # -- the TokenModel protocol (recorded) -----------------------------------------

    def encode(self, text: str) -> list[int]:
        self._record("encode", text)
        return self.tokens_of(text)

    def decode(self, ids: Sequence[int], *, skip_special_tokens: bool = True) -> str:
        return "".join(VOCAB[i] for i in ids if not (skip_special_tokens and i in self.special_ids))

    def token_str(self, token_id: int) -> str:
        return VOCAB[token_id]

    def chat_ids(self, messages: Sequence[Mapping[str, Any]], *, add_generation_prompt: bool = True) -> list[int]:
        self._record("chat_ids", [dict(m) for m in messages])
        return self.tokens_of(self.chat_text(messages, add_generation_prompt=add_generation_prompt))

    def next_logprobs(self, ids: Sequence[int]) -> dict[int, float]:
        """The logprob of every word and special token after ``ids``, the scripted ones first."""
        self._record("next_logprobs", tuple(ids))
        return dict(self._row_for(tuple(ids)))

    # -- the same, for tests (not recorded) -----------------------------------------

    def tokens_of(self, text: str) -> list[int]:
        """Longest match first; special tokens in the text are read as such (as HF tokenizers do)."""
        ids, at = [], 0
        while at < len(text):
            match = max((s for s in VOCAB if text.startswith(s, at)), key=len, default=None)
            if match is None:
                raise ValueError(f"the scripted model encodes ASCII only, not {text[at:]!r}")
            ids.append(self._ids[match])
            at += len(match)
        return ids

    @staticmethod
    def chat_text(messages: Sequence[Mapping[str, Any]], *, add_generation_prompt: bool = True) -> str:
        """ChatML: ``<|im_start|>role\\ncontent<|im_end|>\\n`` per message, then ``<|im_start|>assistant\\n``."""
        text = "".join(f"<|im_start|>{m['role']}\n{m.get('content') or ''}<|im_end|>\n" for m in messages)
        return text + ("<|im_start|>assistant\n" if add_generation_prompt else "")

    def _row_for(self, ids: tuple[int, ...]) -> dict[int, float]:
        for start in range(len(ids)):  # the longest scripted suffix of the context
            row = self._table.get(ids[start:])
            if row is not None:
                return row
        return self._default

    def top_logprobs(self, ids: Sequence[int], k: int) -> dict[int, float]:
        """The best ``k`` of :meth:`next_logprobs`, best first, as a server returns them."""
        return dict(sorted(self._row_for(tuple(ids)).items(), key=lambda kv: -kv[1])[:k])

    def text(self, ids: Sequence[int]) -> str:
        """A beam's text: its generated ids decoded as vLLM does (special tokens skipped)."""
        return self.decode(ids, skip_special_tokens=True)


@dataclass(frozen=True)
class Scenario:
    name: str
    prompt: str  # the user's text (chat: the one user message)
    width: int
    max_tokens: int
    length_penalty: float = 1.0
    chat: bool = False

    def messages(self) -> list[dict[str, str]]:
        """What the client's chat request sends."""
        return [{"role": "user", "content": self.prompt}]

    def prompt_ids(self, model: ScriptedModel) -> list[int]:
        """The prompt as the server tokenizes it (chat: through the template)."""
        return model.tokens_of(model.chat_text(self.messages()) if self.chat else self.prompt)


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario("prune_replace", "The", width=2, max_tokens=3),
        Scenario("short_wins", "Once", width=2, max_tokens=4),
        Scenario("length_penalty", "Once", width=2, max_tokens=4, length_penalty=2.0),
        Scenario("eos_first", "Hi", width=2, max_tokens=3),
        Scenario("tie", "So", width=2, max_tokens=2),
        Scenario("tie_kept", "So", width=3, max_tokens=2),
        Scenario("chat", "Hi", width=2, max_tokens=3, chat=True),
        Scenario("wide", "The", width=4, max_tokens=3),
        Scenario("widest", "The", width=10, max_tokens=3),
    )
}
