"""The rendering's tuning constants, in one place (the figures behind them: benchmarks/notes/app.md)."""

from __future__ import annotations

FRAME_INTERVAL = 1 / 30
"""Shortest time between two frames (seconds)."""

FRAME_BUDGET = 0.020
"""Work a frame should take at most (seconds): a key pressed during a frame waits for it."""

FIRST_PANELS_PER_FRAME = 8
"""Panels the first frame of a run may draw, before frames are measured."""

MIN_PANELS_PER_FRAME = 2
"""A frame draws at least this many of the panels that changed, however slow they are."""

MIN_IDLE = 0.001
"""Shorter idle gaps than this (seconds) are skipped: the next frame is queued at once."""

LOADED_IDLE_FACTOR = 3.0
"""Under full load the pacer stays idle this many times as long as a frame's work:
frames then get at most a quarter of the CPU and reading the stream the rest."""

FULL_GC_INTERVAL = 0.25
"""While streaming, the run's garbage is collected after a frame this often (seconds):
short, frequent passes instead of one long pause that keys would wait behind."""

POST_RUN_GC_DELAY = 0.5
"""After a run, its full garbage collection waits this long (seconds): the final frame first,
and the keys typed as the run ends."""

SAVE_WAIT_FOR_PAINT = 0.5
"""Longest a run's history save waits for the final frame to be painted (seconds)."""

RESERVE_DELAY = 0.3
"""After n changes, the app waits this long (seconds) before it mounts the panels n needs (hidden)."""

CLOCK_INTERVAL = 0.25
"""How often elapsed times move while a run is active (seconds)."""

FORK_FLASH = 1.5
"""A beam search: how long a rank taken over by another beam highlights its text from the
fork on (seconds; a later replacement starts it again)."""

PROBABILITY_LEVELS = (0.9, 0.6, 0.3, 0.1, 0.03)
"""The probability view's shades: a token at least as probable as ``PROBABILITY_LEVELS[0]``
is not shaded, one below them all gets the strongest shade (one more level than thresholds)."""

STRONGEST_SHADE = 0.7
"""How much of the probability colour the least probable tokens' background takes (0-1);
the levels between step evenly from the panel's background."""
SPARKLINE_MAX_CELLS = 32
"""The widest a panel's confidence sparkline (in its top border, after the title) gets."""

SPARKLINE_MIN_CELLS = 6
"""Narrower than this, the sparkline is left out."""

SHORT_INPUT_MAX_CHARS = 64
"""The longest value a one-line field takes (a number, a seed): a long paste that arrives as keys
is cut there, said in one line, instead of every key costing more as the value grows."""

TEXT_INPUT_MAX_CHARS = 4_096
"""The same for a one-line text field (stop strings, the history search)."""
