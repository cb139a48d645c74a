"""An embedded stand-in for vLLM: the same routes, bodies and errors, no GPU.

Serves vLLM's legacy demo protocol (``/generate``) and the OpenAI-compatible API
(``/v1/completions``, ``/v1/chat/completions``, ``/v1/models``, ``/tokenize``,
``/detokenize``, ``/version``, ``/metrics``: see :mod:`tui_client.demo.metrics`) on one app, paced at ``token_delay`` seconds a step. Plain requests
get text from :mod:`tui_client.demo.markov`; requests at the token level (token-id
prompts, logprobs, logit_bias, beam search...) go to :mod:`tui_client.demo.token_api`.
"""

from __future__ import annotations

import errno
import json
import os
import secrets
import socket
import sys
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import fastapi
import uvicorn
from fastapi import Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.requests import ClientDisconnect

from tui_client.core.defaults import DEMO_HOST, DEMO_MODEL, DEMO_PORT, DEMO_TOKEN_DELAY
from tui_client.demo.markov import Delta, Generation, tokenize
from tui_client.demo.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from tui_client.demo.metrics import DemoMeter
from tui_client.demo.token_api import TokenRoutes, is_token_level
from tui_client.demo.tokens import TokenModel
from tui_client.demo.wire import MAX_MODEL_LEN, ApiError, chat_messages, json_body, paced, sampling_params, sse

VERSION = "0.32.0+demo"
FINGERPRINT = f"vllm-{VERSION}"


def _usage(gen: Generation, prompt_tokens: int) -> dict[str, int]:
    completion = sum(c.tokens for c in gen.candidates)
    return {"prompt_tokens": prompt_tokens, "total_tokens": prompt_tokens + completion, "completion_tokens": completion}


def _chat_prompt(messages: Any, *, continue_final: bool = False) -> str:
    """The conversation as text, ending with a paragraph break so the answer starts afresh
    (``continue_final``: ending with the last message as it is, so the answer goes on with it)."""
    text = "".join(f"{m.get('content') or ''}\n\n" for m in chat_messages(messages))
    return text[:-2] if continue_final and text else text


def create_app(
    *,
    token_delay: float = DEMO_TOKEN_DELAY,
    api_key: str | None = None,
    model_name: str = DEMO_MODEL,
    token_model: TokenModel | None = None,
    metrics: bool = True,
    more_models: tuple[str, ...] = (),
) -> fastapi.FastAPI:
    """The demo vLLM as an ASGI app (see the module docstring); ``token_model`` answers at the token
    level; ``metrics`` False: no ``/metrics`` (as vLLM's legacy server, or a proxy in front).

    ``more_models``: ids ``/v1/models`` lists after ``model_name`` (each answers as the demo does),
    as ``vllm serve --served-model-name a b`` lists several."""
    app = fastapi.FastAPI(title="tui-client demo vLLM", openapi_url=None, docs_url=None, redoc_url=None)
    meter = DemoMeter(model_name) if metrics else None
    tokens = TokenRoutes(token_model, token_delay=token_delay, model_name=model_name, fingerprint=FINGERPRINT,
                         meter=meter)
    served = (model_name, *(m for m in more_models if m != model_name))

    def check_model(body: dict[str, Any]) -> None:
        if body.get("model") not in (None, *served):
            raise ApiError(
                f"The model `{body['model']}` does not exist. Valid aliases: {', '.join(served)}.", "model", 404,
                "NotFoundError"
            )

    async def check_key(request: Request) -> None:
        if api_key is not None and not secrets.compare_digest(
            request.headers.get("authorization", "").encode(), f"Bearer {api_key}".encode()
        ):
            raise ApiError("Unauthorized", code=401, body={"error": "Unauthorized"})

    v1 = fastapi.APIRouter(prefix="/v1", dependencies=[fastapi.Depends(check_key)])

    @app.exception_handler(ApiError)
    async def api_error(_: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(exc.body, status_code=exc.code)

    @app.exception_handler(ClientDisconnect)
    async def gone(_: Request, __: ClientDisconnect) -> Response:
        return Response(status_code=499)  # the client left before its request was read: nobody to tell

    @app.get("/health")
    async def health() -> Response:
        return Response()

    @app.get("/version")
    async def version() -> dict[str, str]:
        return {"version": VERSION}

    if meter is not None:

        @app.get("/metrics")
        async def metrics_route() -> Response:
            """vLLM's Prometheus metrics: requests running and waiting, KV cache usage, token counters."""
            return Response(meter.exposition(), media_type=METRICS_CONTENT_TYPE)

    @app.post("/generate")
    async def generate(request: Request) -> Response:
        """vLLM's legacy demo server: cumulative ``{"text": [...]}`` lines; bad input is a bare 500."""
        try:
            body = await json_body(request)
            prompt, stream = str(body.pop("prompt")), bool(body.pop("stream", False))
            if body.get("use_beam_search"):
                return await tokens.generate_beams(request, body, prompt, stream)
            gen = Generation(prompt, sampling_params(body, default_max_tokens=16))
        except (ApiError, KeyError):
            return PlainTextResponse("Internal Server Error", status_code=500)

        def texts() -> list[str]:
            return [prompt + c.text for c in gen.candidates]

        if stream:

            async def lines() -> AsyncIterator[bytes]:
                async for _ in paced(gen, token_delay, meter=meter, prompt_tokens=len(tokenize(prompt))):
                    yield (json.dumps({"text": texts()}) + "\n").encode()

            return StreamingResponse(lines())
        async for _ in paced(gen, token_delay, request, meter=meter, prompt_tokens=len(tokenize(prompt))):
            pass
        if not gen.finished:
            return Response(status_code=499)
        return JSONResponse({"text": texts()})

    @v1.get("/models")
    async def models() -> dict[str, Any]:
        cards = [{"id": name, "object": "model", "created": int(time.time()), "owned_by": "tui-client-demo",
                  "root": name, "parent": None, "max_model_len": MAX_MODEL_LEN, "permission": []}  # fmt: skip
                 for name in served]
        return {"object": "list", "data": cards}

    @app.post("/tokenize")
    async def tokenize_route(request: Request) -> dict[str, Any]:
        body = await json_body(request)
        check_model(body)
        return tokens.tokenize(body)

    @app.post("/detokenize")
    async def detokenize_route(request: Request) -> dict[str, Any]:
        body = await json_body(request)
        check_model(body)
        return tokens.detokenize(body)

    async def complete(request: Request, chat: bool) -> Response:
        """Both OpenAI-style routes: they differ only in prompt and choice shapes."""
        body = await json_body(request)
        check_model(body)
        if is_token_level(body, chat):
            return await tokens.complete(request, body, chat)
        if chat:
            prompt = _chat_prompt(body.get("messages"), continue_final=body.get("continue_final_message") is True)
            prompt_tokens = len(tokenize(prompt)) + 4 * len(body["messages"])  # + template tokens
            body["max_tokens"] = body.get("max_completion_tokens") or body.get("max_tokens")
        else:
            prompt = body.get("prompt")
            prompt = prompt[0] if isinstance(prompt, list) and len(prompt) == 1 else prompt
            if not isinstance(prompt, str):
                raise ApiError("prompt must be a string.", "prompt")
            prompt_tokens = len(tokenize(prompt))
        params = sampling_params(body, default_max_tokens=max(1, MAX_MODEL_LEN - prompt_tokens) if chat else 16)
        stream = bool(body.get("stream"))
        gen = Generation(prompt, replace(params, stop_at_paragraph=chat))
        ident, created = f"{'chatcmpl' if chat else 'cmpl'}-{secrets.token_hex(8)}", int(time.time())

        def head(kind: str) -> dict[str, Any]:
            return {"id": ident, "object": kind, "created": created, "model": body.get("model") or model_name}

        if stream:
            usage_wanted = bool((body.get("stream_options") or {}).get("include_usage"))
            chunk_head = head("chat.completion.chunk" if chat else "text_completion")

            def event(d: Delta) -> dict[str, Any]:
                choice: dict[str, Any]
                if chat:
                    choice = {"index": d.index, "delta": {"content": d.text}, "logprobs": None, "finish_reason": d.finish_reason}
                    if d.finish_reason:
                        choice["stop_reason"] = d.stop_reason
                else:
                    choice = {"index": d.index, "text": d.text, "logprobs": None, "finish_reason": d.finish_reason,
                              "stop_reason": d.stop_reason, "prompt_token_ids": None}  # fmt: skip
                out = {**chunk_head, "choices": [{**choice, "token_ids": None}]}
                if d.finish_reason and not usage_wanted:
                    out["system_fingerprint"] = FINGERPRINT
                return out

            async def events() -> AsyncIterator[bytes]:
                if chat:
                    for i in range(params.n):
                        role = {"index": i, "delta": {"role": "assistant", "content": ""}, "logprobs": None, "finish_reason": None}
                        yield sse({**chunk_head, "choices": [role], "prompt_token_ids": None, "prompt_text": None})
                async for deltas in paced(gen, token_delay, meter=meter, prompt_tokens=prompt_tokens):
                    yield b"".join(sse(event(d)) for d in deltas)
                if usage_wanted:
                    yield sse({**chunk_head, "choices": [], "usage": _usage(gen, prompt_tokens), "system_fingerprint": FINGERPRINT})
                yield b"data: [DONE]\n\n"

            return StreamingResponse(events(), media_type="text/event-stream")

        async for _ in paced(gen, token_delay, request, meter=meter, prompt_tokens=prompt_tokens):
            pass
        if not gen.finished:
            return Response(status_code=499)
        choices = []
        for i, c in enumerate(gen.candidates):
            end = {"finish_reason": c.finish_reason, "stop_reason": c.stop_reason, "token_ids": None}
            if chat:
                message = {"role": "assistant", "content": c.text, "refusal": None, "tool_calls": [], "reasoning": None}
                choices.append({"index": i, "message": message, "logprobs": None, **end})
            else:
                choices.append({"index": i, "text": c.text, "logprobs": None, **end, "prompt_logprobs": None, "prompt_token_ids": None})
        usage = _usage(gen, prompt_tokens) | {"prompt_tokens_details": None, "completion_tokens_details": None}
        tail = {"service_tier": None, "system_fingerprint": FINGERPRINT, "usage": usage, "kv_transfer_params": None}
        return JSONResponse({**head("chat.completion" if chat else "text_completion"), "choices": choices, **tail})

    @v1.post("/completions")
    async def completions(request: Request) -> Response:
        return await complete(request, chat=False)

    @v1.post("/chat/completions")
    async def chat_completions(request: Request) -> Response:
        return await complete(request, chat=True)

    app.include_router(v1)
    return app


class _Server(uvicorn.Server):
    """uvicorn, but shutting down drops open connections at once (aborting their streams)."""

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for connection in list(self.server_state.connections):
            connection.transport.close()
        await super().shutdown(sockets)


class DemoServerError(Exception):
    """The demo server cannot listen where asked; ``str()`` is one line."""


def _listen(host: str, port: int) -> tuple[socket.socket, str]:
    """A listening socket (port 0: ephemeral) and its base URL; :class:`DemoServerError` when it cannot."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    where = f"{f'[{host}]' if family == socket.AF_INET6 else host}:{port}"
    try:
        sock = socket.create_server((host, port), family=family)
    except OverflowError:
        raise DemoServerError(f"cannot listen on {where}: the port must be 0 to 65535") from None
    except socket.gaierror as err:
        raise DemoServerError(f"cannot listen on {where}: {err.strerror} (not a host name this machine knows)") from None
    except OSError as err:
        hint = {errno.EADDRINUSE: " (something else listens there: pass another --port)",
                errno.EADDRNOTAVAIL: " (not an address of this machine: try 127.0.0.1 or 0.0.0.0)",
                errno.EACCES: " (a port below 1024 needs privileges: pass --port 8000 or above)"}.get(err.errno or 0, "")
        # without create_server's "(while attempting…)"; a negative errno is getaddrinfo's ("a b", "999.1.1.1")
        if err.errno is not None and err.errno < 0:
            reason = (err.strerror or str(err)).split(" (while attempting")[0] + " (not a host name this machine knows)"
        else:
            reason = os.strerror(err.errno) if err.errno else str(err)
        raise DemoServerError(f"cannot listen on {where}: {reason}{hint}") from None
    # Inherited by the connections: without it every POST waited ~40 ms (Nagle vs. delayed ACK),
    # so a beam step took that on top of its token_delay.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    bound_port = sock.getsockname()[1]
    shown = host or "0.0.0.0"  # --host '' binds every address, as 0.0.0.0 does; "http://:8000" is no URL
    return sock, f"http://{f'[{host}]' if family == socket.AF_INET6 else shown}:{bound_port}"


def _server(app: fastapi.FastAPI, **options: Any) -> _Server:
    return _Server(uvicorn.Config(app, http="h11", ws="none", lifespan="off", log_level="warning", access_log=False, **options))


class DemoServer:
    """The demo app in a background thread (uvicorn, loopback, ephemeral port by default)."""

    def __init__(
        self,
        host: str = DEMO_HOST,
        port: int = 0,
        *,
        token_delay: float = DEMO_TOKEN_DELAY,
        api_key: str | None = None,
        token_model: TokenModel | None = None,
        metrics: bool = True,
        models: tuple[str, ...] = (),
    ) -> None:
        self.host, self.port = host, port
        self.url = ""
        self._app = create_app(token_delay=token_delay, api_key=api_key, token_model=token_model, metrics=metrics,
                               model_name=models[0] if models else DEMO_MODEL, more_models=models[1:])
        self._running: tuple[_Server, threading.Thread] | None = None

    def start(self) -> str:
        """Start serving; return the base URL once the server accepts connections."""
        if self._running is not None:
            return self.url
        sock, self.url = _listen(self.host, self.port)
        server = _server(self._app, log_config=None)  # leave the host's logging alone
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="demo-vllm", daemon=True)
        thread.start()
        deadline = time.monotonic() + 10
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                server.should_exit = True
                sock.close()
                raise RuntimeError("the demo server did not start")
            time.sleep(0.002)
        self._running = server, thread
        return self.url

    def stop(self) -> None:
        """Stop serving (aborting open streams) and wait for the thread; safe to call twice."""
        if self._running is not None:
            server, thread = self._running
            server.should_exit = True
            thread.join(timeout=5)
            self._running = None

    def __enter__(self) -> DemoServer:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()


def serve(host: str = DEMO_HOST, port: int = DEMO_PORT, *, token_delay: float = DEMO_TOKEN_DELAY, api_key: str | None = None,
          metrics: bool = True, models: tuple[str, ...] = ()) -> None:
    """Serve the demo in the foreground until Ctrl-C (``metrics`` False: no ``/metrics``; ``models``:
    the ids it serves, default demo-markov)."""
    sock, url = _listen(host, port)
    names = models or (DEMO_MODEL,)
    print(f"Demo vLLM server (model{'s' if len(names) > 1 else ''} {', '.join(names)}) at {url}; press Ctrl-C to stop.",
          file=sys.stderr)
    try:
        _server(create_app(token_delay=token_delay, api_key=api_key, metrics=metrics, model_name=names[0],
                           more_models=names[1:])).run(sockets=[sock])
    except KeyboardInterrupt:
        pass
