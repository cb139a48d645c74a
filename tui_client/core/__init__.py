"""The core: protocol, transport, text and storage, with no Textual in it (the import-linter
contracts in pyproject.toml keep it so); the CLI, the TUI and the tests all stand on it."""
