"""The demo's token-level routes: bodies and events shaped as vLLM 0.32 sends them.

``/tokenize``, ``/detokenize``; completions and chat on token ids (token-id prompts,
``logprobs``, ``logit_bias``, ``return_token_ids``, ``return_tokens_as_token_ids``);
``use_beam_search`` on both (vLLM's loop, server-side) and on legacy ``/generate``
(streamed as vLLM 0.5 did: every line the current top n beams, best first).
Everything runs through one :class:`~tui_client.demo.tokens.TokenModel`, one
``token_delay`` a step.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import AsyncIterator
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse

from tui_client.demo.token_gen import BeamSearches, TokenGeneration, TokenParams, TokenStep
from tui_client.demo.token_model import default_token_model
from tui_client.demo.tokens import TokenModel
from tui_client.demo.metrics import DemoMeter
from tui_client.demo.wire import MAX_MODEL_LEN, ApiError, chat_messages, paced, read_field, sampling_params, sse

MAX_LOGPROBS = 20  # vLLM's default --max-logprobs
_TOKEN_FIELDS = ("logit_bias", "return_token_ids", "return_tokens_as_token_ids", "use_beam_search")


def is_token_level(body: dict[str, Any], chat: bool) -> bool:
    """Whether a request needs token ids (else the plain Markov text path answers it)."""
    if any(body.get(name) for name in _TOKEN_FIELDS):
        return True
    if chat:
        return bool(body.get("logprobs") or body.get("top_logprobs"))
    prompt = body.get("prompt")
    return body.get("logprobs") is not None or (isinstance(prompt, list) and not (len(prompt) == 1 and isinstance(prompt[0], str)))


class TokenRoutes:
    """The token-level answers of one app (its model, pace, name and fingerprint)."""

    def __init__(self, model: TokenModel | None, *, token_delay: float, model_name: str, fingerprint: str,
                 meter: DemoMeter | None = None) -> None:
        self._model, self.delay, self.model_name, self.fingerprint = model, token_delay, model_name, fingerprint
        self.meter = meter

    @property
    def model(self) -> TokenModel:
        """The model given, else the Markov one (built on first use: the plain routes do not need it)."""
        if self._model is None:
            self._model = default_token_model()
        return self._model

    # --- tokenizer routes -------------------------------------------------------------
    def tokenize(self, body: dict[str, Any]) -> dict[str, Any]:
        if "messages" in body:
            ids = self._chat_ids(body)
        elif isinstance(body.get("prompt"), str):
            ids = self.model.encode(body["prompt"])
        else:
            raise ApiError("prompt must be a string.", "prompt")
        strs = [self.model.token_str(i) for i in ids] if body.get("return_token_strs") else None
        return {"count": len(ids), "max_model_len": MAX_MODEL_LEN, "tokens": ids, "token_strs": strs}

    def detokenize(self, body: dict[str, Any]) -> dict[str, Any]:
        ids = body.get("tokens")
        if not _is_ids(ids):
            raise ApiError("tokens must be a list of integers.", "tokens")
        self._check_ids(ids)
        return {"prompt": self.model.decode(ids, skip_special_tokens=False)}

    def _chat_ids(self, body: dict[str, Any]) -> list[int]:
        generation_prompt = body.get("add_generation_prompt", True) is not False
        return self.model.chat_ids(chat_messages(body.get("messages")), add_generation_prompt=generation_prompt)

    # --- /v1/completions and /v1/chat/completions ------------------------------------------
    async def complete(self, request: Request, body: dict[str, Any], chat: bool) -> Response:
        """A token-level OpenAI request (see :func:`is_token_level`)."""
        if chat:
            prompts = [self._chat_ids(body)]
            body["max_tokens"] = body.get("max_completion_tokens") or body.get("max_tokens")
        else:
            prompts = self._prompts(body.get("prompt"))
        default_max = max(1, MAX_MODEL_LEN - max(map(len, prompts))) if chat else 16
        stream = bool(body.get("stream"))
        if body.get("use_beam_search"):
            if stream and not chat:
                raise ApiError("Streaming is not currently supported with beam search")
            return await self._beams(request, body, chat, prompts, default_max)
        params = self._params(body, chat, default_max)
        gen = TokenGeneration(self.model, prompts, params)
        answer = _Answer(self, body, chat, params, prompts)
        if stream:
            return StreamingResponse(answer.events(gen, paced(gen, self.delay, meter=self.meter)), media_type="text/event-stream")
        async for _ in paced(gen, self.delay, request, meter=self.meter):
            pass
        if not gen.finished:
            return Response(status_code=499)
        return JSONResponse(answer.body(gen))

    def _params(self, body: dict[str, Any], chat: bool, default_max: int) -> TokenParams:
        sampling = sampling_params(body, default_max)
        if chat:
            k = read_field(body, "top_logprobs", int, 0)
            if k and not body.get("logprobs"):
                raise ApiError("when using `top_logprobs`, `logprobs` must be set to true.", "top_logprobs")
            k = k if body.get("logprobs") else None
        else:
            k = read_field(body, "logprobs", int, None)
        if k is not None:
            if k < 0 and k != -1:
                raise ApiError(f"`{'top_logprobs' if chat else 'logprobs'}` must be a positive value or -1.")
            _check_logprobs(getattr(self.model, "vocab_size", MAX_LOGPROBS + 1) if k == -1 else k)
        return TokenParams(sampling, k, self._logit_bias(body.get("logit_bias")), bool(body.get("ignore_eos")))

    def _logit_bias(self, raw: Any) -> dict[int, float]:
        if not raw:
            return {}
        if not isinstance(raw, dict) or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in raw.values()):
            raise ApiError("logit_bias must be an object of token ids to numbers.", "logit_bias")
        bad = [key for key in raw if not _is_int_text(key)]
        if bad:
            _validation(f"logit_bias contains key(s) that cannot be converted to integer token IDs: {bad!r}", "logit_bias", bad)
        bias = {int(key): min(100.0, max(-100.0, float(v))) for key, v in raw.items()}
        vocab = getattr(self.model, "vocab_size", None)
        outside = [t for t in bias if t < 0 or (vocab is not None and t >= vocab)]
        if outside:
            message = f"token_id(s) {outside} in logit_bias contain out-of-vocab token ids. Vocabulary size: {vocab}"
            _validation(message, "logit_bias", outside)
        return bias

    def _prompts(self, prompt: Any) -> list[list[int]]:
        """A completions ``prompt`` as token-id prompts: text, texts, ids or lists of ids."""
        if isinstance(prompt, str):
            prompts = [self.model.encode(prompt)]
        elif isinstance(prompt, list) and prompt and all(isinstance(p, str) for p in prompt):
            prompts = [self.model.encode(p) for p in prompt]
        elif _is_ids(prompt):
            prompts = [list(prompt)]
        elif isinstance(prompt, list) and all(_is_ids(p) for p in prompt):
            prompts = [list(p) for p in prompt]
        else:
            raise ApiError("prompt must be a string, a list of strings, a list of token ids or a list of such lists.", "prompt")
        if not prompts or not all(prompts):
            raise ApiError("Either prompt or prompt_embeds must be provided and non-empty.")
        for ids in prompts:
            self._check_ids(ids)
        return prompts

    def _check_ids(self, ids: list[int]) -> None:
        vocab = getattr(self.model, "vocab_size", None)
        for bad in (min(ids, default=0), max(ids, default=0)):
            if bad < 0 or (vocab is not None and bad >= vocab):
                raise ApiError(f"Token id {bad} is out of vocabulary")

    # --- beam search ------------------------------------------------------------------
    async def _beams(self, request: Request, body: dict[str, Any], chat: bool, prompts: list[list[int]], default_max: int) -> Response:
        sampling = sampling_params(body, default_max)
        _check_logprobs(2 * sampling.n)
        length_penalty = read_field(body, "length_penalty", float, 1.0)
        run = BeamSearches(self.model, prompts, sampling.n, sampling.max_tokens, length_penalty=length_penalty,
                           temperature=sampling.temperature, ignore_eos=bool(body.get("ignore_eos")), seed=sampling.seed)  # fmt: skip
        streamed = chat and bool(body.get("stream"))
        kind = "chat.completion.chunk" if streamed else "chat.completion" if chat else "text_completion"
        head = {"id": _ident(chat), "object": kind, "created": int(time.time()), "model": self.model_name}
        if streamed:  # vLLM's chat takes stream with beams: the headers at once, all the beams in one burst at the end
            usage_wanted = bool((body.get("stream_options") or {}).get("include_usage"))

            async def burst() -> AsyncIterator[bytes]:
                async for _ in paced(run, self.delay, meter=self.meter):
                    pass
                choices, usage = self._beam_choices(run, prompts, body, chat, streamed)
                role = {"delta": {"role": "assistant", "content": ""}, "logprobs": None, "finish_reason": None}
                for c in choices:
                    yield sse({**head, "choices": [{"index": c["index"], **role}], "prompt_token_ids": None, "prompt_text": None})
                for c in choices:
                    yield sse({**head, "choices": [c], **({} if usage_wanted else {"system_fingerprint": self.fingerprint})})
                if usage_wanted:
                    yield sse({**head, "choices": [], "usage": usage, "system_fingerprint": self.fingerprint})
                yield b"data: [DONE]\n\n"

            return StreamingResponse(burst(), media_type="text/event-stream")
        async for _ in paced(run, self.delay, request, meter=self.meter):
            pass
        if not run.finished:
            return Response(status_code=499)
        choices, usage = self._beam_choices(run, prompts, body, chat, streamed)
        return JSONResponse({**head, "choices": choices, **self._tail(usage, chat)})

    def _beam_choices(
        self, run: BeamSearches, prompts: list[list[int]], body: dict[str, Any], chat: bool, streamed: bool
    ) -> tuple[list[dict[str, Any]], dict[str, int]]:
        """The answer's choices (each prompt's best beams, best first) and its usage."""
        beams = [(prompt, beam) for prompt, search in zip(prompts, run.searches) for beam in search.ranking()]
        usage = _usage(sum(map(len, prompts)), sum(len(beam.tokens) for _, beam in beams))
        choices = []
        for index, (prompt, beam) in enumerate(beams):
            end = {"finish_reason": beam.finish_reason or "length", "stop_reason": self.model.eos_token_id if beam.finish_reason else None}
            text = self.model.decode(beam.tokens)
            token_ids = list(beam.tokens) if body.get("return_token_ids") else None
            if streamed:
                choices.append({"index": index, "delta": {"content": text}, "logprobs": None, **end, "token_ids": token_ids})
            elif chat:
                message = {"role": "assistant", "content": text, "refusal": None, "tool_calls": [], "reasoning": None}
                choices.append({"index": index, "message": message, "logprobs": None, **end, "token_ids": token_ids})
            else:
                choices.append({"index": index, "text": text, "logprobs": None, **end, "token_ids": token_ids, "prompt_logprobs": None,
                                "prompt_token_ids": prompt if token_ids is not None else None, "routed_experts": None})  # fmt: skip
        return choices, usage

    async def generate_beams(self, request: Request, body: dict[str, Any], prompt: str, stream: bool) -> Response:
        """Legacy ``/generate`` with ``use_beam_search``: lines of the top n beams, best first (vLLM 0.5).

        Width ``best_of`` (at least n), greedy steps whatever the temperature (vLLM 0.5 wanted 0).
        """
        try:
            sampling = sampling_params(body, default_max_tokens=16)
            width = max(sampling.n, read_field(body, "best_of", int, None) or sampling.n)
            length_penalty = read_field(body, "length_penalty", float, 1.0)
        except ApiError:
            return PlainTextResponse("Internal Server Error", status_code=500)
        run = BeamSearches(self.model, [self.model.encode(prompt)], width, sampling.max_tokens, length_penalty=length_penalty)

        def texts() -> list[str]:
            return [prompt + self.model.decode(beam.tokens) for beam in run.searches[0].ranking()[: sampling.n]]

        if stream:

            async def lines() -> AsyncIterator[bytes]:
                async for _ in paced(run, self.delay, meter=self.meter):
                    yield (json.dumps({"text": texts()}) + "\n").encode()

            return StreamingResponse(lines())
        async for _ in paced(run, self.delay, request, meter=self.meter):
            pass
        if not run.finished:
            return Response(status_code=499)
        return JSONResponse({"text": texts()})

    def _tail(self, usage: dict[str, Any], chat: bool) -> dict[str, Any]:
        usage = usage | {"prompt_tokens_details": None, "completion_tokens_details": None}
        tail = {"service_tier": None, "system_fingerprint": self.fingerprint, "usage": usage, "kv_transfer_params": None}
        return tail if chat else tail | {"ec_transfer_params": None, "metrics": None}

    # --- logprobs in the two shapes ------------------------------------------------------
    def token_name(self, token: int, as_ids: bool) -> str:
        return f"token_id:{token}" if as_ids else self.model.token_str(token)

    def completion_logprobs(self, steps: list[TokenStep], as_ids: bool, offset: int = 0) -> dict[str, Any]:
        """The completions shape: parallel lists, ``top_logprobs`` a dict (sampled first, unsorted)."""
        text_offset, token_logprobs, tokens, tops = [], [], [], []
        for step in steps:
            name = self.token_name(step.token, as_ids)
            text_offset.append(offset)
            offset += len(name)
            token_logprobs.append(max(step.logprobs[step.token], -9999.0))
            tokens.append(name)
            tops.append({self.token_name(t, as_ids): max(lp, -9999.0) for t, lp in step.logprobs.items()})
        return {"text_offset": text_offset, "token_logprobs": token_logprobs, "tokens": tokens, "top_logprobs": tops}

    def chat_logprobs(self, steps: list[TokenStep], as_ids: bool, k: int) -> dict[str, Any]:
        """The chat shape: one entry a token, its ``top_logprobs`` the first k of the step's (sampled first)."""

        def entry(token: int, logprob: float, text: str) -> dict[str, Any]:
            name, raw = self.token_name(token, as_ids), list(text.encode("utf-8", "replace"))
            return {"token": name, "logprob": max(logprob, -9999.0), "bytes": raw}

        content = []
        for step in steps:
            top = [entry(t, lp, self.token_name(t, as_ids)) for t, lp in list(step.logprobs.items())[:k]]
            content.append(entry(step.token, step.logprobs[step.token], self.model.token_str(step.token)) | {"top_logprobs": top})
        return {"content": content}


class _Answer:
    """The body or the events of one sampled (not beam) token-level request."""

    def __init__(self, routes: TokenRoutes, body: dict[str, Any], chat: bool, params: TokenParams, prompts: list[list[int]]) -> None:
        self.routes, self.chat, self.params, self.prompts = routes, chat, params, prompts
        self.as_ids = bool(body.get("return_tokens_as_token_ids"))
        self.with_ids = bool(body.get("return_token_ids"))
        self.usage_wanted = bool((body.get("stream_options") or {}).get("include_usage"))
        self.ident, self.created = _ident(chat), int(time.time())

    def head(self, kind: str) -> dict[str, Any]:
        return {"id": self.ident, "object": kind, "created": self.created, "model": self.routes.model_name}

    def logprobs(self, steps: list[TokenStep], offset: int = 0) -> dict[str, Any] | None:
        if self.params.logprobs is None:
            return None
        if self.chat:
            return self.routes.chat_logprobs(steps, self.as_ids, self.params.logprobs)
        return self.routes.completion_logprobs(steps, self.as_ids, offset)

    def usage(self, gen: TokenGeneration) -> dict[str, int]:
        return _usage(sum(map(len, self.prompts)), sum(len(s.tokens) for s in gen.sequences))

    def body(self, gen: TokenGeneration) -> dict[str, Any]:
        choices = []
        for s in gen.sequences:
            end = {"finish_reason": s.finish_reason, "stop_reason": s.stop_reason, "token_ids": s.tokens if self.with_ids else None}
            if self.chat:
                message = {"role": "assistant", "content": s.text, "refusal": None, "tool_calls": [], "reasoning": None}
                choices.append({"index": s.index, "message": message, "logprobs": self.logprobs(s.steps), **end})
            else:
                choices.append({"index": s.index, "text": s.text, "logprobs": self.logprobs(s.steps), **end, "prompt_logprobs": None,
                                "prompt_token_ids": s.prompt if self.with_ids else None, "routed_experts": None})  # fmt: skip
        head = self.head("chat.completion" if self.chat else "text_completion")
        return {**head, "choices": choices, **self.routes._tail(self.usage(gen), self.chat)}

    async def events(self, gen: TokenGeneration, steps: AsyncIterator[list[TokenStep]]) -> AsyncIterator[bytes]:
        head = self.head("chat.completion.chunk" if self.chat else "text_completion")
        offsets = [0] * len(gen.sequences)
        first = [True] * len(gen.sequences)
        if self.chat:
            for s in gen.sequences:
                role = {"index": s.index, "delta": {"role": "assistant", "content": ""}, "logprobs": None, "finish_reason": None}
                yield sse({**head, "choices": [role], "prompt_token_ids": s.prompt if self.with_ids else None, "prompt_text": None})
        async for batch in steps:
            chunks = []
            for step in batch:
                logprobs = self.logprobs([step], offsets[step.index])
                if logprobs is not None and not self.chat:
                    offsets[step.index] = logprobs["text_offset"][-1] + len(logprobs["tokens"][-1])
                token_ids = [step.token] if self.with_ids else None
                if self.chat:
                    choice = {"index": step.index, "delta": {"content": step.text}, "logprobs": logprobs,
                              "finish_reason": step.finish_reason}  # fmt: skip
                    if step.finish_reason:
                        choice["stop_reason"] = step.stop_reason
                    choice["token_ids"] = token_ids
                else:
                    prompt_ids = gen.sequences[step.index].prompt if self.with_ids and first[step.index] else None
                    choice = {"index": step.index, "text": step.text, "logprobs": logprobs, "finish_reason": step.finish_reason,
                              "stop_reason": step.stop_reason, "prompt_token_ids": prompt_ids, "token_ids": token_ids}  # fmt: skip
                first[step.index] = False
                event = {**head, "choices": [choice]}
                if step.finish_reason and not self.usage_wanted:
                    event["system_fingerprint"] = self.routes.fingerprint
                chunks.append(sse(event))
            yield b"".join(chunks)
        if self.usage_wanted:
            yield sse({**head, "choices": [], "usage": self.usage(gen), "system_fingerprint": self.routes.fingerprint})
        yield b"data: [DONE]\n\n"


def _is_ids(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(i, int) and not isinstance(i, bool) for i in value)


def _is_int_text(key: str) -> bool:
    try:
        int(key)
    except ValueError:
        return False
    return True


def _validation(message: str, param: str, value: Any) -> None:
    """Raise vLLM's VLLMValidationError shape: the parameter and value appended to the message."""
    raise ApiError(f"{message} (parameter={param}, value={value})", param)


def _check_logprobs(k: int) -> None:
    if k > MAX_LOGPROBS:
        _validation(f"Requested sample logprobs of {k}, which is greater than max allowed: {MAX_LOGPROBS}", "logprobs", k)


def _usage(prompt_tokens: int, completion_tokens: int) -> dict[str, int]:
    return {"prompt_tokens": prompt_tokens, "total_tokens": prompt_tokens + completion_tokens, "completion_tokens": completion_tokens}


def _ident(chat: bool) -> str:
    return f"{'chatcmpl' if chat else 'cmpl'}-{secrets.token_hex(8)}"
