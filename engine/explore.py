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

import functools
import gc
import heapq
import struct
import time
from array import array
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

import attrs

from engine import intr
from engine.footprint import (
    KNOWN,
    Discipline,
    Field,
    Footprint,
    independent,
    traced_deliver,
    traced_step,
)
from engine.init_main import boot
from engine.kern_clock import ticks_to_kpreempt
from engine.kernel import FP_MASK, Kernel
from engine.machine import FUNCS, deliver, step
from engine.param import LSONPROC, LSRUN, LSSLEEP, LW_IDLE
from engine.scenario import MAX_CPUS, Scenario
from engine.stepcache import StepCache


@attrs.frozen(cache_hash=True)
class Move:
    kind: str  # step, hardclock, intr
    cpu: int
    dev: str | None = None

    def commands(self) -> list[str]:
        if self.kind == "step":
            return ["s"]
        if self.kind == "hardclock":
            return ["hardclock"]
        return [f"intr {self.dev}"]


@functools.cache
def move(kind: str, cpu: int, dev: str | None = None) -> Move:
    """One shared Move per (kind, cpu, device): millions of edges keep them."""
    return Move(kind, cpu, dev)


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


def interrupts(k: Kernel, ticks: int) -> list[tuple[Move, int]]:
    """The interrupts that may come now (engine.intr), each with the clock
    budget after it: a clock interrupt spends a tick."""
    return [(move(kind, ci, dev), ticks - 1 if kind == "hardclock" else ticks)
            for kind, ci, dev in intr.pending(k, list(range(len(k.cpus))), clock=ticks > 0)]


def handler(mv: Move) -> tuple[str, int, dict[str, str]]:
    """An interrupt move's handler, its IPL and its arguments."""
    return intr.handler(mv.kind, mv.dev)


def moves(k: Kernel, ticks: int) -> Iterator[tuple[Move, Kernel, int]]:
    for ci in range(len(k.cpus)):
        n = step(k, ci)
        if n is not k and n.fingerprint() != k.fingerprint():
            yield move("step", ci), n, ticks
    for mv, nt in interrupts(k, ticks):
        n = apply(k, mv)
        if n is not k:
            yield mv, n, nt


class _Violation(Exception):
    def __init__(self, kind: str, field: Field) -> None:
        super().__init__(f"{field[0]}.{field[1]}")
        self.kind = kind
        self.field = field


_STEP = [move("step", ci) for ci in range(MAX_CPUS)]


def preempts(k: Kernel, n: Kernel, ci: int) -> bool:
    """Is the step of CPU ci from k to n a preemption: the CPU switching
    away from an LWP that could have kept running (cpu_switchto() from an
    LWP left LSRUN -- preempt(), kpreempt(), the round robin -- not from
    one that sleeps, nor from the idle LWP)? Only the switching step
    counts, and what decides it is its own CPU's: ci_curlwp (the CPU's
    own field) and the old LWP's l_stat, set by this CPU under the run
    queue's lock at mi_switch() l.571."""
    a = k.cpus[ci].ci_curlwp
    if n.cpus[ci].ci_curlwp == a:
        return False
    old = n.lwps[a]
    return old.l_stat == LSRUN and not old.l_flag & LW_IDLE


def traced_move(k: Kernel, mv: Move, d: Discipline,
                sc: StepCache | None) -> tuple[Kernel, Footprint]:
    """One move of traced_moves(): its kernel (k itself if it cannot go) and footprint."""
    if mv.kind == "step":
        n, fp = sc.step(k, mv.cpu) if sc is not None else traced_step(k, mv.cpu, d)
        if n is not k and n.fingerprint() == k.fingerprint():
            n = k
    else:
        func, ipl, args = handler(mv)
        n, fp = (sc.deliver(k, mv.cpu, func, ipl, **args) if sc is not None
                 else traced_deliver(k, mv.cpu, func, ipl, d, **args))
    if fp.violation is not None:
        raise _Violation(*fp.violation)
    return n, fp


def traced_moves(k: Kernel, ticks: int, d: Discipline,
                 steps: dict[int, tuple[Footprint, bool]] | None = None,
                 cache: StepCache | None = None,
                 intr_fps: dict[Move, Footprint] | None = None,
                 asleep: frozenset[Move] = frozenset()) -> list[tuple[Move, Kernel, int]]:
    """moves(), each transition checked against the lock discipline.

    steps, if given, receives each CPU's step footprint and whether that
    step could not be explored alone (ample_chain's `blocked`); intr_fps
    each interrupt's footprint. Moves in `asleep` are left out (not made).
    """
    out: list[tuple[Move, Kernel, int]] = []
    for ci in range(len(k.cpus)):
        if _STEP[ci] in asleep:
            continue
        n, fp = traced_move(k, _STEP[ci], d, cache)
        if steps is not None:
            steps[ci] = (fp, n is k or not (
                cache.independent(k, n, ci, fp, ticks) if cache is not None
                else independent(k, n, ci, fp, ticks)))
        if n is not k:
            out.append((_STEP[ci], n, ticks))
    for mv, nt in interrupts(k, ticks):
        if mv in asleep:
            continue
        n, ifp = traced_move(k, mv, d, cache)
        if intr_fps is not None:
            intr_fps[mv] = ifp
        if n is not k:
            out.append((mv, n, nt))
    return out


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


# The fast search's bounds: context switches, and states it may keep before
# it hands over to the full search (a count, so output never depends on time).
FIRST_SWITCHES = 6
FIRST_STATES = 200_000


_Node = tuple[int, int, int]  # (kernel fingerprint, clock budget, CPU that moved)
# (switches, parent node, its kernel, its clock budget, the move, budget
# after, steps from the start to the parent)
_Entry = tuple[int, _Node, Kernel, int, Move, int, int]


class _BoundedDfs:
    """One member of first_search's swarm: depth first within a context-
    switch count, fewest switches first, CPUs tried in its own order.

    Depth first, most of what is pushed is never taken before a panic turns
    up, so nothing is computed before it is taken: the queue holds moves
    not yet made (the state they leave from, the move), and a node's chain
    of independent steps is followed when the node is expanded. A node is
    the state a move leads to with the CPU that moved (the chain is a
    function of both).
    """

    def __init__(self, k0c: Kernel, ticks: int, d: Discipline, sc: StepCache | None,
                 switches: int, prefer: list[int], limit: int) -> None:
        self.d, self.sc, self.switches, self.limit = d, sc, switches, limit
        # CPUs in the order their steps are tried (after going on where the
        # last move was): the first of `prefer` first.
        self.rank = {ci: r for r, ci in enumerate(prefer)}
        start: _Node = (k0c.fingerprint(), ticks, -1)
        # node -> (switches, parent node, the move to it, steps from k0c to
        # it); node -> its chain. A node is kept again only when reached
        # with fewer switches, or as few and fewer steps: (switches, steps)
        # grows along every parent link, so the links never close a cycle.
        self.seen: dict[_Node, tuple[int, _Node | None, Move | None, int]] = {
            start: (0, None, None, 0)}
        self.chains: dict[_Node, tuple[Move, ...]] = {}
        self.queue: deque[_Entry] = deque()
        # Chain ends already expanded, with the fewest steps to them.
        self.ends: dict[tuple[int, int], int] = {}
        self.states, self.transitions = 1, 0
        self._expand(start, k0c, ticks, 0, 0)

    def path(self, node: _Node | None) -> list[Move]:
        out: list[Move] = []
        while node is not None:
            out[:0] = self.chains.get(node, ())
            _, node, mv, _ = self.seen[node]
            if mv is not None:
                out.insert(0, mv)
        return out

    def _expand(self, node: _Node, k: Kernel, t: int, w: int, steps: int) -> None:
        """Push node's moves: going on where the last move was is taken first,
        then the other CPUs' steps, interrupts last; a move that takes the CPU
        away from one that could go on costs a switch (to the queue's tail)."""
        last = node[2]
        going = last >= 0 and traced_move(k, _STEP[last], self.d, self.sc)[0] is not k
        # (Pushed to the head in this order: the last pushed is taken first.)
        ahead: list[_Entry] = [(w + (going and mv.cpu != last), node, k, t, mv, nt, steps)
                               for mv, nt in interrupts(k, t)]
        others = sorted((ci for ci in range(len(k.cpus)) if ci != last),
                        key=self.rank.__getitem__, reverse=True)
        ahead += [(w + going, node, k, t, _STEP[ci], t, steps) for ci in others]
        if going:
            ahead.append((w, node, k, t, _STEP[last], t, steps))
        for e in ahead:
            if e[0] > self.switches:
                continue
            if e[0] == w:
                self.queue.appendleft(e)
            else:
                self.queue.append(e)

    def run(self, states: int) -> list[Move] | None:
        """Go on until `states` more states are kept; a panicking path from
        k0c shorter than `limit` steps, or None (then `queue` empty means
        this member has seen all)."""
        stop = self.states + states
        queue, seen, d, sc, limit = self.queue, self.seen, self.d, self.sc, self.limit
        while queue and self.states < stop:
            w, parent, k, t, mv, nt, steps = queue.popleft()
            n, _ = traced_move(k, mv, d, sc)
            if n is k:
                continue
            self.transitions += 1
            steps += 1
            node = (n.fingerprint(), nt, mv.cpu)
            old = seen.get(node)
            if old is not None and (old[0], old[3]) <= (w, steps):
                continue
            seen[node] = (w, parent, mv, steps)
            if n.panicstr is not None:
                return self.path(node)
            # (Nothing from here can panic in fewer than limit steps.)
            if check_invariants(n) is not None or steps + 1 >= limit:
                continue
            self.states += 1
            n, chain = ample_chain(n, nt, d, None, mv.cpu, sc, checked=True)
            self.transitions += len(chain)
            self.chains[node] = tuple(chain)
            steps += len(chain)
            if n.panicstr is not None:
                if steps < limit:
                    return self.path(node)
                continue
            end = (n.fingerprint(), nt)
            if ((chain and check_invariants(n) is not None) or steps + 1 >= limit
                    or self.ends.get(end, limit) <= steps):
                continue
            self.ends[end] = steps
            self._expand(node, n, nt, w, steps)
        return None


# States a swarm member keeps before the next member's turn.
FIRST_SLICE = 64


def first_search(k0c: Kernel, ticks: int, d: Discipline, sc: StepCache | None,
                 switches: int = FIRST_SWITCHES, budget: int = FIRST_STATES,
                 limit: int = 1 << 62,
                 cancel: Callable[[], bool] | None = None) -> tuple[list[Move] | None, int, int]:
    """A panicking schedule found fast: (its moves from k0c or None, states, transitions).

    Preemption bounding (Musuvathi and Qadeer, "Iterative context bounding
    for systematic testing of multithreaded programs", PLDI 2007): the
    schedules are searched by how many times they take a CPU away from
    one that could still go on (a context switch), fewest first, depth-
    first within one count. Races in kernels need few such switches and
    many statements between them, which is what uniform-cost search pays
    most for. The edges are the reduced search's (a move and the chain of
    independent steps after it), so the schedule is one of its paths; it
    need not be shortest. limit: only schedules of fewer steps from k0c
    (what shortens a schedule found: _first).

    Which CPU goes next when the last one cannot go on decides how soon a
    depth-first search gets there (on the seed's machines, by a factor of
    up to 30, with no order best on all). So it is a swarm (Holzmann, Joshi
    and Groce, "Swarm verification", ASE 2008): one member per CPU, member i
    trying CPUs i, i+1, ... first, taking turns of FIRST_SLICE states, all
    sharing the step cache. Turns are counted in states, never timed, so
    the answer is the same on every run.
    """
    ncpu = len(k0c.cpus)
    swarm = [_BoundedDfs(k0c, ticks, d, sc, switches,
                         [(i + j) % ncpu for j in range(ncpu)], limit) for i in range(ncpu)]

    def spent() -> tuple[int, int]:
        return sum(m.states for m in swarm), sum(m.transitions for m in swarm)

    while any(m.queue for m in swarm):
        for m in swarm:
            if cancel is not None and cancel():
                raise Interrupted(spent()[0])
            left = budget - spent()[0]
            if left <= 0:
                return (None, *spent())
            if m.queue:
                found = m.run(min(FIRST_SLICE, left))
                if found is not None:
                    return (found, *spent())
    return (None, *spent())


def budget_words(ticks: int, rrticks: int) -> str:
    """What a verdict was established within: the clock budget, with the
    rrticks that decides what the budget can reach."""
    return f"within {ticks} clock tick{'s' if ticks != 1 else ''} at rrticks {rrticks}"


def budget_note(ticks: int, rrticks: int) -> str | None:
    """One line when the clock budget cannot reach a round-robin kernel
    preemption (a proof under it says nothing about that preemption)."""
    need = ticks_to_kpreempt(rrticks)
    if ticks >= need:
        return None
    return (f"the clock budget ({ticks} ticks) cannot reach a round-robin kernel preemption"
            f" at rrticks {rrticks}: sched_tick's SEENRR, SHOULDYIELD, then the request take"
            f" {need} ticks on one CPU (--ticks {need} would)")


def check_invariants(k: Kernel) -> str | None:
    """The model's invariants; a message names the first one broken.

    They are what the scheduler locks protect, so they are checked in the
    states where no spin mutex is held (mid-update states are legal).
    """
    if k.locks:
        return None
    where: dict[int, list[int]] = {}
    for c in k.cpus:
        for i in c.runq:
            where.setdefault(i, []).append(c.ci_index)
        if c.spc_migrating is not None and c.spc_migrating not in c.runq:
            return f"spc_migrating of cpu{c.ci_index} is not queued on cpu{c.ci_index}"
        cur = k.lwps[c.ci_curlwp]
        # (An LWP still switching away, l_ctxswtch, may already belong elsewhere.)
        if (cur.l_stat == LSONPROC and cur.l_cpu != c.ci_index and not cur.l_flag & LW_IDLE
                and not cur.l_ctxswtch):
            return f"lwp {cur.idx} runs on cpu{c.ci_index} with l_cpu cpu{cur.l_cpu}"
    for l in k.lwps:
        qs = where.get(l.idx, [])
        if len(qs) > 1:
            return f"lwp {l.idx} is on {len(qs)} run queues"
        if l.l_stat == LSRUN and qs != [l.l_cpu]:
            return f"lwp {l.idx} is LSRUN but not queued on its l_cpu cpu{l.l_cpu}"
        if l.l_stat in (LSONPROC, LSSLEEP) and qs:
            return f"lwp {l.idx} is queued while {'LSONPROC' if l.l_stat == LSONPROC else 'asleep'}"
    for p in k.psrefs:
        lists = [c.ci_index for c in k.cpus if p.idx in c.psrefs]
        if len(lists) > 1:
            return f"psref {p.idx} is on {len(lists)} CPU lists"
    return None


Progress = Callable[[int, int, int, float, "int | None"], None]


class Interrupted(Exception):
    """explore()'s cancel() said stop (a break-in): raised where it is
    asked, between slices of the fast search and between states of the
    full one; explore() returns a Result with verdict "interrupted"."""

    def __init__(self, states: int) -> None:
        super().__init__(f"interrupted after {states} states")
        self.states = states


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
    """
    if ticks < 0:
        raise ValueError(f"ticks must be 0 or more, not {ticks}")
    if preemptions is not None and preemptions < 0:
        raise ValueError(f"preemptions must be 0 or more, not {preemptions}")
    if preemptions is not None:
        first = first_only = sleep = stop_at_best = False
    t0 = time.perf_counter()
    o = _Opts(ticks, max_steps, hashing, por, max_states, progress, max_seconds, subsume,
              sleep and por, (first or first_only) and por, first_only, on_first, on_shorter,
              t0, on_store=on_store, cancel=cancel, stop_at_best=stop_at_best,
              first_states=first_states, preemptions=preemptions)
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


_AWAKE: frozenset[Move] = frozenset()
_CLOSED = 0  # (cost_of a closed state: no more than any cost still to come)


def _state_key(fingerprint: int, ticks: int, left: int = -1) -> int:
    """A search state's 64-bit key: the kernel, the clock budget left and,
    in a preemption-bounded search, the preemptions left."""
    if left < 0:
        return hash((fingerprint, ticks)) & FP_MASK
    return hash((fingerprint, ticks, left)) & FP_MASK


class KeySet:
    """A set of 64-bit keys in one array: open addressing, linear probing,
    at most 3/4 full (about 11-21 bytes a key, where a Python set of ints
    takes about 70). The closed states of a proof are most of its memory.
    Zero is the empty slot, so the key 0 is kept as 1 (64-bit keys: the
    odds that changes an answer are those of any other collision)."""

    __slots__ = ("_tab", "_mask", "_n")

    def __init__(self, size: int = 1 << 16) -> None:
        """size: the first number of slots, a power of two (it doubles)."""
        if size <= 0 or size & (size - 1):
            raise ValueError(f"KeySet size {size} is not a power of two")
        self._tab = array("Q", bytes(8 * size))
        self._mask = size - 1
        self._n = 0

    def __len__(self) -> int:
        return self._n

    def __contains__(self, key: object) -> bool:
        k = key or 1
        tab, mask = self._tab, self._mask
        i = k & mask  # type: ignore[operator]
        while True:
            v = tab[i]
            if v == k:
                return True
            if not v:
                return False
            i = (i + 1) & mask

    def add(self, key: object) -> None:
        k: int = key or 1  # type: ignore[assignment]
        tab, mask = self._tab, self._mask
        i = k & mask
        while True:
            v = tab[i]
            if v == k:
                return
            if not v:
                break
            i = (i + 1) & mask
        tab[i] = k
        self._n += 1
        if self._n * 4 > len(tab) * 3:
            self._grow()

    def _grow(self) -> None:
        old = self._tab
        self._tab = array("Q", bytes(16 * len(old)))
        self._mask = len(self._tab) - 1
        self._n = 0
        for v in old:
            if v:
                self.add(v)


# A move asleep in a state: the move, and the bits (Footprint.bits) of what
# its edge touches and writes, as they were where it was last taken.
_Sleeper = tuple[Move, int, int]
_Open = tuple[int, Any, int, bytes, tuple[_Sleeper, ...], int]


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
    is the cheaper panic (a panic state has no moves). A move whose edge
    was not computed from s (a chain known to end where it has been)
    neither sleeps nor makes others sleep.
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


class _Seen:
    """The visited states of a cheapest-first search.

    A state popped from the frontier is closed: nothing later reaches it
    more cheaply (costs pop in order, edges cost at least one step), so of
    a closed state only that it was seen is kept: a KeySet of 64-bit keys.
    An open state (on the frontier) keeps its cost, its packed kernel and
    its clock budget, the path from the start as a string of edge numbers
    (edges interned: the reduced graph has few distinct ones), and the
    moves asleep there (_asleep_after), numbered too: few sets recur.
    All of it is one bytes object (_HEAD, then the packed kernel, then the
    path): about 110 bytes an open state, where a tuple of the five took
    about 400. Panic and invariant states keep their cost apart. 11-21
    bytes a closed state; the frontier is a fraction of the states.
    """

    def __init__(self, hashing: bool = True) -> None:
        # (Without hashing, keys are distinct objects: a plain set.)
        self.closed: KeySet | set[object] = KeySet() if hashing else set()
        # key -> _HEAD (cost, sleepers' number, clock budget, packed
        # kernel's length) + packed kernel + path
        self.open: dict[object, bytes] = {}
        # Kernels that are not bytes (no step cache to pack them), by key.
        self._kernels: dict[object, Any] = {}
        self.ends: dict[object, int] = {}  # panic or invariant state -> cost
        self.edges: list[tuple[Move, ...]] = []
        self._edge_ids: dict[tuple[Move, ...], bytes] = {}
        self._sleepers: list[tuple[_Sleeper, ...]] = [()]
        self._sleeper_ids: dict[tuple[_Sleeper, ...], int] = {(): 0}

    def put(self, key: object, cost: int, packed: Any, ticks: int, path: bytes,
            sleepers: tuple[_Sleeper, ...], left: int = 0) -> None:
        """Keep (or make cheaper) an open state."""
        sid = self._sleeper_ids.get(sleepers)
        if sid is None:
            sid = self._sleeper_ids[sleepers] = len(self._sleepers)
            self._sleepers.append(sleepers)
        if not isinstance(packed, bytes):
            self._kernels[key] = packed
            packed = b""
        self.open[key] = _HEAD.pack(cost, sid, ticks, len(packed), left) + packed + path

    def open_cost(self, key: object) -> int | None:
        """The cost of an open state, None if it is not open."""
        e = self.open.get(key)
        return None if e is None else _COST(e)[0]

    def cost_of(self, key: object) -> int | None:
        e = self.open.get(key)
        if e is not None:
            return _COST(e)[0]
        if key in self.closed:
            return _CLOSED
        return self.ends.get(key)

    def edge_code(self, edge: tuple[Move, ...]) -> bytes:
        """The edge's number as a varint (7 bits a byte, high bit: more)."""
        code = self._edge_ids.get(edge)
        if code is None:
            n = len(self.edges)
            self.edges.append(edge)
            out = bytearray()
            while True:
                out.append((n & 0x7F) | (0x80 if n > 0x7F else 0))
                n >>= 7
                if not n:
                    break
            code = self._edge_ids[edge] = bytes(out)
        return code

    def moves(self, path: bytes) -> list[Move]:
        out: list[Move] = []
        n = shift = 0
        for b in path:
            n |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                out += self.edges[n]
                n = shift = 0
        return out

    def close(self, key: object) -> _Open:
        """Close an open state: (cost, packed kernel, clock budget, path,
        moves asleep, preemptions left)."""
        e = self.open.pop(key)
        self.closed.add(key)
        cost, sid, ticks, plen, left = _HEAD.unpack_from(e)
        end = _HEAD.size + plen
        packed = e[_HEAD.size:end] if plen else self._kernels.pop(key)
        return cost, packed, ticks, e[end:], self._sleepers[sid], left


# An open state's head: cost, number of its sleep set, clock budget, the
# length of its packed kernel and the preemptions left (_Seen.put).
_HEAD = struct.Struct("<IIIHB")
_COST = struct.Struct("<I").unpack_from


class _Buckets:
    """The frontier's order: cheapest first, first in first out within one
    cost (the order of a heap of (cost, sequence number), without either)."""

    def __init__(self) -> None:
        self._costs: list[int] = []
        self._at: dict[int, deque[object]] = {}

    def __bool__(self) -> bool:
        return bool(self._costs)

    def push(self, cost: int, key: object) -> None:
        q = self._at.get(cost)
        if q is None:
            q = self._at[cost] = deque()
            heapq.heappush(self._costs, cost)
        q.append(key)

    def pop(self) -> tuple[int, object]:
        c = self._costs[0]
        q = self._at[c]
        key = q.popleft()
        if not q:
            heapq.heappop(self._costs)
            del self._at[c]
        return c, key


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
    # Visited states are kept as 64-bit hashes of their keys (Kernel.fingerprint;
    # hash compaction, as SPIN's -DHC): a collision is possible, with odds
    # ~ states^2 / 2^65. Steps that change nothing are told the same way.
    start: object = _state_key(k0c.fingerprint(), ticks, left0)
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
    # key and its length, in one int (length above bit 64).
    # (Forgotten every CHAINS_KEPT entries: it only saves work, and kept
    # whole it would hold more than the visited states themselves.)
    chains: dict[int, int] = {}

    def done(verdict: str, n: int, msg: str, path: bytes | None = None) -> Result:
        moves_ = first + (seen.moves(path) if path is not None else [])
        sched = (replay_moves(k0, moves_) or []) if path is not None else []
        return Result(verdict, len(sched) if sched else n, states, transitions,
                      time.perf_counter() - t0, msg, sched, depth)

    for msg in (k0c.panicstr, check_invariants(k0c)):
        if msg is not None:
            return done("panic" if k0c.panicstr else "invariant", len(first), msg, b"")
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
        succ = (traced_moves(k, t, disc, at_k, sc, intr_fps if sleepy else None,
                             frozenset([e[0] for e in asleep]) if asleep else _AWAKE)
                if por else list(moves(k, t)))
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
                pre = _state_key(n.fingerprint(), nt, nleft)
                hit = chains.get(pre) if hashing else None
                if hit is not None:
                    end_cost = seen.cost_of(hit & FP_MASK)
                    if end_cost is not None and end_cost <= c + 1 + (hit >> 64):
                        continue
                n, chain = ample_chain(n, nt, disc, seed, mv.cpu, sc, checked=True,
                                       fps=chain_fps if sleepy else None, bounded=bounded)
                transitions += len(chain)
                if chain:
                    bad = None if n.panicstr is not None else check_invariants(n)
                edge += tuple(chain)
            nc = c + len(edge)
            sleeps: tuple[_Sleeper, ...] = ()
            if sleepy:
                sleeps = _asleep_after(mv, at_k[mv.cpu][0] if mv.kind == "step" else intr_fps[mv],
                                       chain_fps, taken, asleep)
            if nc >= bound and n.panicstr is None and bad is None:
                continue
            nkey = _state_key(n.fingerprint(), nt, nleft) if hashing else object()
            if por and len(edge) > 1 and hashing:
                if len(chains) >= CHAINS_KEPT:
                    chains.clear()
                chains[pre] = (len(edge) - 1) << 64 | nkey  # type: ignore[operator]
            old = seen.cost_of(nkey)
            if old is not None and old <= nc:
                continue
            if (hashing and subsume and (nt < ticks or 0 <= nleft < left0)
                    and subsumed(n.fingerprint(), nt, ticks, nc, seen, nleft, left0)):
                continue
            if old is None:
                states += 1
            npath = path + seen.edge_code(edge)
            msg = n.panicstr
            if msg is not None or bad is not None:
                seen.ends[nkey] = nc
                if found is None or nc < found[0]:
                    found = (nc, "panic" if msg is not None else "invariant",
                             msg if msg is not None else bad or "", npath)
                continue
            if states >= max_states:
                return done("limit", nc, f"state limit {max_states} reached")
            seen.put(nkey, nc, pack(n), nt, npath, sleeps, max(nleft, 0))
            if o.on_store is not None:
                o.on_store(nkey, nc)
            heap.push(nc, nkey)
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


def subsumed(fpr: int, t: int, ticks: int, cost: int, seen: _Seen,
             left: int = -1, most: int = -1) -> bool:
    """Was this kernel reached as cheaply with more budget left: as many
    clock ticks or more and as many preemptions or more (a bounded search;
    left and most -1 otherwise), one of them more?

    Every schedule from it within its budget is one from there, so it
    shows nothing new (a tick on an idle CPU changes nothing but the budget).
    """
    for more_left in range(left, most + 1):
        for more in range(t, ticks + 1):
            if more == t and more_left == left:
                continue
            old = seen.cost_of(_state_key(fpr, more, more_left))
            if old is not None and old <= cost:
                return True
    return False


def apply(k: Kernel, mv: Move) -> Kernel:
    if mv.kind == "step":
        return step(k, mv.cpu)
    func, ipl, args = handler(mv)
    return deliver(k, mv.cpu, func, ipl, **args)


def replay_moves(k0: Kernel, mvs: list[Move]) -> list[tuple[Move, Kernel, Kernel]] | None:
    """Apply moves in order; None if one of them cannot make progress."""
    out = []
    k = k0
    for mv in mvs:
        n = apply(k, mv)
        if n is k or n.key() == k.key():
            return None
        out.append((mv, k, n))
        k = n
    return out


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


def describe(mv: Move, before: Kernel, after: Kernel) -> str:
    """One schedule line: CPU, LWP, function and statement, what changed."""
    from engine.events import diff_events

    l = before.curlwp(mv.cpu)
    p = before.proc(l)
    who = f"{p.p_pid}.{l.l_lid} {l.l_name or p.p_comm}"
    if mv.kind == "step":
        fr = l.stack[-1]
        stmt = FUNCS[fr.func].stmts[fr.pc]
        what = f"{fr.func}:{stmt.line}  {stmt.source(before.config.fix, before.config.complete)}"
    elif mv.kind == "hardclock":
        what = "clock interrupt: hardclock -> sched_tick"
    else:
        what = f"{mv.dev} interrupt: cv_broadcast"
    events = "; ".join(e.text for e in diff_events(before, after, mv.cpu))
    return f"cpu{mv.cpu}  {who:<22} {what}" + (f"   => {events}" if events else "")


def movers(res: Result) -> list[str]:
    """Which code moved an LWP to another CPU, in the schedule (for the verdict)."""
    out = []
    for i, (mv, before, after) in enumerate(res.schedule, 1):
        for a, b in zip(before.lwps, after.lwps, strict=True):
            if a.l_cpu != b.l_cpu:
                fr = before.curlwp(mv.cpu).stack[-1]
                p = after.proc(b)
                out.append(f"step {i}: {fr.func}() on cpu{mv.cpu} moved {p.p_pid}.{b.l_lid}"
                           f" ({p.p_comm}) from cpu{a.l_cpu} to cpu{b.l_cpu}")
    return out


def schedule_commands(res: Result) -> list[str]:
    """The schedule as ddb commands that replay it (consecutive steps merged)."""
    out: list[str] = []
    cpu: int | None = None
    run = 0

    def flush() -> None:
        nonlocal run
        if run:
            out.append("s" if run == 1 else f"s,0t{run}")
            run = 0

    for mv, _, _ in res.schedule:
        if mv.cpu != cpu:
            flush()
            out.append(f"mach cpu 0t{mv.cpu}")
            cpu = mv.cpu
        if mv.kind == "step":
            run += 1
        else:
            flush()
            out += mv.commands()
    flush()
    if res.verdict == "panic":
        out.append("bt")
    return out


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
