"""Live beam search on ``vllm serve``: the client runs vLLM's loop and shows every step.

No vLLM since 0.6 streams beams, but its beam search is a loop of one-token requests
(:mod:`.beam_search`) that a client can run over the public API:

1. ``/tokenize`` the prompt (chat: the conversation through the chat template);
2. per step, one ``/v1/completions`` request for all live beams, each a token-id
   prompt, asking for 2 x width logprobs of the next token (ids, not strings);
3. ``/detokenize`` the beams of the ranking to show their text, while the next
   step's request runs.

The end-of-sequence id is not published by default; :func:`find_eos` learns it by
forcing candidate ids with ``logit_bias`` (a forced EOS ends with finish_reason
``stop`` and no stop string). Where that fails the caller falls back to vLLM's own
(non-streamed) beam search.
"""

from __future__ import annotations

import asyncio
import math
import re
from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING, Any

from tui_client.core.protocol.beam_search import Beam, BeamSearch
from tui_client.core.protocol.errors import ClientError, ErrorKind
from tui_client.core.protocol.state import Api, CandidatesChanged, RankedBeam, RunEvent, RunStarted, RunState, Usage

if TYPE_CHECKING:
    from tui_client.core.protocol.client import VLLMClient

_EOS_STRINGS = ("</s>", "<|endoftext|>", "<|im_end|>", "<|eot_id|>", "<|end_of_text|>", "<eos>", "<|end|>", "<end_of_turn>")
"""End-of-sequence tokens of common model families, tried after the ones the server names."""

_SPECIAL = re.compile(r"^<[^<>\s]+>$")
_NEUTRAL = {"repetition_penalty": 1.0, "presence_penalty": 0.0, "frequency_penalty": 0.0}
"""vLLM's own loop samples with defaults only: keep a model's generation config out of each step."""


async def find_eos(client: VLLMClient, model: str | None, prompt_ids: Sequence[int], template_strs: Sequence[str]) -> int | None:
    """The model's end-of-sequence id, or None when no candidate behaves like one.

    Candidates, in order: the tokenizer's ``eos_token`` (``/tokenizer_info``, when the
    server enables it), the special tokens of the chat template, common ones. The first
    that ends a sequence when forced wins.
    """
    info, chat = await asyncio.gather(
        client.post_json("/tokenizer_info", None, method="GET", optional=True),
        client.post_json("/tokenize", {"model": model, "messages": [{"role": "user", "content": "hi"}],
                                       "add_generation_prompt": True, "return_token_strs": True}, optional=True),  # fmt: skip
    )
    named = [info["eos_token"]] if isinstance(info, dict) and isinstance(info.get("eos_token"), str) else []
    if isinstance(chat, dict):
        template_strs = [*template_strs, *(s for s in chat.get("token_strs") or [] if isinstance(s, str) and _SPECIAL.match(s))]
    for name in (*template_strs, *_EOS_STRINGS):
        if name not in named:
            named.append(name)
    found = await client.post_json(
        "/tokenize", {"model": model, "prompt": "".join(named), "add_special_tokens": False, "return_token_strs": True}
    )
    order = {name: k for k, name in enumerate(named)}
    places: dict[int, int] = {}
    if isinstance(found, dict):
        for token, name in zip(found.get("tokens") or [], found.get("token_strs") or []):
            if isinstance(token, int) and name in order:
                places.setdefault(token, order[name])
    candidates = sorted(places, key=places.__getitem__)[:8]

    async def ends(token: int) -> bool:
        body = {"model": model, "prompt": [list(prompt_ids)], "max_tokens": 1, "temperature": 0.0,
                "logit_bias": {str(token): 100}, "return_token_ids": True}  # fmt: skip
        answer = await client.post_json("/v1/completions", body)
        choice = (answer.get("choices") or [{}])[0] if isinstance(answer, dict) else {}
        forced = choice.get("token_ids") in (None, [token])  # it was this id that ended it, not another
        return forced and choice.get("finish_reason") == "stop" and choice.get("stop_reason") is None

    verdicts = await asyncio.gather(*(ends(t) for t in candidates))
    return next((t for t, ok in zip(candidates, verdicts) if ok), None)


class BeamRunner:
    """One live beam search for :meth:`VLLMClient.generate`."""

    def __init__(self, client: VLLMClient, state: RunState) -> None:
        self.client, self.state = client, state
        self.model = state.server.model
        self._texts: dict[tuple[int, ...], str] = {(): ""}
        self._exact: set[tuple[int, ...]] = {()}  # the texts /detokenize gave (the others: from steps)
        self._sampled: dict[tuple[int, ...], tuple[int, str]] = {}  # a live beam -> its step's own token, text
        self._shown: dict[int, int] = {}  # beam ident -> its rank in the ranking shown last

    async def prepare(self) -> BeamSearch | str:
        """Tokenize and find EOS: the search, or why it cannot run here (then vLLM's own runs)."""
        request, api = self.state.request, self.state.server.api
        if api is Api.CHAT:
            body: dict[str, Any] = {"model": self.model, "messages": request.messages(),
                                    "add_generation_prompt": True, "return_token_strs": True}  # fmt: skip
        else:
            body = {"model": self.model, "prompt": request.prompt, "return_token_strs": True}
        tokenized, version = await asyncio.gather(
            self.client.post_json("/tokenize", body, optional=True),
            self.client.post_json("/version", None, method="GET", optional=True),
        )
        if tokenized is None:
            return "the server has no /tokenize"
        ids = tokenized.get("tokens") if isinstance(tokenized, dict) else None
        if not isinstance(ids, list) or not all(isinstance(i, int) for i in ids):
            raise ClientError(ErrorKind.BAD_RESPONSE, "the server's /tokenize answer has no token list")
        self.prompt_ids = ids
        max_len = tokenized.get("max_model_len")
        params = request.params
        self.max_tokens = params.max_tokens or (max_len - len(ids) if isinstance(max_len, int) else 16)
        if isinstance(max_len, int) and len(ids) + self.max_tokens > max_len:
            raise ClientError(
                ErrorKind.INVALID,
                f"the prompt is {len(ids)} tokens and max_tokens {self.max_tokens}: more than the model's "
                f"{max_len} (max_model_len)",
                field="max_tokens",
            )
        strs = tokenized.get("token_strs") or []
        template = [s for s in strs if isinstance(s, str) and _SPECIAL.match(s)]
        eos = await self.client.eos_token_id(self.model, ids, template)
        if eos is None:
            return "the server does not say which token ends a sequence"
        return BeamSearch(
            params.n,
            prompt_len=len(ids),
            eos_token_id=eos,
            prompt_last=ids[-1] if ids else None,
            length_penalty=1.0 if params.length_penalty is None else params.length_penalty,
            generated_only=_version(version) >= (0, 33),
        )

    async def run(self, search: BeamSearch) -> AsyncIterator[RunEvent]:
        """Step the search to its end; a ranked state after every step."""
        yield RunStarted(self.state)
        pending: asyncio.Task[list[dict[int, float]]] | None = None
        try:
            for _ in range(self.max_tokens):
                if not search.live:
                    break
                pending = asyncio.ensure_future(self._step(search))
                if search.steps:  # show the step before while this one runs
                    changed = await self._show(search, final=False)
                    if changed:
                        yield CandidatesChanged(self.state, frozenset(changed))
                results = await pending
                pending = None
                search.step(results)
            changed = await self._show(search, final=True)
            if changed:
                yield CandidatesChanged(self.state, frozenset(changed))
        finally:
            if pending is not None:
                pending.cancel()

    async def _step(self, search: BeamSearch) -> list[dict[int, float]]:
        request = self.state.request
        body: dict[str, Any] = {
            "model": self.model,
            "prompt": [self.prompt_ids + list(beam.tokens) for beam in search.live],
            "max_tokens": 1,
            "logprobs": search.logprobs_per_step,
            "return_tokens_as_token_ids": True,
            **_NEUTRAL,
        }
        if request.params.temperature is not None:
            body["temperature"] = request.params.temperature
        answer = await self.client.post_json("/v1/completions", body, state=self.state)
        choices = answer.get("choices") if isinstance(answer, dict) else None
        if not isinstance(choices, list) or len(choices) != len(search.live):
            raise ClientError(ErrorKind.BAD_RESPONSE, f"a beam step asked for {len(search.live)} choices and got another answer")
        out: list[dict[int, float]] = [{} for _ in choices]
        for pos, choice in enumerate(choices):
            index = choice.get("index", pos) if isinstance(choice, dict) else None
            top = ((choice.get("logprobs") or {}).get("top_logprobs") or [None])[0] if isinstance(choice, dict) else None
            if not isinstance(index, int) or not 0 <= index < len(out) or not isinstance(top, dict):
                raise ClientError(ErrorKind.BAD_RESPONSE, "a beam step's answer has no token logprobs (is this vLLM?)")
            out[index] = {_token_id(key): _logprob(value) for key, value in top.items()}
            tokens, text = (choice["logprobs"].get("tokens") or [None])[0], choice.get("text")
            if isinstance(tokens, str) and isinstance(text, str) and text and "\ufffd" not in text:
                self._sampled[search.live[index].tokens] = (_token_id(tokens), text)
        return out

    async def _show(self, search: BeamSearch, *, final: bool) -> set[int]:
        ranking = search.ranking()
        texts, missing = self._texts, []
        for tokens in dict.fromkeys(b.tokens for b in ranking):
            if tokens in texts and (tokens in self._exact or not final):
                continue
            parent = tokens[:-1]
            sampled = self._sampled.get(parent)
            if not final and parent in texts and sampled is not None and sampled[0] == tokens[-1]:
                # The step's own token, as the server decoded it after the beam: no request.
                texts[tokens] = texts[parent] + sampled[1]
            else:
                missing.append(tokens)
        decoded = await asyncio.gather(*(self._detokenize(tokens) for tokens in missing))
        texts.update(zip(missing, decoded))
        self._exact.update(missing)
        shown = self._shown
        ranked = [self._entry(search, beam, shown, final) for beam in ranking]
        self._shown = {beam.ident: rank for rank, beam in enumerate(ranking)}
        self.state.beam_step = search.steps - 1  # apply_ranking counts this one
        self.state.usage = Usage(len(self.prompt_ids), sum(len(b.tokens) for b in ranking),
                                 len(self.prompt_ids) + sum(len(b.tokens) for b in ranking))  # fmt: skip
        return self.state.apply_ranking(ranked)

    def _entry(self, search: BeamSearch, beam: Beam, shown: dict[int, int], final: bool) -> RankedBeam:
        done = beam.finish_reason is not None
        return RankedBeam(
            self._texts[beam.tokens],
            finished=done or final,
            finish_reason=beam.finish_reason or ("length" if final else None),
            stop_reason=search.eos_token_id if done else None,
            parent=shown.get(beam.ident, shown.get(beam.parent)) if beam.parent is not None else None,
            cumulative_logprob=beam.cum_logprob,
            score=search.score(beam),
            tokens=len(beam.tokens),
        )

    async def _detokenize(self, tokens: tuple[int, ...]) -> str:
        if not tokens:
            return ""
        answer = await self.client.post_json("/detokenize", {"model": self.model, "tokens": list(tokens)}, state=self.state)
        text = answer.get("prompt") if isinstance(answer, dict) else None
        if not isinstance(text, str):
            raise ClientError(ErrorKind.BAD_RESPONSE, "the server's /detokenize answer has no text")
        return text


def _token_id(key: str) -> int:
    """``"token_id:2240"`` (``return_tokens_as_token_ids``) -> 2240."""
    try:
        return int(key.rpartition(":")[2])
    except ValueError:
        raise ClientError(ErrorKind.BAD_RESPONSE, f"a beam step's logprob key {key[:40]!r} is not a token id") from None


def _logprob(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ClientError(ErrorKind.BAD_RESPONSE, "a beam step's logprob is not a number")
    return -math.inf if value <= -9999.0 else float(value)  # vLLM writes -inf as -9999.0


def _version(answer: Any) -> tuple[int, int]:
    text = answer.get("version") if isinstance(answer, dict) else None
    found = re.match(r"(\d+)\.(\d+)", text) if isinstance(text, str) else None
    return (int(found[1]), int(found[2])) if found else (0, 0)
