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
Symmetry is not applied: allproc order, CPU order in sched_takecpu's scan
and sched_idle's lock order make no two LWPs or CPUs interchangeable.
"""

from __future__ import annotations

import functools
import gc
import heapq
import time
from collections.abc import Callable, Iterator

import attrs

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
from engine.kernel import Kernel
from engine.machine import FUNCS, deliver, step
from engine.param import IPL_CLOCK, IPL_VM, LSONPROC, LSRUN, LSSLEEP, LW_IDLE
from engine.scenario import Scenario


@attrs.frozen
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


def devices_waited_on(k: Kernel) -> list[str]:
    names = {i.if_xname for i in k.ifnets}
    return sorted({l.l_wchan for l in k.lwps if l.l_stat == LSSLEEP and l.l_wchan in names})


def interrupts(k: Kernel, ticks: int) -> list[tuple[Move, int]]:
    """The interrupts that may come now, each with the clock budget after it."""
    out = [(move("hardclock", ci), ticks - 1) for ci in range(len(k.cpus))] if ticks else []
    for dev in devices_waited_on(k):
        out += [(move("intr", ci, dev), ticks) for ci in range(len(k.cpus))]
    return out


def handler(mv: Move) -> tuple[str, int, dict[str, str]]:
    """An interrupt move's handler, its IPL and its arguments."""
    if mv.kind == "hardclock":
        return "hardclock", IPL_CLOCK, {}
    return "slpdev_intr", IPL_VM, {"dev": mv.dev or ""}


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


def traced_moves(k: Kernel, ticks: int, d: Discipline,
                 steps: dict[int, tuple[Footprint, bool]] | None = None
                 ) -> list[tuple[Move, Kernel, int]]:
    """moves(), each transition checked against the lock discipline.

    steps, if given, receives each CPU's step footprint and whether that
    step could not be explored alone (ample_chain's `blocked`).
    """
    out: list[tuple[Move, Kernel, int]] = []
    for ci in range(len(k.cpus)):
        n, fp = traced_step(k, ci, d)
        if fp.violation is not None:
            raise _Violation(*fp.violation)
        moved = n is not k and n.fingerprint() != k.fingerprint()
        if steps is not None:
            steps[ci] = (fp, not moved or not independent(k, n, ci, fp, ticks))
        if moved:
            out.append((move("step", ci), n, ticks))
    for mv, nt in interrupts(k, ticks):
        func, ipl, args = handler(mv)
        n, fp = traced_deliver(k, mv.cpu, func, ipl, d, **args)
        if fp.violation is not None:
            raise _Violation(*fp.violation)
        if n is not k:
            out.append((mv, n, nt))
    return out


_CHAIN_LIMIT = 100_000


def discover(k0: Kernel, ticks: int, start: Discipline | None = None, quiet: int = 12,
             length: int = 500, most: int = 128) -> Discipline:
    """Where the lock discipline is broken, from random schedules.

    Walks until `quiet` walks in a row teach nothing new (at most `most`).
    This only saves restarts: the search checks every transition it takes.
    """
    from engine.ddb.db_run import SplitMix64

    d = start or Discipline()
    calm = 0
    for r in range(most):
        if calm >= quiet:
            break
        calm += 1
        rng = SplitMix64(r + 1)
        k, t = k0, ticks
        for _ in range(length):
            try:
                succ = traced_moves(k, t, d)
            except _Violation as v:
                d = d.weaken(v.kind, v.field)
                calm = 0
                continue
            if not succ or k.panicstr is not None:
                break
            _, k, t = succ[rng.below(len(succ))]
    return d


def ample_chain(k: Kernel, ticks: int, d: Discipline, blocked: set[int] | None = None,
                start: int = 0) -> tuple[Kernel, list[Move]]:
    """Follow steps that may be explored alone (an ample set of one) from k.

    Stops at a state where no step is independent of everything else --
    that state is expanded in full -- or at a panic, or before a state the
    chain has already been through (so every cycle of the reduced graph
    passes through a fully expanded state: the cycle proviso).
    """
    path: list[Move] = []
    keys = {k.fingerprint()}
    # A CPU whose step is not independent stays so while others take
    # independent steps: those touch nothing its step looks at. (Whether a
    # CPU is tried only decides how far the chain goes, never soundness.)
    blocked = set(blocked or ())
    ci = start
    ncpu = len(k.cpus)
    while k.panicstr is None and len(path) < _CHAIN_LIMIT and len(blocked) < ncpu:
        if ci in blocked:
            ci = (ci + 1) % ncpu
            continue
        n, fp = traced_step(k, ci, d)
        if fp.violation is not None:
            raise _Violation(*fp.violation)
        if n is k or not independent(k, n, ci, fp, ticks) or n.fingerprint() in keys:
            blocked.add(ci)
            continue
        keys.add(n.fingerprint())
        path.append(move("step", ci))
        k = n
        if check_invariants(k) is not None:
            break
    return k, path


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


def explore(
    k0: Kernel,
    ticks: int = 3,
    max_steps: int = 10_000,
    hashing: bool = True,
    por: bool = True,
    max_states: int = 5_000_000,
    progress: Callable[[int, int, int, float], None] | None = None,
    discipline: Discipline | None = None,
    on_restart: Callable[[str], None] | None = None,
    max_seconds: float | None = None,
    subsume: bool = True,
) -> Result:
    """Search k0's interleavings, shortest first; with por, restarted whenever
    the lock discipline the reduction assumes turns out broken."""
    t0 = time.perf_counter()
    # Millions of states and no reference cycles among them: the cyclic
    # collector would only walk the heap again and again.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _explore(k0, ticks, max_steps, hashing, por, max_states, progress, discipline,
                        on_restart, max_seconds, t0, subsume)
    finally:
        if collecting:
            gc.enable()


def _explore(k0: Kernel, ticks: int, max_steps: int, hashing: bool, por: bool,
             max_states: int, progress: Callable[[int, int, int, float], None] | None,
             discipline: Discipline | None, on_restart: Callable[[str], None] | None,
             max_seconds: float | None, t0: float, subsume: bool) -> Result:
    d = discipline or (discover(k0, ticks, KNOWN) if por else Discipline())
    restarts = 0
    while True:
        try:
            res = _search(k0, ticks, max_steps, hashing, por, max_states, progress, d, t0,
                          max_seconds, subsume)
        except _Violation as v:
            d = d.weaken(v.kind, v.field)
            restarts += 1
            if on_restart is not None:
                on_restart(f"{v.field[0]}.{v.field[1]} "
                           f"{'written' if v.kind == 'w' else 'read'} without its lock")
            continue
        res.discipline = d
        res.restarts = restarts
        return res


def _search(
    k0: Kernel,
    ticks: int,
    max_steps: int,
    hashing: bool,
    por: bool,
    max_states: int,
    progress: Callable[[int, int, int, float], None] | None,
    disc: Discipline,
    t0: float,
    max_seconds: float | None = None,
    subsume: bool = True,
) -> Result:
    # Uniform-cost search on steps: with the reduction an edge is a move and
    # the chain of independent steps after it, so edges differ in length.
    # Without it every edge is one step and this is breadth-first search.
    # Each state keeps its parent and the edge's moves; the schedule is
    # replayed from k0 at the end, so only the frontier's kernels are kept.
    first: list[Move] = []
    k0c, first = ample_chain(k0, ticks, disc) if por else (k0, [])
    # Visited states are kept as 64-bit hashes of their keys (Kernel.fingerprint;
    # hash compaction, as SPIN's -DHC): a collision is possible, with odds
    # ~ states^2 / 2^65. Steps that change nothing are told the same way.
    start: object = hash((k0c.fingerprint(), ticks))
    # state -> (its cost in steps, its parent, the moves of the edge from it)
    seen: dict[object, tuple[int, object, tuple[Move, ...]]] = {start: (len(first), None, ())}
    frontier: dict[object, tuple[Kernel, int]] = {start: (k0c, ticks)}
    heap: list[tuple[int, int, object]] = [(len(first), 0, start)]
    seq = 1
    states, transitions, depth = 1, len(first), len(first)
    last_report = t0
    found: tuple[int, str, str, object] | None = None  # cost, verdict, message, key
    chains: dict[int, tuple[object, int]] = {}  # chain start -> (its end, its length)

    def done(verdict: str, n: int, msg: str, key: object = None) -> Result:
        edges: list[tuple[Move, ...]] = []
        while key is not None and seen[key][1] is not None:
            _, key, mvs = seen[key]
            edges.append(mvs)
        moves_ = first + [mv for e in edges[::-1] for mv in e]
        sched = (replay_moves(k0, moves_) or []) if key is not None else []
        return Result(verdict, len(sched) if sched else n, states, transitions,
                      time.perf_counter() - t0, msg, sched, depth)

    for msg in (k0c.panicstr, check_invariants(k0c)):
        if msg is not None:
            return done("panic" if k0c.panicstr else "invariant", len(first), msg, start)
    while heap:
        c, _, key = heapq.heappop(heap)
        if key not in frontier or c > seen[key][0]:
            continue
        if found is not None and c + 1 >= found[0]:
            break
        k, t = frontier.pop(key)
        depth = max(depth, c)
        if c >= max_steps:
            return done("limit", c, f"depth limit {max_steps} reached")
        at_k: dict[int, tuple[Footprint, bool]] = {}
        succ = traced_moves(k, t, disc, at_k) if por else list(moves(k, t))
        for mv, n, nt in succ:
            transitions += 1
            edge: tuple[Move, ...] = (mv,)
            bad = None if n.panicstr is not None else check_invariants(n)
            if por and n.panicstr is None and bad is None:
                # CPUs blocked at k whose step the move cannot have changed
                # are still blocked after it.
                seed: set[int] = set()
                if mv.kind == "step":
                    fpm = at_k[mv.cpu][0]
                    seed = {b for b, (fpb, blk) in at_k.items()
                            if b != mv.cpu and blk and not fpm.conflicts(fpb)}
                # The chain from a state is always the same: remember where it ends.
                pre = hash((n.fingerprint(), nt))
                hit = chains.get(pre) if hashing else None
                if hit is not None and hit[0] in seen and seen[hit[0]][0] <= c + 1 + hit[1]:
                    continue
                n, chain = ample_chain(n, nt, disc, seed, mv.cpu)
                transitions += len(chain)
                if chain:
                    bad = None if n.panicstr is not None else check_invariants(n)
                edge += tuple(chain)
            nc = c + len(edge)
            nkey = hash((n.fingerprint(), nt)) if hashing else object()
            if por and len(edge) > 1 and hashing:
                chains[pre] = (nkey, len(edge) - 1)
            old = seen.get(nkey)
            if old is not None and old[0] <= nc:
                continue
            if (hashing and subsume and nt < ticks
                    and subsumed(n.fingerprint(), nt, ticks, nc, seen)):
                continue
            if old is None:
                states += 1
            seen[nkey] = (nc, key, edge)
            msg = n.panicstr
            if msg is not None or bad is not None:
                if found is None or nc < found[0]:
                    found = (nc, "panic" if msg is not None else "invariant",
                             msg if msg is not None else bad or "", nkey)
                continue
            if states >= max_states:
                return done("limit", nc, f"state limit {max_states} reached")
            frontier[nkey] = (n, nt)
            heapq.heappush(heap, (nc, seq, nkey))
            seq += 1
        now = time.perf_counter()
        if now - last_report > 1.0:
            last_report = now
            if progress is not None:
                progress(states, transitions, c, now - t0)
            if max_seconds is not None and now - t0 > max_seconds:
                return done("limit", c, f"time limit {max_seconds:g} s reached")
    if found is not None:
        return done(found[1], found[0], found[2], found[3])
    return done("safe", depth, "no KASSERT and no invariant violation is reachable")


def subsumed(fpr: int, t: int, ticks: int, cost: int,
             seen: dict[object, tuple[int, object, tuple[Move, ...]]]) -> bool:
    """Was this kernel reached as cheaply with more clock budget left?

    Every schedule from it with t clock interrupts is one from there, so it
    shows nothing new (a tick on an idle CPU changes nothing but the budget).
    """
    for more in range(t + 1, ticks + 1):
        old = seen.get(hash((fpr, more)))
        if old is not None and old[0] <= cost:
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


def explore_scenario(sc: Scenario, fix: bool | None = None, **kw: object) -> Result:
    k0 = boot(sc, fix)
    res = explore(k0, **kw)  # type: ignore[arg-type]
    if res.verdict == "panic" and kw.get("por", True):
        res = minimize(k0, res)
    return res


def describe(mv: Move, before: Kernel, after: Kernel) -> str:
    """One schedule line: CPU, LWP, function and statement, what changed."""
    from engine.events import diff_events

    l = before.curlwp(mv.cpu)
    p = before.proc(l)
    who = f"{p.p_pid}.{l.l_lid} {l.l_name or p.p_comm}"
    if mv.kind == "step":
        fr = l.stack[-1]
        stmt = FUNCS[fr.func].stmts[fr.pc]
        what = f"{fr.func}:{stmt.line}  {stmt.source(before.config.fix)}"
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
    from engine.ddb.db_run import SplitMix64

    t0 = time.perf_counter()
    panics, first, message = 0, None, None
    schedule: list[tuple[Move, Kernel, Kernel]] = []
    told = t0
    for r in range(runs):
        if progress is not None and time.perf_counter() - told >= 2.0:
            told = time.perf_counter()
            progress(r, panics, told - t0)
        run_seed = seed + r
        rng = SplitMix64(run_seed * 0x9E3779B1 + 1)
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
