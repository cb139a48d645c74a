"""A stand-in for vLLM that needs no GPU: a Markov text generator behind vLLM's HTTP APIs."""

from tui_client.demo.server import DemoServer, create_app, serve

__all__ = ["DemoServer", "create_app", "serve"]
