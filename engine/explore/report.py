"""What the command line prints of a search: its budget in words, a
schedule's lines, which code moved an LWP, the schedule as ddb commands.
"""

from __future__ import annotations

from engine.explore.moves import Move
from engine.explore.result import Result
from engine.kern_clock import ticks_to_kpreempt
from engine.kernel import Kernel
from engine.machine import FUNCS


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
