"""Exhaustive exploration of the interleavings of a scenario's kernel.

A transition is one modeled statement on one CPU (engine.machine.step), a
clock interrupt on one CPU (while the clock budget lasts), or a device
interrupt on one CPU (while an LWP sleeps on that device). Search is
breadth-first, so the first KASSERT found has the fewest transitions.

Reductions, each switchable:
  hashing  visited states are not expanded again;
  por      partial-order reduction: when a CPU's next statement only moves
           its own LWP's frames (a call, a return, a jump, a statement with
           no effect) and nothing can interrupt that CPU, that statement
           alone is expanded -- it commutes with every other transition.
           The successor must be new (the cycle proviso).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterator

import attrs

from engine.init_main import boot
from engine.kernel import Kernel
from engine.machine import FUNCS, _nop, deliver, step
from engine.param import DOPREEMPT_ACTIVE, IPL_CLOCK, IPL_VM, LSONPROC, LSRUN, LSSLEEP, LW_IDLE
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


def is_local(k: Kernel, ci: int) -> bool:
    """The CPU's next transition only touches its own LWP's frames."""
    cpu = k.cpus[ci]
    l = k.lwps[cpu.ci_curlwp]
    if l.l_dopreempt & DOPREEMPT_ACTIVE or cpu.ci_want_resched:
        return False
    fr = l.stack[-1]
    f = FUNCS[fr.func]
    if f.atomic:
        return False
    op = f.stmts[fr.pc].op
    # Statements with no effect, and the frame-only calls, returns and
    # jumps written as lambdas of frame variables and immutable data.
    return op is _nop or getattr(op, "__name__", "") == "<lambda>"


def devices_waited_on(k: Kernel) -> list[str]:
    names = {i.if_xname for i in k.ifnets}
    return sorted({l.l_wchan for l in k.lwps if l.l_stat == LSSLEEP and l.l_wchan in names})


def moves(k: Kernel, ticks: int) -> Iterator[tuple[Move, Kernel, int]]:
    for ci in range(len(k.cpus)):
        n = step(k, ci)
        if n is not k and n.key() != k.key():
            yield Move("step", ci), n, ticks
    if ticks:
        for ci in range(len(k.cpus)):
            n = deliver(k, ci, "hardclock", IPL_CLOCK)
            if n is not k:
                yield Move("hardclock", ci), n, ticks - 1
    for dev in devices_waited_on(k):
        for ci in range(len(k.cpus)):
            n = deliver(k, ci, "wm_intr", IPL_VM, dev=dev)
            if n is not k:
                yield Move("intr", ci, dev), n, ticks


def interruptible(k: Kernel, ci: int, ticks: int) -> bool:
    level = k.cpus[ci].ci_ilevel
    return (ticks > 0 and level < IPL_CLOCK) or (bool(devices_waited_on(k)) and level < IPL_VM)


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
) -> Result:
    t0 = time.perf_counter()
    start = (k0.key(), ticks)
    parent: dict[object, tuple[object, Move, Kernel, Kernel] | None] = {start: None}
    q: deque[tuple[Kernel, int, int, object]] = deque([(k0, ticks, 0, start)])
    states, transitions, depth = 1, 0, 0
    last_report = t0

    def trace(key: object) -> list[tuple[Move, Kernel, Kernel]]:
        out = []
        while parent.get(key) is not None:
            pk, mv, before, after = parent[key]  # type: ignore[misc]
            out.append((mv, before, after))
            key = pk
        return out[::-1]

    def done(verdict: str, n: int, msg: str, key: object = None) -> Result:
        sched = trace(key) if key is not None else []
        return Result(verdict, n, states, transitions, time.perf_counter() - t0, msg, sched,
                      depth)

    while q:
        k, t, d, key = q.popleft()
        depth = max(depth, d)
        if d >= max_steps:
            return done("limit", d, f"depth limit {max_steps} reached")
        succ = list(moves(k, t))
        if por and len(succ) > 1:
            for mv, n, nt in succ:
                if (mv.kind == "step" and is_local(k, mv.cpu)
                        and not interruptible(k, mv.cpu, t)
                        and (n.key(), nt) not in parent):
                    succ = [(mv, n, nt)]
                    break
        for mv, n, nt in succ:
            transitions += 1
            nkey = (n.key(), nt) if hashing else (object(), nt)
            if hashing and nkey in parent:
                continue
            parent[nkey] = (key, mv, k, n)
            states += 1
            if n.panicstr is not None:
                return done("panic", d + 1, n.panicstr, nkey)
            bad = check_invariants(n)
            if bad is not None:
                return done("invariant", d + 1, bad, nkey)
            if states >= max_states:
                return done("limit", d + 1, f"state limit {max_states} reached")
            q.append((n, nt, d + 1, nkey))
        now = time.perf_counter()
        if progress is not None and now - last_report > 1.0:
            last_report = now
            progress(states, transitions, d, now - t0)
    return done("safe", depth, "no KASSERT and no invariant violation is reachable")


def apply(k: Kernel, mv: Move) -> Kernel:
    if mv.kind == "step":
        return step(k, mv.cpu)
    if mv.kind == "hardclock":
        return deliver(k, mv.cpu, "hardclock", IPL_CLOCK)
    return deliver(k, mv.cpu, "wm_intr", IPL_VM, dev=mv.dev)


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
            max_steps: int = 2000) -> TortureResult:
    """Random schedules, like the report's torture tests; deterministic for a seed."""
    from engine.ddb.db_run import SplitMix64

    t0 = time.perf_counter()
    panics, first, message = 0, None, None
    schedule: list[tuple[Move, Kernel, Kernel]] = []
    for r in range(runs):
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
