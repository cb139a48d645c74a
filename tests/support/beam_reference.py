"""vLLM 0.32's beam search, transcribed for tests (imports nothing from ``tui_client``).

Written from PROTOCOL.md section 3 and from vLLM's
``vllm/entrypoints/generate/beam_search/online.py`` (``BeamSearchOnlineMixin.beam_search``)
and ``utils.py`` (``get_beam_search_score``). Line by line it follows vLLM's loop:

- per step, every live beam gets the top 2*width logprobs of its next token
  (``next_logprobs``, in the order the server lists them);
- each (token, logprob) is a candidate with ``beam.cum_logprob + logprob``;
  an EOS candidate (unless ``ignore_eos``) goes to ``completed`` with the beam's tokens
  (without EOS: ``include_stop_str_in_output`` is false), finish_reason ``stop``;
- the other candidates are cut to the best ``width`` by cumulative logprob, no length
  normalisation. vLLM picks them with numpy (``argpartition`` + ``argsort``), which leaves
  the order of equal cumulative logprobs unspecified; here a stable sort keeps the
  candidate listed first (live beams in rank order, each beam's tokens in the server's
  order);
- the loop stops after ``max_tokens`` steps or when no live beam is left;
- the answer: ``sorted(completed + live, key=score, reverse=True)[:width]`` (Python's
  sort is stable, so on equal scores the earlier-completed beam, then the better live
  one, comes first), finish_reason ``length`` for the live ones.

score = cum_logprob / max(seq_len, 1) ** length_penalty, seq_len = len(prompt + generated
tokens), minus 1 if the last of them is EOS (which, EOS never being kept, only happens
with ``ignore_eos`` or a prompt that ends in EOS).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass

NextLogprobs = Callable[[Sequence[int]], Mapping[int, float]]


@dataclass(frozen=True)
class RefBeam:
    tokens: tuple[int, ...]  # generated ids only (no prompt, never the EOS that completed it)
    cum_logprob: float
    score: float
    finish_reason: str | None  # "stop" (met EOS), "length" (final answer, unfinished), None (still live)


@dataclass(frozen=True)
class _Seq:  # vLLM's BeamSearchSequence, reduced to what the search reads
    tokens: tuple[int, ...]  # prompt + generated
    cum_logprob: float
    finish_reason: str | None = None


def beam_score(tokens: Sequence[int], cum_logprob: float, eos_id: int, length_penalty: float) -> float:
    """vLLM's ``get_beam_search_score``: ``tokens`` include the prompt."""
    seq_len = len(tokens)
    if tokens[-1] == eos_id:
        seq_len -= 1
    return cum_logprob / (max(seq_len, 1) ** length_penalty)


def _search(
    next_logprobs: NextLogprobs, prompt_ids: Sequence[int], width: int, max_tokens: int, eos_id: int, ignore_eos: bool
) -> Iterator[tuple[list[_Seq], list[_Seq]]]:
    """(completed, live) after each step."""
    all_beams = [_Seq(tuple(prompt_ids), 0.0)]
    completed: list[_Seq] = []
    for _ in range(max_tokens):
        candidates: list[_Seq] = []
        for beam in all_beams:
            for token_id, logprob in next_logprobs(beam.tokens).items():
                candidate_logprob = beam.cum_logprob + logprob
                if token_id == eos_id and not ignore_eos:
                    completed.append(_Seq(beam.tokens, candidate_logprob, "stop"))
                else:
                    candidates.append(_Seq(beam.tokens + (token_id,), candidate_logprob))
        all_beams = sorted(candidates, key=lambda c: c.cum_logprob, reverse=True)[:width]
        yield list(completed), list(all_beams)
        if not all_beams:
            break


def _ranking(completed: list[_Seq], live: list[_Seq], *, prompt_len: int, width: int, eos_id: int,
             length_penalty: float, final: bool) -> list[RefBeam]:
    def key(seq: _Seq) -> float:
        return beam_score(seq.tokens, seq.cum_logprob, eos_id, length_penalty)

    best = sorted(completed + live, key=key, reverse=True)[:width]
    return [
        RefBeam(seq.tokens[prompt_len:], seq.cum_logprob, key(seq), seq.finish_reason or ("length" if final else None))
        for seq in best
    ]


def reference_beam_steps(
    next_logprobs: NextLogprobs,
    prompt_ids: Sequence[int],
    width: int,
    max_tokens: int,
    eos_id: int,
    length_penalty: float = 1.0,
    ignore_eos: bool = False,
) -> list[list[RefBeam]]:
    """The ranking after each step: the best ``width`` of completed + live beams by score.

    Entry k is the answer if the search stopped after step k+1 (live beams with
    finish_reason None); the last entry is the final answer but for "length".
    """
    return [
        _ranking(completed, live, prompt_len=len(prompt_ids), width=width, eos_id=eos_id,
                 length_penalty=length_penalty, final=False)
        for completed, live in _search(next_logprobs, prompt_ids, width, max_tokens, eos_id, ignore_eos)
    ]


def reference_beam_search(
    next_logprobs: NextLogprobs,
    prompt_ids: Sequence[int],
    width: int,
    max_tokens: int,
    eos_id: int,
    length_penalty: float = 1.0,
    ignore_eos: bool = False,
) -> list[RefBeam]:
    """vLLM's answer: the best ``width`` beams, best first, finish_reason "stop" or "length"."""
    completed, live = [], [_Seq(tuple(prompt_ids), 0.0)]  # max_tokens 0: vLLM returns the prompt itself
    for completed, live in _search(next_logprobs, prompt_ids, width, max_tokens, eos_id, ignore_eos):
        pass
    return _ranking(completed, live, prompt_len=len(prompt_ids), width=width, eos_id=eos_id,
                    length_penalty=length_penalty, final=True)
