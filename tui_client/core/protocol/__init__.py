"""The protocol layer: HTTP, parsing and the event stream of a generation.

It imports nothing from Textual (the import-linter contracts in pyproject.toml enforce
it), so the headless CLI, the TUI and the tests share it.
"""

from tui_client.core.protocol.client import (
    DEFAULT_URL,
    ClientConfig,
    ModelCard,
    VLLMClient,
    api_key_from_env,
    normalize_url,
)
from tui_client.core.protocol.errors import ClientError, ErrorKind
from tui_client.core.protocol.params import GenerationRequest, Parent, SamplingParams, Turn
from tui_client.core.protocol.state import (
    Api,
    Candidate,
    CandidatesChanged,
    RunEnded,
    RunEvent,
    RunStarted,
    RunState,
    ServerInfo,
    Status,
    Usage,
)

__all__ = [
    "DEFAULT_URL",
    "Api",
    "Candidate",
    "CandidatesChanged",
    "ClientConfig",
    "ClientError",
    "ErrorKind",
    "GenerationRequest",
    "ModelCard",
    "Parent",
    "Turn",
    "RunEnded",
    "RunEvent",
    "RunStarted",
    "RunState",
    "SamplingParams",
    "ServerInfo",
    "Status",
    "Usage",
    "VLLMClient",
    "api_key_from_env",
    "normalize_url",
]
