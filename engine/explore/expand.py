"""Expanding one state: its moves, the chains after them, and what the
search keeps of their ends (the Python twin of engine/_stepcache.c
expand()).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs

from engine import stepcache
from engine.explore.frontier import _Buckets
from engine.explore.invariants import check_invariants
from engine.explore.moves import Move, _Violation, moves, preempts, traced_moves
from engine.explore.reduction import CHAINS_KEPT, _asleep_after, _Sleeper, ample_chain
from engine.explore.visited import _Seen, _state_key, subsumed, subsumed_fps
from engine.footprint import Discipline, Footprint
from engine.kernel import FP_MASK, Kernel
from engine.stepcache import StepCache


@attrs.define
class Ctx:
    """What expanding one state reads and writes: the Python twin of the
    compiled expand()'s cfg (engine/_stepcache.c C_* fields)."""
    seen: _Seen
    heap: _Buckets
    pack: Callable[[Kernel], Any]
    # chain start -> (its end's key, its length above bit 64; its footprints)
    chains: dict[int, tuple[int, list[Footprint]]]
    sc: StepCache | None
    disc: Discipline
    ticks: int
    bound: int  # nothing this long or longer is kept
    left0: int  # preemptions a schedule may take (-1: unbounded)
    bounded: bool
    por: bool
    hashing: bool
    sleepy: bool
    subsume: bool
    max_states: int
    on_store: Callable[[object, int], None] | None
    kfp: Callable[[Kernel, int], int]
    # A parallel search's slice (engine/explore/jobs.py): every successor the
    # seen set does not rule out goes here, decided later in the search's
    # order: record(transitions, key, cost, ticks, left, sleepers, edge,
    # kernel, clock fps, panicstr, invariant).
    record: Callable[..., None] | None = None


_Found = tuple[int, str, str, bytes]  # cost, verdict, message, path


def ended(seen: _Seen, key: object, cost: int, msg: str | None, bad: str | None, path: bytes,
          found: _Found | None) -> _Found | None:
    """A panic (msg) or a broken invariant (bad) reached at cost: kept
    apart with its cost. The cheapest known, found or this one."""
    seen.ends[key] = cost
    if found is None or cost < found[0]:
        return (cost, "panic" if msg is not None else "invariant",
                msg if msg is not None else bad or "", path)
    return found


def expand(x: Ctx, cfg: tuple[Any, ...] | None, counters: list[Any], k: Kernel, c: int,
           path: bytes, asleep: tuple[_Sleeper, ...], left: int,
           succ: list[tuple[Move, Kernel, int]], at_k: dict[int, tuple[Footprint, bool]],
           intr_fps: dict[Move, Footprint]) -> int | None:
    """expand_py(), or the compiled expand() where cfg (its C_* fields,
    matching x) is given; a step that broke the discipline raises
    _Violation either way."""
    if cfg is None:
        return expand_py(x, counters, k, c, path, asleep, left, succ, at_k, intr_fps)
    r = stepcache._C.expand(cfg, counters, k, c, path, asleep, left, succ, at_k, intr_fps)
    if isinstance(r, tuple):
        raise _Violation(*r[2].violation)
    return r


def decide_py(x: Ctx, key: int, cost: int, t: int, left: int, fps: tuple[int, ...]) -> int:
    """The compiled decide() in Python: what the search does with a
    successor (key, cost, clock budget t, preemptions left, its clock fps
    at budgets t .. x.ticks): -1 dropped (seen as cheaply, or subsumed),
    0 kept again more cheaply, 1 a new state."""
    old = x.seen.cost_of(key)
    if old is not None and old <= cost:
        return -1
    if (x.subsume and (t < x.ticks or 0 <= left < x.left0)
            and subsumed_fps(fps, t, x.ticks, cost, x.seen, left, x.left0)):
        return -1
    return 1 if old is None else 0


def expand_py(x: Ctx, counters: list[Any], k: Kernel, c: int, path: bytes,
               asleep: tuple[_Sleeper, ...], left: int,
               succ: list[tuple[Move, Kernel, int]], at_k: dict[int, tuple[Footprint, bool]],
               intr_fps: dict[Move, Footprint]) -> int | None:
    """The successors of k (cost c) kept, as the compiled expand() keeps
    them: counters is [states, transitions, found], updated; the cost of
    the state that reached the state limit, or None."""
    states, transitions, found = counters
    seen, sc, ticks, bounded, por, hashing, sleepy = (
        x.seen, x.sc, x.ticks, x.bounded, x.por, x.hashing, x.sleepy)
    chains, kfp, left0 = x.chains, x.kfp, x.left0
    try:
        taken: list[_Sleeper] = []  # edges from k so far (sleep sets)
        for mv, n, nt in succ:
            transitions += 1
            nleft = left if bounded else -1
            if bounded and mv.kind == "step" and preempts(k, n, mv.cpu):
                nleft -= 1
                if nleft < 0:
                    continue  # a schedule past the bound
            edge: tuple[Move, ...] = (mv,)
            chain_fps: list[Footprint] = []
            bad = None if n.panicstr is not None else check_invariants(n)
            if por and n.panicstr is None and bad is None:
                # CPUs blocked at k whose step the move cannot have changed
                # are still blocked after it.
                seed: set[int] = set()
                if mv.kind == "step":
                    fpm = at_k[mv.cpu][0]
                    seed = {b for b, (fpb, blk) in at_k.items()
                            if b != mv.cpu and blk and not (
                                sc.conflicts(fpm, fpb) if sc is not None
                                else fpm.conflicts(fpb))}
                # The chain from a state is always the same: remember where it ends.
                # (Keyed by the kernel itself: an exact memo, and one
                # clock_fp fewer a move.)
                pre = _state_key(n.fingerprint(), nt, nleft)
                hit = chains.get(pre) if hashing else None
                if hit is not None:
                    end_cost = seen.cost_of(hit[0] & FP_MASK)
                    if end_cost is not None and end_cost <= c + 1 + (hit[0] >> 64):
                        # Known to end where it has been: counted and taken
                        # as if made again (the chain is the same each
                        # time), so the memo never changes an answer.
                        transitions += hit[0] >> 64
                        if sleepy:
                            fpx = at_k[mv.cpu][0] if mv.kind == "step" else intr_fps[mv]
                            _asleep_after(mv, fpx, hit[1], taken, asleep)
                        continue
                n, chain = ample_chain(n, nt, x.disc, seed, mv.cpu, sc, checked=True,
                                       fps=chain_fps if sleepy else None, bounded=bounded)
                transitions += len(chain)
                if chain:
                    bad = None if n.panicstr is not None else check_invariants(n)
                edge += tuple(chain)
            nc = c + len(edge)
            sleeps: tuple[_Sleeper, ...] = ()
            if sleepy:
                fpx = at_k[mv.cpu][0] if mv.kind == "step" else intr_fps[mv]
                sleeps = _asleep_after(mv, fpx, chain_fps, taken, asleep)
            if nc >= x.bound and n.panicstr is None and bad is None:
                continue
            nkey = _state_key(kfp(n, nt), nt, nleft) if hashing else object()
            if por and len(edge) > 1 and hashing:
                if len(chains) >= CHAINS_KEPT:
                    chains.clear()
                chains[pre] = ((len(edge) - 1) << 64 | nkey,  # type: ignore[operator]
                               chain_fps)
            old = seen.cost_of(nkey)
            if old is not None and old <= nc:
                continue
            if (hashing and x.subsume and (nt < ticks or 0 <= nleft < left0)
                    and subsumed(n, nt, ticks, nc, seen, nleft, left0, kfp)):
                continue
            if x.record is not None:
                x.record(transitions, nkey, nc, nt, nleft, sleeps, edge, n,
                         tuple(kfp(n, more) for more in range(nt, ticks + 1)),
                         n.panicstr, bad)
                continue
            if old is None:
                states += 1
            npath = path + seen.edge_code(edge)
            msg = n.panicstr
            if msg is not None or bad is not None:
                found = ended(seen, nkey, nc, msg, bad, npath, found)
                continue
            if states >= x.max_states:
                return nc
            seen.put(nkey, nc, x.pack(n), nt, npath, sleeps, max(nleft, 0))
            if x.on_store is not None:
                x.on_store(nkey, nc)
            x.heap.push(nc, nkey)
        return None
    finally:
        counters[:] = [states, transitions, found]


_AWAKE: frozenset[Move] = frozenset()


def successors(x: Ctx, k: Kernel, t: int, asleep: tuple[_Sleeper, ...],
                at_k: dict[int, tuple[Footprint, bool]],
                intr_fps: dict[Move, Footprint]) -> list[tuple[Move, Kernel, int]]:
    """The moves from k (clock budget t) with their kernels; at_k and
    intr_fps receive the footprints (traced_moves())."""
    if not x.por:
        return list(moves(k, t))
    return traced_moves(k, t, x.disc, at_k, x.sc, intr_fps if x.sleepy else None,
                        frozenset([e[0] for e in asleep]) if asleep else _AWAKE)
