"""db_run.c and db_trap.c: step, next, until, continue -- over modeled statements.

A modeled statement is ddb's instruction. As db_run.c 1.33 runs them:
  s[/p][,n]  STEP_ONCE: n statements (the /p form prints each but the last)
  n[/p]      STEP_RETURN: until the current function's return statement,
             counting the calls and returns on the way (/p prints each
             "[after N]")
  until[/p]  STEP_CALLT: until the next call or return statement
  c          STEP_CONTINUE: until a breakpoint, a watchpoint or a panic;
  c/c        STEP_COUNT: the same, counting statements
db_trap() prints "After N instructions" only when it counted (c/c, n,
until); amd64's trap() prints trap_print()'s three lines before every
breakpoint, watchpoint and single-step stop (once per stop: a `s,N` is one
stop here, where a real ddb traps after every instruction).

Model extensions: these drive the selected CPU alone while the others stay
paused; c/a runs every CPU interleaved; every run stops after $maxsteps
statements, on an idle CPU with nothing to run, or on a CPU that can only
spin (a break-in: just the Stopped line). A CPU that stops spinning on a
spin mutex gets one marked line naming the mutex and its holder.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

from engine import intr, machine, symtab
from engine.amd64_trap import T_TRCTRAP, trap_print_lines
from engine.ddb import db_access
from engine.ddb.db_lex import DbError
from engine.ddb.db_session import Cmd, Watchpoint
from engine.kern_idle import idle_quiescent
from engine.kernel import Kernel, peek, view
from engine.machine import INTR, Call, Ret, Switch, deliver, next_flow, step, where
from engine.param import LSSLEEP, T_BPTFLT

if TYPE_CHECKING:
    from engine.ddb.db_command import Session

MARK = "[ddbstep]"


def loc_and_inst(s: Session, ci: int) -> str:
    """db_print_loc_and_inst(pc) of ci: netbsd:func+off:<TAB>statement."""
    k = s.kernel
    l = k.curlwp(ci)
    func, pc, _ = symtab.resolve(l)
    _, stmt, _ = where(l)
    return f"{symtab.sym(func, pc)}:\t{stmt.source(k.config.fix, k.config.complete)}"


def stop_line(s: Session, ci: int, kind: str = "Stopped") -> str:
    """db_trap(): `Breakpoint|Watchpoint|Stopped in pid P.L (comm) at<TAB>loc`."""
    k = s.kernel
    l = k.curlwp(ci)
    p = k.proc(l)
    return f"{kind} in pid {p.p_pid}.{l.l_lid} ({p.p_comm}) at\t{loc_and_inst(s, ci)}"


def _location(k: Kernel, ci: int) -> tuple[int, str, int]:
    """Who runs on ci and at which address (inline code is its caller's)."""
    # (Read only: never a copy of the kernel's structures.)
    l = peek(k.lwps, peek(k.cpus, ci).ci_curlwp)
    func, pc, _ = symtab.resolve(l)
    return l.idx, func, pc


def _hit(s: Session, before: Kernel, ci: int) -> bool:
    """db_stop_at_pc(): a breakpoint at the statement ci has just arrived at."""
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


def _watched(k: Kernel, w: Watchpoint) -> int | None:
    try:
        return db_access.db_get_value(k, w.loaddr, w.hiaddr - w.loaddr)
    except DbError:
        return None


def lock_holder_line(s: Session, name: str, spinner: int | None = None) -> str:
    """The model's LOCKDEBUG: a spin mutex, the CPU and LWP holding it, and
    where it was taken (when this session saw it taken)."""
    k = s.kernel
    owner = k.locks.get(name)
    head = f"{MARK} " + (f"cpu{spinner} spins on {name}" if spinner is not None else name)
    if owner is None:
        return head + ": not held"
    l = k.curlwp(owner)
    p = k.proc(l)
    site = s.lock_sites.get(name)
    taken = f", taken at {site}" if site else ", taken before this session looked"
    return (f"{head}, held by cpu{owner} (curlwp {p.p_pid}.{l.l_lid} {l.l_name or p.p_comm})"
            f"{taken}")


def spinning_on(k: Kernel, ci: int, handler: str | None = None, ipl: int = 0,
                **args: str) -> list[str]:
    """The spin mutexes ci's next step (or the interrupt handler, if named)
    would find held elsewhere: it is run once with mutex_spin_enter()'s
    probe on, on a copy of the state, and its result dropped."""
    machine.spin_probe = []
    try:
        if handler is None:
            step(k, ci)
        else:
            deliver(k, ci, handler, ipl, **args)
        return list(dict.fromkeys(machine.spin_probe))
    finally:
        machine.spin_probe = None


class Run:
    """Accumulates a run: statements executed, console output, why it stopped."""

    def __init__(self, s: Session, counting: bool = False) -> None:
        self.s = s
        self.msg_start = len(s.kernel.msgbuf)
        self.steps = 0
        self.counting = counting  # db_inst_count is kept (c/c, n, until)
        self.reason: str | None = None
        self.stop_cpu = s.cpu
        self.lines: list[str] = []  # printed while running (s/p, n/p)
        self.watch_note: str | None = None

    def one(self, ci: int) -> bool:
        """Step ci once; True if the run must stop."""
        s = self.s
        if s.break_in is not None and s.break_in():
            self.reason, self.stop_cpu = "breakin", s.cpu
            return True
        before = s.kernel
        after = step(before, ci)
        self.steps += 1
        s.kernel = after
        if after is before:
            return False
        s.steps += 1
        if s.on_step is not None:
            s.on_step(before, after, ci)
        self._note_locks(before, after, ci)
        if after.panicstr is not None:
            self.reason = "panic"
            self.stop_cpu = after.paniccpu if after.paniccpu is not None else ci
            return True
        if s.watches and self._watch(before, after, ci):
            self.reason, self.stop_cpu = "watch", ci
            return True
        if _hit(s, before, ci):
            self.reason, self.stop_cpu = "break", ci
            return True
        return False

    def intr(self, ci: int, handler: str, ipl: int, **args: str) -> bool | None:
        """One interrupt on ci; None if deliver() refuses it now, True if the
        run must stop (a panic)."""
        s = self.s
        before = s.kernel
        k = deliver(before, ci, handler, ipl, **args)
        if k is before:
            return None
        s.kernel = k
        s.steps += 1
        if s.on_step is not None:
            s.on_step(before, k, ci)
        if k.panicstr is not None:
            self.reason = "panic"
            self.stop_cpu = k.paniccpu if k.paniccpu is not None else ci
            return True
        return False

    def _note_locks(self, before: Kernel, after: Kernel, ci: int) -> None:
        s = self.s
        if before.locks == after.locks:
            return
        _, func, pc = _location(before, ci)
        site = f"{symtab.sym(func, pc)} (cpu{ci})"
        for name, owner in after.locks.items():
            if before.locks.get(name) != owner:
                s.lock_sites[name] = site
        for name in list(s.lock_sites):
            if name not in after.locks:
                del s.lock_sites[name]

    def _watch(self, before: Kernel, after: Kernel, ci: int) -> bool:
        for w in self.s.watches:
            old, new = _watched(before, w), _watched(after, w)
            if old != new:
                hit = db_access.field_at(after, w.loaddr)
                what = f"{w.loaddr:#x}"
                if hit is not None:
                    struct, obj, field, _ = hit
                    owner = (f" of {after.proc(obj).p_pid}.{obj.l_lid}" if struct == "lwp"
                             else f" of cpu{obj.ci_index}" if struct == "cpu_info" else "")
                    what = f"{field}{owner} ({w.loaddr:#x})"
                _, func, pc = _location(before, ci)
                l = before.curlwp(ci)
                _, stmt, _ = where(l)
                self.watch_note = (
                    f"{MARK} watchpoint: cpu{ci} stored {what}: {old if old is None else hex(old)}"
                    f" -> {new if new is None else hex(new)} at {symtab.sym(func, pc)}:\t"
                    f"{stmt.source(after.config.fix, after.config.complete)}")
                return True
        return False

    def finish(self) -> str:
        """db_trap(): the stop as ddb prints it."""
        s = self.s
        if self.reason is None and self.steps >= s.vars["maxsteps"]:
            self.reason = "maxsteps"
        out = list(s.kernel.msgbuf[self.msg_start:]) + self.lines
        s.cpu = s.ddb_cpu = self.stop_cpu
        k = s.kernel
        l = k.curlwp(s.cpu)
        rip = symtab.rip(l)
        s.dot = s.next = rip
        if self.reason == "panic":
            # panic() printed its lines and trap_print()'s through the console.
            out.append(s.fmt(stop_line(s, s.cpu), wrap=False))
            return "\n".join(out)
        if self.reason == "breakin":
            # A break into ddb from the console: only db_trap()'s line.
            out.append(s.fmt(stop_line(s, s.cpu), wrap=False))
            return "\n".join(out)
        if self.reason == "break":
            # int3: tf_rip is the byte after it (FIXUP_PC_AFTER_BREAK takes it back).
            out += trap_print_lines(k, s.cpu, l, T_BPTFLT, rip + 1)
        elif self.reason in ("step", "watch"):
            out += trap_print_lines(k, s.cpu, l, T_TRCTRAP, rip)
        if self.counting and self.steps:
            out.append(f"After {self.steps} instructions (0 loads, 0 stores),")
        kind = {"break": "Breakpoint", "watch": "Watchpoint"}.get(self.reason or "", "Stopped")
        out.append(s.fmt(stop_line(s, s.cpu, kind), wrap=False))
        if self.watch_note:
            out.append(s.fmt(self.watch_note, wrap=False))
        note = {
            "idle": f"{MARK} cpu{s.cpu} is idle with nothing to run",
            "quiescent": f"{MARK} every CPU is idle and nothing is left to run",
            "maxsteps": f"{MARK} stopped after $maxsteps = {s.vars['maxsteps']} statements",
        }.get(self.reason or "")
        if note:
            out.append(note)
        for name in spinning_on(k, s.cpu):
            out.append(s.fmt(lock_holder_line(s, name, spinner=s.cpu), wrap=False))
        return "\n".join(out)


def _refuse_after_panic(s: Session) -> str | None:
    k = s.kernel
    if k.panicstr is None:
        return None
    if k.panicstr.startswith(machine.CHECK_FAILED):
        return f"{MARK} the check bound-stays stopped the kernel: `bt`, `undo` (or `check off`)"
    return f"{MARK} the kernel has panicked: `bt`, `show panic`, `undo` (or restart the scenario)"


def db_check_cmd(s: Session, cmd: Cmd) -> str:
    """check [bound-stays|off] (model extension): a property checked at every
    statement besides the kernel's KASSERTs. bound-stays: an LWP's l_cpu
    never changes while its LP_BOUND is set; the run stops at the statement
    that moves it. The state stays; `undo` takes the change back."""
    arg = cmd.args.strip()
    k = s.kernel
    if not arg:
        on = ", ".join(k.config.checks) or "none"
        return f"{MARK} checks: {on} (`check bound-stays` turns it on, `check off` off)"
    if arg not in (machine.BOUND_STAYS, "off"):
        raise DbError(f"usage: check [{machine.BOUND_STAYS}|off]")
    checks = (machine.BOUND_STAYS,) if arg != "off" else ()
    if checks == k.config.checks:
        return ""
    n = k.copy()
    n.config = attrs.evolve(k.config, checks=checks)
    s.kernel = n
    return f"{MARK} check {machine.BOUND_STAYS}: {'on' if checks else 'off'}"


def db_single_step_cmd(s: Session, cmd: Cmd) -> str:
    """db_single_step_cmd(): STEP_ONCE, count times; /p prints each but the last."""
    if (msg := _refuse_after_panic(s)) is not None:
        return msg
    count = cmd.count if cmd.count is not None else 1
    run = Run(s)
    printing = cmd.modifiers.startswith("p")
    left = count
    for _ in range(s.vars["maxsteps"]):
        if run.one(s.cpu):
            break
        left -= 1
        if left <= 0:
            run.reason = "step"
            break
        if printing:
            run.lines.append(s.fmt("\t\t" + loc_and_inst(s, s.cpu), wrap=False))
    return run.finish()


def _kind(k: Kernel, ci: int) -> str | None:
    """inst_call() / inst_return() of ci's next statement. A static inline
    function (curlwp_bind, if_put, nextlwp ...) is compiled into its caller:
    entering or leaving it is no call or ret instruction."""
    flow = next_flow(k, ci)
    if isinstance(flow, Call):
        if machine.FUNCS[flow.func].atomic or symtab.is_inline(flow.func):
            return None
        return "call"
    if isinstance(flow, Switch):
        return "switch"  # cpu_switchto(): a call that returns in another LWP
    if isinstance(flow, Ret):
        l = k.curlwp(ci)
        if l.stack[-1].ret == INTR or len(l.stack) < 2 or symtab.is_inline(l.stack[-1].func):
            return None
        return "return"
    return None


def db_trace_until_matching_cmd(s: Session, cmd: Cmd) -> str:
    """next / match: STEP_RETURN, stopping AT the matching return statement."""
    if (msg := _refuse_after_panic(s)) is not None:
        return msg
    run = Run(s, counting=True)
    printing = cmd.modifiers.startswith("p")
    depth = 1  # db_call_depth
    for _ in range(s.vars["maxsteps"]):
        before = s.kernel
        if run.one(s.cpu):
            break
        if s.kernel is before:
            run.reason = "stuck"  # it can only spin: break in
            break
        kind = _kind(s.kernel, s.cpu)
        if kind == "return":
            depth -= 1
            if depth == 0:
                run.reason = "step"
                break
        if printing and kind in ("call", "return"):
            run.lines.append(s.fmt(f"[after {run.steps:6d}]     " + "  " * max(depth - 1, 0)
                                   + loc_and_inst(s, s.cpu), wrap=False))
        if kind == "call":
            depth += 1
    return run.finish()


def db_trace_until_call_cmd(s: Session, cmd: Cmd) -> str:
    """until: STEP_CALLT, stopping AT the next call or return statement."""
    if (msg := _refuse_after_panic(s)) is not None:
        return msg
    run = Run(s, counting=True)
    for _ in range(s.vars["maxsteps"]):
        before = s.kernel
        if run.one(s.cpu):
            break
        if s.kernel is before:
            run.reason = "stuck"  # it can only spin: break in
            break
        if _kind(s.kernel, s.cpu) in ("call", "return", "switch"):
            run.reason = "step"
            break
    return run.finish()


def quiescent(k: Kernel) -> bool:
    """Nothing can ever happen again: every CPU idle, nobody waiting on time."""
    if not all(idle_quiescent(k, ci) for ci in range(len(k.cpus))):
        return False
    return not any(l.l_stat == LSSLEEP for l in view(k.lwps))


def interrupts(k: Kernel, cpus: list[int]) -> Kernel:
    """The clock on each CPU, then each waited-on device's interrupt on the
    first of cpus that takes it (engine.intr)."""
    for _, ci, _ in intr.pending(k, cpus, devices=False):
        func, ipl, args = intr.handler("hardclock")
        k = deliver(k, ci, func, ipl, **args)
    for dev in intr.devices_waited_on(k):
        func, ipl, args = intr.handler("intr", dev)
        for ci in cpus:
            n = deliver(k, ci, func, ipl, **args)
            if n is not k:
                k = n
                break
    return k


def db_continue_cmd(s: Session, cmd: Cmd) -> str:
    """c / c/c (STEP_CONTINUE / STEP_COUNT); c/a (model extension): every CPU."""
    if s.kernel.panicstr is not None:
        # Continuing after a panic returns from db_panic(): vpanic() calls
        # cpu_reboot(RB_AUTOBOOT|RB_NOSYNC|RB_DUMP) (subr_prf.c l.297-300,
        # 335), which dumps (amd64 machdep.c l.725-726, dodumpsys l.1211)
        # and prints "rebooting..." (l.764).
        return "\n".join([
            "",
            f"dumping to dev {symtab.md('dumpdev_major')},{symtab.md('dumpdev_minor')}"
            f" (offset={symtab.md('dumplo')}, size={symtab.md('dumpsize')}):",
            f"{MARK} the dump itself is not modeled: no pages are written",
            "rebooting...",
            _refuse_after_panic(s) or ""])
    run = Run(s, counting="c" in cmd.modifiers)
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
        return run.finish()

    order = [(s.cpu + i) % ncpu for i in range(ncpu)]
    rng = intr.SplitMix64(s.vars["seed"]) if s.vars["seed"] else None
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
    return run.finish()


def db_hardclock_cmd(s: Session, cmd: Cmd) -> str:
    """hardclock[,n]: n clock interrupts on the selected CPU (model extra)."""
    func, ipl, args = intr.handler("hardclock")
    return _interrupt(s, cmd, func, ipl, **args)


def db_intr_cmd(s: Session, cmd: Cmd) -> str:
    """intr DEV[,n]: DEV's interrupt on the selected CPU (model extra)."""
    dev = cmd.args.strip()
    if not dev:
        raise DbError("usage: intr DEVICE[,count]  (e.g. intr wm0)")
    if dev not in {i.if_xname for i in s.kernel.ifnets}:
        raise DbError(f"intr: no such device: {dev}")
    func, ipl, args = intr.handler("intr", dev)
    return _interrupt(s, cmd, func, ipl, **args)


def _interrupt(s: Session, cmd: Cmd, handler: str, ipl: int, **args: str) -> str:
    if (msg := _refuse_after_panic(s)) is not None:
        return msg
    count = cmd.count if cmd.count is not None else 1
    run = Run(s)
    for _ in range(count):
        stop = run.intr(s.cpu, handler, ipl, **args)
        if stop is None:
            return _refused(s, handler, ipl, **args)
        if stop:
            return run.finish()
    return ""


def _refused(s: Session, handler: str, ipl: int, **args: str) -> str:
    """Why deliver() would not run the handler now: the IPL masks it, or
    the handler would spin on a spin mutex another CPU holds (named, with
    its holder, as `show mutexes` does)."""
    k = s.kernel
    level = k.cpus[s.cpu].ci_ilevel
    if k.panicstr is not None or k.cpus[s.cpu].in_ddb:
        return f"{handler}: cpu{s.cpu} is stopped in ddb"
    if level >= ipl:
        return f"{handler}: cpu{s.cpu} is at ilevel {level:#x}: interrupt masked"
    held = spinning_on(k, s.cpu, handler, ipl, **args)
    if not held:
        return f"{handler}: cpu{s.cpu}: the handler cannot run now"
    return "\n".join(f"{handler}: refused: it would spin on cpu{s.cpu}: "
                     + lock_holder_line(s, name).removeprefix(f"{MARK} ") for name in held)


def db_reboot_cmd(s: Session, cmd: Cmd) -> str:
    """reboot: the scenario boots again (model: `undo` takes it back)."""
    s.reboot()
    return f"rebooting...\n{MARK} booted {s.scenario.title!r} again, fix {_onoff(s)}"


def _onoff(s: Session) -> str:
    return "on" if s.kernel.config.fix else "off"


def db_fix_cmd(s: Session, cmd: Cmd) -> str:
    """fix [on|off] (model extension): reboot with the LP_BOUND guard of
    mi_switch in (kern_synch.c 1.318) or reverted; alone, toggle it."""
    word = cmd.args.strip().lower()
    if word not in ("", "on", "off"):
        raise DbError("usage: fix [on|off]")
    want = (not s.kernel.config.fix) if not word else word == "on"
    s.reboot(fix=want)
    return f"{MARK} rebooted with the fix {_onoff(s)}"


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
        s.restore(snap)
        undone.append(snap.line)
    s.prev_kernel = None
    return f"undid {len(undone)}: " + "; ".join(reversed(undone))

