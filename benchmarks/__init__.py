"""Benchmarks of the TUI client against a no-UI floor: ``python -m benchmarks [--quick]``."""
