"""db_run.c: step, next, until, continue -- over modeled statements.

  s[,n]    n statements on the selected CPU (entering calls)
  n        run until the current function returns (or its LWP leaves the CPU)
  until    run to the next call or return
  c        the selected CPU alone, until a breakpoint, a panic, nothing left
           to run, or $maxsteps
  c/a      all CPUs, round-robin from the selected one (or seeded random with
           $seed), a clock interrupt on every CPU each $tick rounds, until a
           breakpoint, a panic, quiescence or $maxsteps
A breakpoint or a panic moves the selection to the CPU that stopped, where
the real ddb would be running.
"""

from __future__ import annotations

import attrs

from engine import symtab
from engine.ddb.db_command import Cmd, Session
from engine.ddb.db_lex import DbError
from engine.kern_idle import idle_quiescent
from engine.kernel import Kernel
from engine.machine import deliver, step, where
from engine.param import IPL_CLOCK, IPL_VM, LSSLEEP


def stop_line(s: Session, ci: int, kind: str = "Stopped") -> str:
    k = s.kernel
    l = k.curlwp(ci)
    p = k.proc(l)
    func, pc, _ = symtab.resolve(l)
    _, stmt, _ = where(l)
    text = stmt.source(k.config.fix)
    return f"{kind} in pid {p.p_pid}.{l.l_lid} ({p.p_comm}) at\t{symtab.sym(func, pc)}:\t{text}"


def _location(k: Kernel, ci: int) -> tuple[int, str, int]:
    """Who runs on ci and at which address (inline code is its caller's)."""
    l = k.curlwp(ci)
    func, pc, _ = symtab.resolve(l)
    return l.idx, func, pc


def _hit(s: Session, before: Kernel, ci: int) -> bool:
    """A breakpoint at the statement the CPU has just arrived at."""
    if not s.breaks:
        return False
    after = s.kernel
    now = _location(after, ci)
    if _location(before, ci) == now:
        return False
    _, func, pc = now
    for b in s.breaks:
        if b.func == func and b.pc == pc:
            b.count -= 1
            if b.count <= 0:
                b.count = b.init_count
                return True
    return False


class _Run:
    """Accumulates a run: steps taken, console output, why it stopped."""

    def __init__(self, s: Session) -> None:
        self.s = s
        self.msg_start = len(s.kernel.msgbuf)
        self.steps = 0
        self.reason: str | None = None
        self.stop_cpu = s.cpu

    def one(self, ci: int) -> bool:
        """Step ci once; True if the run must stop."""
        s = self.s
        before = s.kernel
        after = step(before, ci)
        self.steps += 1
        s.kernel = after
        if s.on_step is not None and after is not before:
            s.on_step(before, after, ci)
        if after.panicstr is not None:
            self.reason = "panic"
            self.stop_cpu = after.paniccpu if after.paniccpu is not None else ci
            return True
        if after is before:
            return False
        if _hit(s, before, ci):
            self.reason, self.stop_cpu = "break", ci
            return True
        return False

    def finish(self, after_line: bool) -> str:
        s = self.s
        out = list(s.kernel.msgbuf[self.msg_start:])
        s.cpu = self.stop_cpu
        if after_line and self.reason != "panic":
            out.append(f"After {self.steps} instructions (0 loads, 0 stores),")
        kind = "Breakpoint" if self.reason == "break" else "Stopped"
        out.append(s.fmt(stop_line(s, s.cpu, kind)))
        return "\n".join(out)


def _refuse_after_panic(s: Session) -> str | None:
    k = s.kernel
    if k.panicstr is None:
        return None
    return "the kernel has panicked: `bt`, `show panic`, `undo` (or restart the scenario)"


def db_single_step_cmd(s: Session, cmd: Cmd) -> str:
    if (msg := _refuse_after_panic(s)) is not None:
        return msg
    count = cmd.count if cmd.count is not None else 1
    if count < 1:
        raise DbError("Count missing")
    run = _Run(s)
    printing = "p" in cmd.modifiers
    lines = []
    for i in range(min(count, s.vars["maxsteps"])):
        if run.one(s.cpu):
            break
        if printing and i < count - 1:
            lines.append(s.fmt("\t\t" + stop_line(s, s.cpu).split(" at\t", 1)[1]) + "\n")
    return "\n".join(lines + [run.finish(after_line=False)])


def _depth(k: Kernel, ci: int) -> tuple[int, int]:
    l = k.curlwp(ci)
    return l.idx, len(l.stack)


def db_trace_until_matching_cmd(s: Session, cmd: Cmd) -> str:
    """next: run until the current function has returned."""
    if (msg := _refuse_after_panic(s)) is not None:
        return msg
    run = _Run(s)
    lwp, depth = _depth(s.kernel, s.cpu)
    for _ in range(s.vars["maxsteps"]):
        if run.one(s.cpu):
            break
        now_lwp, now_depth = _depth(s.kernel, s.cpu)
        if now_lwp != lwp or now_depth < depth:
            break
    return run.finish(after_line=True)


def db_trace_until_call_cmd(s: Session, cmd: Cmd) -> str:
    """until: run to the next call or return."""
    if (msg := _refuse_after_panic(s)) is not None:
        return msg
    run = _Run(s)
    lwp, depth = _depth(s.kernel, s.cpu)
    for _ in range(s.vars["maxsteps"]):
        before = s.kernel
        if run.one(s.cpu):
            break
        if s.kernel is before:
            continue
        if _depth(s.kernel, s.cpu) != (lwp, depth):
            break
    return run.finish(after_line=True)


def quiescent(k: Kernel) -> bool:
    """Nothing can ever happen again: every CPU idle, nobody waiting on time."""
    if not all(idle_quiescent(k, ci) for ci in range(len(k.cpus))):
        return False
    return not any(l.l_stat == LSSLEEP for l in k.lwps)


def sleepers_on_devices(k: Kernel) -> list[str]:
    names = {i.if_xname for i in k.ifnets}
    return sorted({l.l_wchan for l in k.lwps if l.l_stat == LSSLEEP and l.l_wchan in names})


def interrupts(k: Kernel, cpus: list[int]) -> Kernel:
    """The clock on each CPU, then the device interrupts that have sleepers."""
    for ci in cpus:
        k = deliver(k, ci, "hardclock", IPL_CLOCK)
    for dev in sleepers_on_devices(k):
        for ci in cpus:
            n = deliver(k, ci, "slpdev_intr", IPL_VM, dev=dev)
            if n is not k:
                k = n
                break
    return k


class SplitMix64:
    """A seeded generator that is the same on every Python."""

    def __init__(self, seed: int) -> None:
        self.state = seed & 0xFFFFFFFFFFFFFFFF

    def next(self) -> int:
        self.state = (self.state + 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
        return z ^ (z >> 31)

    def below(self, n: int) -> int:
        return self.next() % n


def db_continue_cmd(s: Session, cmd: Cmd) -> str:
    if s.kernel.panicstr is not None:
        # continuing after a panic lets panic() go on to reboot
        return "rebooting...\n" + (_refuse_after_panic(s) or "")
    run = _Run(s)
    ncpu = len(s.kernel.cpus)
    limit = s.vars["maxsteps"]
    if "a" not in cmd.modifiers:
        for _ in range(limit):
            if idle_quiescent(s.kernel, s.cpu):
                run.reason = "idle"
                break
            before = s.kernel
            if run.one(s.cpu):
                break
            if s.kernel is before:
                run.reason = "stuck"  # spinning on a lock only another CPU can drop
                break
        return run.finish(after_line=True)

    order = [(s.cpu + i) % ncpu for i in range(ncpu)]
    rng = SplitMix64(s.vars["seed"]) if s.vars["seed"] else None
    tick = max(1, s.vars["tick"])
    rounds = 0
    while run.steps < limit:
        if quiescent(s.kernel):
            run.reason = "quiescent"
            break
        if rng is None:
            if rounds and rounds % tick == 0:
                s.kernel = interrupts(s.kernel, list(range(ncpu)))
            stop = False
            for ci in order:
                if run.one(ci):
                    stop = True
                    break
            rounds += 1
            if stop:
                break
        else:
            if rng.below(tick * ncpu) < ncpu:
                s.kernel = interrupts(s.kernel, [rng.below(ncpu)])
            if run.one(rng.below(ncpu)):
                break
    return run.finish(after_line=True)


def db_hardclock_cmd(s: Session, cmd: Cmd) -> str:
    """hardclock[,n]: n clock interrupts on the selected CPU (model extra)."""
    return _interrupt(s, cmd, "hardclock", IPL_CLOCK)


def db_intr_cmd(s: Session, cmd: Cmd) -> str:
    """intr DEV[,n]: DEV's interrupt on the selected CPU (model extra)."""
    dev = cmd.args.strip()
    if not dev:
        raise DbError("usage: intr DEVICE[,count]  (e.g. intr wm0)")
    if dev not in {i.if_xname for i in s.kernel.ifnets}:
        raise DbError(f"intr: no such device: {dev}")
    return _interrupt(s, cmd, "slpdev_intr", IPL_VM, dev=dev)


def _interrupt(s: Session, cmd: Cmd, handler: str, ipl: int, **args: object) -> str:
    if (msg := _refuse_after_panic(s)) is not None:
        return msg
    count = cmd.count if cmd.count is not None else 1
    run = _Run(s)
    for _ in range(count):
        before = s.kernel
        k = deliver(before, s.cpu, handler, ipl, **args)
        if k is before:
            level = s.kernel.cpus[s.cpu].ci_ilevel
            return (f"{handler}: cpu{s.cpu} is at ilevel {level:#x}:"
                    " interrupt masked (or its lock is held)")
        s.kernel = k
        if s.on_step is not None:
            s.on_step(before, k, s.cpu)
        if k.panicstr is not None:
            run.reason = "panic"
            run.stop_cpu = k.paniccpu if k.paniccpu is not None else s.cpu
            return run.finish(after_line=False)
    return ""


def db_undo_cmd(s: Session, cmd: Cmd) -> str:
    """undo[,n]: restore the state before the last n commands (model extra)."""
    n = cmd.count if cmd.count is not None else 1
    if n < 1:
        raise DbError("Count missing")
    if not s.undo_stack:
        return "nothing to undo"
    undone = []
    for _ in range(min(n, len(s.undo_stack))):
        snap = s.undo_stack.pop()
        s.kernel, s.cpu, s.breaks = snap.kernel, snap.cpu, [attrs.evolve(b) for b in snap.breaks]
        undone.append(snap.line)
    s.prev_kernel = None
    return f"undid {len(undone)}: " + "; ".join(reversed(undone))

