"""Random schedules, like the report's torture tests.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import attrs

from engine import intr
from engine.explore.moves import Move, moves
from engine.kernel import Kernel


@attrs.define
class TortureResult:
    runs: int
    panics: int
    first_seed: int | None
    message: str | None
    schedule: list[tuple[Move, Kernel, Kernel]]
    seconds: float


def torture(k0: Kernel, runs: int, seed: int, ticks: int = 3,
            max_steps: int = 2000,
            progress: Callable[[int, int, float], None] | None = None) -> TortureResult:
    """Random schedules, like the report's torture tests; deterministic for a seed.
    progress(runs done, panics, seconds) is called about every 2 seconds."""
    t0 = time.perf_counter()
    panics, first, message = 0, None, None
    schedule: list[tuple[Move, Kernel, Kernel]] = []
    told = t0
    for r in range(runs):
        if progress is not None and time.perf_counter() - told >= 2.0:
            told = time.perf_counter()
            progress(r, panics, told - t0)
        run_seed = seed + r
        rng = intr.SplitMix64(run_seed * 0x9E3779B1 + 1)
        k, t = k0, ticks
        path: list[tuple[Move, Kernel, Kernel]] = []
        for _ in range(max_steps):
            succ = list(moves(k, t))
            if not succ:
                break
            mv, n, t = succ[rng.below(len(succ))]
            path.append((mv, k, n))
            k = n
            if k.panicstr is not None:
                break
        if k.panicstr is not None:
            panics += 1
            if first is None:
                first, message, schedule = run_seed, k.panicstr, path
    return TortureResult(runs, panics, first, message, schedule, time.perf_counter() - t0)
