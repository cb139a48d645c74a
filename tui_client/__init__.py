"""tui-client: a terminal client for vLLM that shows n candidates side by side."""

__version__ = "0.1.0"
