"""The search: shortest panic first (uniform cost), the fast search before
it, the preemption-bounded levels, and a scenario's kernel explored.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from typing import Any

import attrs

from engine import stepcache
from engine.explore.expand import Ctx, expand, successors
from engine.explore.first import FIRST_STATES, first_search
from engine.explore.frontier import _Buckets
from engine.explore.invariants import check_invariants
from engine.explore.jobs import run_slices
from engine.explore.moves import (
    _STEP,
    Move,
    _Violation,
    preempts,
    replay_moves,
)
from engine.explore.reduction import (
    _CHAIN_LIMIT,
    CHAINS_KEPT,
    _rank,
    ample_chain,
    discover,
)
from engine.explore.result import Interrupted, Progress, Result
from engine.explore.visited import (
    _COUNTDOWNS,
    _capped,
    _Seen,
    _state_key,
    clock_fp,
    plain_fp,
)
from engine.footprint import KNOWN, Discipline, Footprint
from engine.init_main import boot
from engine.kernel import Kernel
from engine.scenario import Scenario
from engine.stepcache import StepCache


@attrs.define
class _Opts:
    ticks: int
    max_steps: int
    hashing: bool
    por: bool
    max_states: int
    progress: Progress | None
    max_seconds: float | None
    subsume: bool
    sleep: bool  # sleep sets (with por)
    first: bool  # look for a panic fast before the shortest
    first_only: bool  # ... and stop there
    on_first: Callable[[Result], None] | None
    on_shorter: Callable[[Result], None] | None
    t0: float
    found_first: Result | None = None  # (kept across restarts)
    found_best: Result | None = None  # the shortest panic known (the first, shortened)
    # Told each state the search keeps, by key, and its cost (again when a
    # cheaper path is found): for the tests that compare reductions.
    on_store: Callable[[object, int], None] | None = None
    # Asked between slices and states: True stops the search (Interrupted).
    cancel: Callable[[], bool] | None = None
    # Stop once the fast search's find is shortened (no full search after it).
    stop_at_best: bool = False
    first_states: int = FIRST_STATES  # the fast search's state budget
    # At most this many preemptions (preempts()) a schedule; None: any.
    preemptions: int | None = None
    # Processes the search runs in (engine/explore/jobs.py); the answer is
    # the same for any number.
    jobs: int = 1
    # Key kernels by clock_fp (countdowns capped by the budget); off: by
    # their fingerprint (the cross-check, tests/explore/test_clock_cap.py).
    clock_cap: bool = True


def explore(
    k0: Kernel,
    ticks: int = 3,
    max_steps: int = 10_000,
    hashing: bool = True,
    por: bool = True,
    max_states: int = 5_000_000,
    progress: Progress | None = None,
    discipline: Discipline | None = None,
    on_restart: Callable[[str], None] | None = None,
    max_seconds: float | None = None,
    subsume: bool = True,
    cache: bool = True,
    first: bool = True,
    first_only: bool = False,
    on_first: Callable[[Result], None] | None = None,
    on_shorter: Callable[[Result], None] | None = None,
    sleep: bool = True,
    on_store: Callable[[object, int], None] | None = None,
    cancel: Callable[[], bool] | None = None,
    stop_at_best: bool = False,
    first_states: int = FIRST_STATES,
    preemptions: int | None = None,
    clock_cap: bool = True,
    jobs: int = 1,
) -> Result:
    """Search k0's interleavings, shortest first; with por, restarted whenever
    the lock discipline the reduction assumes turns out broken.

    cache: the step cache (engine.stepcache; with por only). sleep: sleep
    sets (with por only; _asleep_after). first: before
    the shortest, a panic found fast (first_search), handed to on_first;
    first_only stops there. Otherwise it is shortened (_first) and the
    best schedule handed to on_shorter (the first, if none was shorter).
    progress(states, transitions, depth proved, seconds, best panic length
    known) comes about once a second. on_store(key, cost): each state the
    shortest search keeps, and again when it finds it cheaper. cancel():
    asked as the search goes; True stops it with verdict "interrupted" (the
    best panic known, if any, in best_schedule). stop_at_best: a panic the
    fast search found, shortened, is the answer (no full search after it).
    preemptions: only schedules with at most that many preemptions
    (preempts()); no panic among them is verdict "bounded", never "safe".
    The fast search and sleep sets are off (neither counts preemptions).
    clock_cap: a countdown the clock budget left cannot run down is keyed
    as budget + 1 (visited.clock_fp); off, every kernel by its fingerprint.
    jobs: the shortest search (with the reduction) in that many processes
    (engine/explore/jobs.py), the same answer for any number.
    """
    if ticks < 0:
        raise ValueError(f"ticks must be 0 or more, not {ticks}")
    if jobs < 1:
        raise ValueError(f"jobs must be 1 or more, not {jobs}")
    if preemptions is not None and preemptions < 0:
        raise ValueError(f"preemptions must be 0 or more, not {preemptions}")
    if preemptions is not None:
        first = first_only = sleep = stop_at_best = False
    t0 = time.perf_counter()
    o = _Opts(ticks, max_steps, hashing, por, max_states, progress, max_seconds, subsume,
              sleep and por, (first or first_only) and por, first_only, on_first, on_shorter,
              t0, on_store=on_store, cancel=cancel, stop_at_best=stop_at_best,
              first_states=first_states, preemptions=preemptions, clock_cap=clock_cap,
              jobs=jobs)
    # Millions of states and no reference cycles among them: the cyclic
    # collector would only walk the heap again and again.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _explore(k0, o, discipline, on_restart, cache and por)
    except Interrupted as e:
        best = o.found_best
        return Result("interrupted", best.steps if best is not None else 0, e.states, 0,
                      time.perf_counter() - t0, str(e),
                      first_steps=o.found_first.steps if o.found_first is not None else None,
                      best_schedule=best.schedule if best is not None else [])
    finally:
        if collecting:
            gc.enable()


def _explore(k0: Kernel, o: _Opts, discipline: Discipline | None,
             on_restart: Callable[[str], None] | None, cache: bool) -> Result:
    base = StepCache(discipline or KNOWN) if cache else None
    if base is not None:
        k0 = base.intern(k0.copy())
    d = discipline or (KNOWN if o.por else Discipline())
    restarts = 0
    # One cache per discipline, kept: the fast search's transitions serve the
    # warm-up walks and the full search after it when the discipline holds.
    caches: dict[Discipline, StepCache] = {base.d: base} if base is not None else {}

    def cache_for(d: Discipline) -> StepCache | None:
        if base is None:
            return None
        c = caches.get(d)
        if c is None:
            c = caches[d] = StepCache(d, base)
        return c

    def weaken(v: _Violation) -> Discipline:
        nonlocal restarts
        restarts += 1
        if on_restart is not None:
            on_restart(f"{v.field[0]}.{v.field[1]} "
                       f"{'written' if v.kind == 'w' else 'read'} without its lock")
        return d.weaken(v.kind, v.field)

    def finish(res: Result) -> Result:
        res.discipline = d
        res.restarts = restarts
        if o.found_first is not None:
            res.first_steps = o.found_first.steps
            res.first_seconds = o.found_first.seconds
        if o.found_best is not None:
            res.best_schedule = o.found_best.schedule
        return res

    # The fast search first, before the warm-up walks: it is short, and a
    # field it finds broken only restarts it.
    while o.first:
        try:
            _first(k0, o, d, cache_for(d))
            break
        except _Violation as v:
            d = weaken(v)
    if o.first_only and o.found_first is not None:
        return finish(attrs.evolve(o.found_first, depth=0))
    if o.stop_at_best and o.found_best is not None:
        return finish(attrs.evolve(o.found_best, depth=0))
    if discipline is None and o.por:
        d = discover(k0, o.ticks, d, sc=cache_for(d))
    while True:
        try:
            res = _search(k0, o, d, cache_for(d))
        except _Violation as v:
            d = weaken(v)
            continue
        res.shortest = res.verdict in ("panic", "invariant")
        return finish(res)


# States each shortening round of the fast search may keep (a count, so
# output never depends on time).
SHORTEN_STATES = 20_000


def _first(k0: Kernel, o: _Opts, d: Discipline, sc: StepCache | None) -> None:
    """first_search from k0's chain; what it finds goes to o.found_first and
    o.on_first. Then, unless o.first_only, it is shortened: the same search
    again for a schedule of fewer steps, until a round of SHORTEN_STATES
    finds none. A depth-first search's first find repeats work a shorter
    schedule leaves out (on the seed, an ioctl of tcpdump's loop more);
    bounded below it, the search has to find one that does not. The best
    goes to o.found_best and o.on_shorter; it bounds the shortest's search."""
    k0c, first = ample_chain(k0, o.ticks, d, cache=sc)
    if k0c.panicstr is not None:
        return

    def found(mvs: list[Move], states: int) -> Result:
        sched = replay_moves(k0, first + mvs) or []
        return Result("panic", len(sched), states, 0, time.perf_counter() - o.t0,
                      sched[-1][2].panicstr or "", sched)

    # (Begun again on a weaker discipline, it goes on from what it found:
    # a schedule found is real whatever the discipline.)
    if o.found_first is None:
        mvs, states, _ = first_search(k0c, o.ticks, d, sc, budget=o.first_states,
                                      cancel=o.cancel)
        if mvs is None:
            return
        o.found_first = o.found_best = found(mvs, states)
        if o.on_first is not None:
            o.on_first(o.found_first)
    best = o.found_best
    assert best is not None
    if o.first_only:
        return
    while True:
        mvs, more, _ = first_search(k0c, o.ticks, d, sc, budget=SHORTEN_STATES,
                                    limit=best.steps - len(first), cancel=o.cancel)
        if mvs is None:
            break
        best = o.found_best = found(mvs, best.states + more)
    if o.on_shorter is not None:
        o.on_shorter(best)


# The parallel search's slices in this one process (tests: the same answer).
_SLICES_ALONE = False


def _search(k0: Kernel, o: _Opts, disc: Discipline, sc: StepCache | None) -> Result:
    ticks, max_steps, hashing, por, sleepy = o.ticks, o.max_steps, o.hashing, o.por, o.sleep
    max_states, progress, t0, max_seconds, subsume = (
        o.max_states, o.progress, o.t0, o.max_seconds, o.subsume)
    # Uniform-cost search on steps: with the reduction an edge is a move and
    # the chain of independent steps after it, so edges differ in length.
    # Without it every edge is one step and this is breadth-first search.
    # Each state keeps its parent and the edge's moves; the schedule is
    # replayed from k0 at the end, so only the frontier's kernels are kept.
    first: list[Move] = []
    K = o.preemptions
    bounded = K is not None
    left0 = K if K is not None else -1  # (-1: keys as an unbounded search's)
    k0c, first = ample_chain(k0, ticks, disc, cache=sc, bounded=bounded) if por else (k0, [])
    # Nothing longer than a panic already known is kept (its successors
    # cannot give a shorter one), so the fast search's find bounds this one.
    bound = max_steps + 1 << 20
    if o.found_best is not None:
        bound = o.found_best.steps
    # Visited states are kept as 64-bit hashes of their keys (visited.clock_fp;
    # hash compaction, as SPIN's -DHC): a collision is possible, with odds
    # ~ states^2 / 2^65. Steps that change nothing are told the same way.
    kfp = clock_fp if o.clock_cap else plain_fp
    start: object = _state_key(kfp(k0c, ticks), ticks, left0)
    seen = _Seen(hashing)
    # The frontier's kernels, packed by the step cache (interned parts).
    pack: Callable[[Kernel], Any] = sc.pack if sc is not None else (lambda k: k)
    unpack: Callable[[Any], Kernel] = ((lambda p: sc.unpack(p, k0)) if sc is not None
                                      else (lambda k: k))
    seen.put(start, len(first), pack(k0c), ticks, b"", (), max(left0, 0))
    heap = _Buckets()
    heap.push(len(first), start)
    states, transitions, depth = 1, len(first), len(first)
    last_report = t0
    found: tuple[int, str, str, bytes] | None = None  # cost, verdict, message, path
    # The chain from a state is always the same: chain start -> its end's
    # key and its length, in one int (length above bit 64), and the chain's
    # footprints (for the sleep sets).
    # (Forgotten every CHAINS_KEPT entries: it only saves work, and kept
    # whole it would hold more than the visited states themselves.)
    chains: dict[int, tuple[int, list[Footprint]]] = {}

    # The compiled expansion's constants (engine/_stepcache.c, C_* in order).
    compiled = stepcache._C
    cfg: tuple[Any, ...] | None = None
    cfg_ok = por and hashing and sc is not None
    if compiled is not None and cfg_ok:
        cfg = (seen.open, seen.closed, seen.ends, seen.edge_code, seen.put, heap.push, pack,
               chains, sc, check_invariants, preempts, _rank, _STEP, ticks,
               bound, left0, bounded, sleepy, subsume, max_states, o.on_store, CHAINS_KEPT,
               _CHAIN_LIMIT, o.clock_cap, (_capped, *_COUNTDOWNS), None)

    x = Ctx(seen, heap, pack, chains, sc, disc, ticks, bound, left0, bounded, por, hashing,
             sleepy, subsume, max_states, o.on_store, kfp)

    def done(verdict: str, n: int, msg: str, path: bytes | None = None) -> Result:
        moves_ = first + (seen.moves(path) if path is not None else [])
        sched = (replay_moves(k0, moves_) or []) if path is not None else []
        return Result(verdict, len(sched) if sched else n, states, transitions,
                      time.perf_counter() - t0, msg, sched, depth)

    for msg in (k0c.panicstr, check_invariants(k0c)):
        if msg is not None:
            return done("panic" if k0c.panicstr else "invariant", len(first), msg, b"")
    if (o.jobs > 1 or _SLICES_ALONE) and cfg_ok:
        # The same search in slices over o.jobs processes (engine/explore/jobs.py).
        cnt: list[Any] = [states, transitions, found, depth]
        end, c = run_slices(x, cfg, o, unpack, cnt)
        states, transitions, found, depth = cnt
        if end == "steps":
            return done("limit", c, f"depth limit {max_steps} reached")
        if end == "states":
            return done("limit", c, f"state limit {max_states} reached")
        if end == "time":
            return done("limit", c, f"time limit {max_seconds:g} s reached")
    else:
        while heap:
            c, key = heap.pop()
            oc = seen.open_cost(key)
            if oc is None or c > oc:
                continue
            if found is not None and c + 1 >= found[0]:
                break
            _, pk, t, path, asleep, left = seen.close(key)
            k = unpack(pk)
            depth = max(depth, c)
            if c >= max_steps:
                return done("limit", c, f"depth limit {max_steps} reached")
            at_k: dict[int, tuple[Footprint, bool]] = {}
            intr_fps: dict[Move, Footprint] = {}
            succ = successors(x, k, t, asleep, at_k, intr_fps)
            counters: list[Any] = [states, transitions, found]
            r = expand(x, cfg, counters, k, c, path, asleep, left, succ, at_k, intr_fps)
            states, transitions, found = counters
            if r is not None:
                return done("limit", r, f"state limit {max_states} reached")
            if o.cancel is not None and o.cancel():
                raise Interrupted(states)
            now = time.perf_counter()
            if now - last_report > 1.0:
                last_report = now
                if progress is not None:
                    best = found[0] if found is not None else (
                        o.found_best.steps if o.found_best is not None else None)
                    progress(states, transitions, c, now - t0, best)
                if max_seconds is not None and now - t0 > max_seconds:
                    return done("limit", c, f"time limit {max_seconds:g} s reached")
    if found is not None:
        return done(found[1], found[0], found[2], found[3])
    if bounded:
        return done("bounded", depth, f"no panic with at most {K} preemption"
                    f"{'s' if K != 1 else ''} ({states} states)")
    return done("safe", depth, "no KASSERT and no invariant violation is reachable")


def minimize(k0: Kernel, res: Result) -> Result:
    """Drop moves the panic does not need (POR forces invisible steps along)."""
    mvs = [mv for mv, _, _ in res.schedule]
    i = 0
    while i < len(mvs):
        trial = mvs[:i] + mvs[i + 1:]
        out = replay_moves(k0, trial)
        if out and out[-1][2].panicstr == res.message:
            mvs = trial
        else:
            i += 1
    final = replay_moves(k0, mvs) or res.schedule
    return attrs.evolve(res, schedule=final, steps=len(final))


def explore_scenario(sc: Scenario, fix: bool | None = None, checks: tuple[str, ...] = (),
                     complete: bool = False, **kw: object) -> Result:
    k0 = boot(sc, fix, checks, complete)
    res = explore(k0, **kw)  # type: ignore[arg-type]
    if (res.verdict == "panic" and kw.get("por", True) and not kw.get("first_only")
            and kw.get("preemptions") is None):
        res = minimize(k0, res)
    return res


def schedule_preemptions(schedule: list[tuple[Move, Kernel, Kernel]]) -> int:
    """How many preemptions (preempts()) a schedule takes."""
    return sum(1 for mv, before, after in schedule
               if mv.kind == "step" and preempts(before, after, mv.cpu))


def explore_bounded(k0: Kernel, most: int,
                    on_level: Callable[[int, Result], None] | None = None,
                    **kw: Any) -> tuple[Result, int]:
    """Iterative preemption bounding (Musuvathi and Qadeer, PLDI 2007):
    explore() with at most 0, 1, ... most preemptions, each level a full
    search of its schedules, until one finds a panic (the shortest of the
    fewest preemptions) or stops on a limit; (that result, its level).
    on_level(K, result) hears each level's answer.

    Sound with the partial-order reduction (Coons, Musuvathi and McKinley,
    "Bounded partial-order reduction", OOPSLA 2013, on why it need not
    be): here a preemption is an event of the schedule, the switching step
    of one CPU, decided by that CPU's own fields, not an order of
    commuting steps; every step reordered by the reduction is one that is
    not a preemption (ample_chain(bounded=True)), so a reordered schedule
    takes the same preemptions as the one it stands for. Sleep sets and
    the fast search are off. tests/explore/test_preemption_bound.py
    checks the answer against an unreduced search for the fewest
    preemptions to a panic, K = 0 to 3.
    """
    res: Result | None = None
    for level in range(most + 1):
        res = explore(k0, preemptions=level, **kw)
        if on_level is not None:
            on_level(level, res)
        if res.verdict != "bounded":
            return res, level
    assert res is not None
    return res, most
