"""A plan: a schedule `search` found from a session's state, for `follow`.

A plan is a value: the moves (a statement or an interrupt on one CPU), the
kernel before each and after the last, and the race events each move
makes. The session holds it with how far it has been walked (plan_at);
both are saved with every undo snapshot, so `undo` brings a plan back with
the state it belongs to.

Invariant: while a session holds a plan, its kernel is plan.kernels[plan_at]
(any command that leaves the plan's path ends the plan).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

from engine.events import Event
from engine.kernel import Kernel

if TYPE_CHECKING:  # (the explorer is loaded only when `search` runs)
    from engine.explore import Move


@attrs.frozen(eq=False)
class Plan:
    moves: tuple[Move, ...]  # the explorer's: a statement or an interrupt on one CPU
    kernels: tuple[Kernel, ...]  # kernels[i] before moves[i]; the last after all
    events: tuple[tuple[Event, ...], ...]  # the race events of each move
    shortest: bool  # proved the shortest from its first kernel

    @property
    def message(self) -> str:
        return self.kernels[-1].panicstr or ""

    def stops(self) -> list[int]:
        """The moves that make race events (follow stops after each)."""
        return [i for i, ev in enumerate(self.events) if ev]


def plan_index(plan: Plan, k: Kernel, start: int) -> int | None:
    """The position j >= start of the plan at which k stands, or None."""
    fp = k.fingerprint()
    for j in range(start, len(plan.kernels)):
        pk = plan.kernels[j]
        if pk.fingerprint() == fp and pk.key() == k.key():
            return j
    return None
