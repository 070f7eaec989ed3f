"""Exhaustive exploration of the interleavings of a scenario's kernel.

A transition is one modeled statement on one CPU (engine.machine.step), a
clock interrupt on one CPU (while the clock budget lasts), or a device
interrupt on one CPU (while an LWP sleeps on that device). The search is
by number of transitions (uniform cost; breadth-first when unreduced), so
the first KASSERT found has the fewest.

Reductions, each switchable:
  hashing  visited states, kept as 64-bit hashes, are not expanded again;
           nor is a state seen as cheaply with more clock budget (subsume);
  por      partial-order reduction on the kernel's lock discipline
           (engine.footprint): a step whose accesses are all covered by
           what its CPU holds is explored alone, and chains of such steps
           are one edge. Every transition taken is checked against the
           discipline; a broken assumption restarts the search without it.
  sleep    sleep sets (with por): a move is not taken again after an edge
           it commutes with when it was already taken, or asleep, where
           that edge began (_asleep_after). Fewer transitions, the same
           states at the same costs.
Symmetry is not applied: allproc order, CPU order in sched_takecpu's scan
and sched_idle's lock order make no two LWPs or CPUs interchangeable.
"""

from __future__ import annotations

from engine.explore.first import FIRST_SLICE, FIRST_STATES, FIRST_SWITCHES, first_search
from engine.explore.invariants import check_invariants
from engine.explore.moves import (
    Move,
    apply,
    handler,
    interrupts,
    move,
    moves,
    preempts,
    replay_moves,
    traced_move,
    traced_moves,
)
from engine.explore.reduction import CHAINS_KEPT, ample_chain, discover
from engine.explore.report import budget_note, budget_words, describe, movers, schedule_commands
from engine.explore.result import Interrupted, Progress, Result
from engine.explore.search import (
    SHORTEN_STATES,
    explore,
    explore_bounded,
    explore_scenario,
    minimize,
    schedule_preemptions,
)
from engine.explore.torture import TortureResult, torture
from engine.explore.visited import KeySet, subsumed

__all__ = [
    "CHAINS_KEPT",
    "FIRST_SLICE",
    "FIRST_STATES",
    "FIRST_SWITCHES",
    "Interrupted",
    "KeySet",
    "Move",
    "Progress",
    "Result",
    "SHORTEN_STATES",
    "TortureResult",
    "ample_chain",
    "apply",
    "budget_note",
    "budget_words",
    "check_invariants",
    "describe",
    "discover",
    "explore",
    "explore_bounded",
    "explore_scenario",
    "first_search",
    "handler",
    "interrupts",
    "minimize",
    "move",
    "movers",
    "moves",
    "preempts",
    "replay_moves",
    "schedule_commands",
    "schedule_preemptions",
    "subsumed",
    "torture",
    "traced_move",
    "traced_moves",
]
