"""The reductions: the lock discipline found from random walks, chains of
steps explored alone (an ample set of one) and sleep sets.
"""

from __future__ import annotations

import functools

from engine import intr, stepcache
from engine.explore.invariants import check_invariants
from engine.explore.moves import _STEP, Move, _Violation, preempts, traced_moves
from engine.footprint import Discipline, Footprint, independent, traced_step
from engine.kernel import Kernel
from engine.stepcache import StepCache

_CHAIN_LIMIT = 100_000


CHAINS_KEPT = 200_000


def discover(k0: Kernel, ticks: int, start: Discipline | None = None, quiet: int = 12,
             length: int = 500, most: int = 128, sc: StepCache | None = None) -> Discipline:
    """Where the lock discipline is broken, from random schedules.

    Walks until `quiet` walks in a row teach nothing new (at most `most`).
    This only saves restarts: the search checks every transition it takes.
    With a step cache (k0 interned in it), the walks use it, and a cache
    for each weaker discipline shares its structures.
    """
    d = start or Discipline()
    if sc is not None and sc.d != d:
        sc = StepCache(d, sc)
    calm = 0
    for r in range(most):
        if calm >= quiet:
            break
        calm += 1
        rng = intr.SplitMix64(r + 1)
        k, t = k0, ticks
        for _ in range(length):
            try:
                succ = traced_moves(k, t, d, None, sc)
            except _Violation as v:
                d = d.weaken(v.kind, v.field)
                if sc is not None:
                    sc = StepCache(d, sc)
                calm = 0
                continue
            if not succ or k.panicstr is not None:
                break
            _, k, t = succ[rng.below(len(succ))]
    return d


def ample_chain(k: Kernel, ticks: int, d: Discipline, blocked: set[int] | None = None,
                start: int = 0, cache: StepCache | None = None,
                checked: bool = False,
                fps: list[Footprint] | None = None,
                bounded: bool = False) -> tuple[Kernel, list[Move]]:
    """Follow steps that may be explored alone (an ample set of one) from k.

    Stops at a state where no step is independent of everything else --
    that state is expanded in full -- or at a panic, or before a state the
    chain has already been through (so every cycle of the reduced graph
    passes through a fully expanded state: the cycle proviso). fps, if
    given, receives the footprint of each step taken. bounded (a
    preemption-bounded search): a step that is a preemption (preempts())
    is never taken alone, so every step of a chain leaves the count
    alone and reordering the chain changes no schedule's count.
    """
    path: list[Move] = []
    keys = {k.fingerprint()}
    # A CPU whose step is not independent stays so while others take
    # independent steps: those touch nothing its step looks at. (Whether a
    # CPU is tried only decides how far the chain goes, never soundness.)
    blocked = set(blocked or ())
    ci = start
    ncpu = len(k.cpus)
    # (checked: the caller found k's invariants whole. Then a step that
    # writes nothing they read and takes or lets go of no lock leaves them
    # whole, and they are not looked at again.)
    broken = not checked and check_invariants(k) is not None
    compiled = stepcache._C
    if cache is not None and compiled is not None:
        # (The same loop, compiled: engine/_stepcache.c chain().)
        k, path, bad = compiled.chain(cache, k, ticks, blocked, start, broken, fps, bounded,
                                cache.step_alone, preempts, check_invariants, _STEP,
                                _CHAIN_LIMIT)
        if bad is not None:
            raise _Violation(*bad.violation)
        return k, path
    while k.panicstr is None and len(path) < _CHAIN_LIMIT and len(blocked) < ncpu:
        if ci in blocked:
            ci = (ci + 1) % ncpu
            continue
        if cache is not None:
            m, fp = cache.step_alone(k, ci, ticks)
        else:
            n, fp = traced_step(k, ci, d)
            m = n if n is not k and independent(k, n, ci, fp, ticks) else None
        if fp.violation is not None:
            raise _Violation(*fp.violation)
        if m is None or m.fingerprint() in keys or (bounded and preempts(k, m, ci)):
            blocked.add(ci)
            continue
        n = m
        keys.add(n.fingerprint())
        path.append(_STEP[ci])
        if fps is not None:
            fps.append(fp)
        k = n
        if (broken or fp.inv_write or fp.lock_write) and check_invariants(k) is not None:
            break
    return k, path


# A move asleep in a state: the move, and the bits (Footprint.bits) of what
# its edge touches and writes, as they were where it was last taken.
_Sleeper = tuple[Move, int, int]


@functools.cache
def _rank(mv: Move) -> tuple[int, str, int]:
    """The order moves are taken in from a state (traced_moves): steps by
    CPU, then clock interrupts by CPU, then device interrupts."""
    return (0 if mv.kind == "step" else 1 if mv.kind == "hardclock" else 2,
            mv.dev or "", mv.cpu)


def _asleep_after(mv: Move, fp: Footprint, chain: list[Footprint],
                  taken: list[_Sleeper], asleep: tuple[_Sleeper, ...]) -> tuple[_Sleeper, ...]:
    """The moves asleep in the state an edge from s leads to (Godefroid's
    sleep sets), and the edge added to `taken`, the edges taken from s.

    The edge is mv (footprint fp) and its chain (footprints `chain`). A move
    x earlier than mv (_rank), taken from s or asleep there, sleeps on if
    its edge and this one touch nothing the other writes: then s.x.mv and
    s.mv.x are the same state at the same cost (each edge does what it did,
    neither changes what the other reads), and the search does not take x
    after mv. Nothing is lost: suppose u is the first state, by cost, not
    stored at its least cost c, and v -x-> u ends a cheapest path to it, v
    stored (cheaper) and x asleep there. v was reached from w by an edge
    mv > x that commutes with x, so w -x-> v' -mv-> u is a cheapest path
    too, v' being cheaper than u is stored at its cost, and u is reached
    unless mv sleeps in v'; then v' was reached by an edge larger than mv,
    and so on: the moves grow, so this ends, with u reached at c. So every
    state is stored, at its least cost, whether or not the move that would
    have reached it sleeps (tests/explore/test_explore_speed.py compares every
    state's cost with and without). Where x's edge ends in a panic, s.x
    is the cheaper panic (a panic state has no moves). A chain known to
    end where it has been (the search's memo) is taken as if made again:
    it is the same chain, with the same footprints, each time.
    """
    acc, wr = fp.bits()
    for f in chain:
        a, w = f.bits()
        acc |= a
        wr |= w
    r = _rank(mv)
    out = tuple([e for e in (*taken, *asleep)
                 if _rank(e[0]) < r and not (e[2] & acc or wr & e[1])])
    taken.append((mv, acc, wr))
    return out
