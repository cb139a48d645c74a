"""core/transport."""
