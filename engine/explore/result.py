"""What a search answers: its Result, and the break-in that stops it.
"""

from __future__ import annotations

from collections.abc import Callable

import attrs

from engine.explore.moves import Move
from engine.footprint import Discipline
from engine.kernel import Kernel


@attrs.define
class Result:
    verdict: str  # panic, safe, invariant, limit
    steps: int
    states: int
    transitions: int
    seconds: float
    message: str
    schedule: list[tuple[Move, Kernel, Kernel]] = attrs.field(factory=list)
    depth: int = 0
    discipline: Discipline = Discipline()  # as the search found it
    restarts: int = 0  # searches begun again on a weaker discipline
    # The first panic the fast search found (before the shortest): its
    # schedule's length and when it was known; None if it found none.
    first_steps: int | None = None
    first_seconds: float | None = None
    # That panic as shortened (_first): what a search stopped early reports.
    best_schedule: list[tuple[Move, Kernel, Kernel]] = attrs.field(factory=list)
    # The panic is the shortest (the full search found it, or none shorter).
    shortest: bool = False


Progress = Callable[[int, int, int, float, "int | None"], None]


class Interrupted(Exception):
    """explore()'s cancel() said stop (a break-in): raised where it is
    asked, between slices of the fast search and between states of the
    full one; explore() returns a Result with verdict "interrupted"."""

    def __init__(self, states: int) -> None:
        super().__init__(f"interrupted after {states} states")
        self.states = states
