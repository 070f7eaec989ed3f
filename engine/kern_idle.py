"""sys/kern/kern_idle.c 1.25: each CPU's idle LWP.

idle_loop() calls sched_idle() on every pass, which is where a migration
handed over by mi_switch() (spc_migrating) is carried out.
"""

from __future__ import annotations

from engine.kern_lwp import lwp_lock
from engine.kern_runq import sched_curcpu_runnable_p
from engine.kernel import Kernel, peek
from engine.machine import SPIN, Ctx, Flow, Goto, S, call, kfunc
from engine.param import LSONPROC
from engine.subr_prf import KASSERT


def _runnable(x: Ctx) -> Flow:
    return Goto("switch") if sched_curcpu_runnable_p(x.k, x.ci) else None


def _hlt(x: Ctx) -> Flow:
    # cpu_idle() -> x86_cpu_idle (x86_machdep.c l.458-462): mwait on
    # ci_want_resched, or halt unless ci_want_resched. Either sleeps until
    # ci_want_resched is set (cpu_need_resched, with an IPI from another
    # CPU) or an interrupt arrives (engine.machine.deliver ends the wait).
    return SPIN if not x.cpu.ci_want_resched else None


def _recheck(x: Ctx) -> Flow:
    if not sched_curcpu_runnable_p(x.k, x.ci) and not x.cpu.ci_want_resched:
        return Goto("top")
    return None


def _lock(x: Ctx) -> Flow:
    return None if lwp_lock(x, x.l) else SPIN


def _after(x: Ctx) -> Flow:
    fail = KASSERT(x, x.l.l_stat == LSONPROC, "l->l_stat == LSONPROC")
    return fail if fail else Goto("top")


kfunc(
    "idle_loop", "sys/kern/kern_idle.c",
    S(81, "sched_idle();", lambda x: call("sched_idle"), label="top"),
    S(82, "if (!sched_curcpu_runnable_p()) {", _runnable),
    # (uvm_pageidlezero() between the two tests is not modeled.)
    S(86, "if (!sched_curcpu_runnable_p()) {", _runnable),
    S(87, "cpu_idle();", _hlt, label="hlt"),
    S(88, "if (!sched_curcpu_runnable_p() && !ci->ci_want_resched) { continue; }", _recheck),
    S(95, "lwp_lock(l);", _lock, label="switch"),
    S(96, "mi_switch(l);", lambda x: call("mi_switch"), label="mi_switch"),
    S(98, "KASSERT(l->l_stat == LSONPROC);", _after),
)


def idle_quiescent(k: Kernel, ci: int) -> bool:
    """Nothing to do on ci: its idle LWP in its loop, nothing queued or asked."""
    # (Read only: the structures themselves, never copies of them.)
    cpu = peek(k.cpus, ci)
    l = peek(k.lwps, cpu.ci_curlwp)
    return (
        cpu.ci_curlwp == cpu.ci_idlelwp
        and len(l.stack) == 1
        and cpu.r_count == 0
        and cpu.spc_migrating is None
        and not cpu.ci_want_resched
    )
