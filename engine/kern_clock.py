"""hardclock(), schedclock() (kern_clock.c) and sched_tick() (sched_4bsd.c 1.35).

A clock interrupt is the event that drives in-kernel preemption of a CPU
hog: sched_tick() marks SPCF_SEENRR, then SPCF_SHOULDYIELD, and on the
third round-robin tick without a switch forces RESCHED_KPREEMPT.
"""

from __future__ import annotations

from engine.kern_runq import balance_period, sched_balance
from engine.kernel import Kernel, lwp_fixed_flags
from engine.machine import Ctx, Flow, Goto, Ret, S, call, kfunc
from engine.param import (
    LSSLEEP,
    LW_IDLE,
    RESCHED_KPREEMPT,
    SPCF_SEENRR,
    SPCF_SHOULDYIELD,
)
from engine.x86_machdep import cpu_need_resched


def _hc_ticks(x: Ctx) -> Flow:
    # Only the primary CPU advances hardclock_ticks.
    if x.ci == 0:
        x.k.hardclock_ticks += 1
    return None


def hardscheddiv(k: Kernel) -> int:
    """hardscheddiv = hz / 16 (initclocks, kern_clock.c l.192): schedclock()
    at about 16 Hz when there is no separate schedclock (schedhz == 0)."""
    return max(1, k.config.hz // 16)


def _hc_schedticks(x: Ctx) -> Flow:
    cpu = x.cpu
    cpu.spc_schedticks -= 1
    return None if cpu.spc_schedticks <= 0 else Goto("rr")


def _hc_schedclock(x: Ctx) -> Flow:
    # l = ci->ci_data.cpu_onproc: the LWP the clock interrupted.
    return call("schedclock", l=x.cpu.ci_curlwp)


def _hc_rearm(x: Ctx) -> Flow:
    x.cpu.spc_schedticks = hardscheddiv(x.k)
    return None


def _hc_rr(x: Ctx) -> Flow:
    cpu = x.cpu
    cpu.spc_ticks -= 1
    if cpu.spc_ticks <= 0:
        return call("sched_tick")
    return None


def _hc_callout(x: Ctx) -> Flow:
    k = x.k
    if x.ci == 0 and not x.v("balanced", False):
        # balance_ch, scheduled on the boot CPU by runq_init() and again by
        # each run of sched_balance(NULL): every balance_period ticks.
        x.set("balanced", True)
        if (k.hardclock_ticks - k.config.boot_ticks) % balance_period(k) == 0:
            sched_balance(k, x.ci)
    if not x.v("ticked", False):
        # ticks = ++cc->cc_ticks (kern_timeout.c l.668): this CPU's wheel
        # only. A callout runs on the CPU whose wheel holds it, the one that
        # scheduled it (callout_schedule_locked, l.357-371), so only this
        # CPU's pending callouts come one tick nearer. The model keeps the
        # ticks left (c_time - cc_ticks), stopped at 0 while it waits for
        # its softint, rather than each CPU's cc_ticks.
        x.set("ticked", True)
        for l in k.lwps:
            if l.l_timeout is not None and l.l_timeout[0] == x.ci and l.l_timeout[1] > 0:
                x.lwp(l.idx).l_timeout = (x.ci, l.l_timeout[1] - 1)
    for l in k.lwps:
        # callout_softclock() runs what is due on this CPU's cc_todo
        # (here, inside the clock interrupt): sleepq_timeout(l).
        if (l.l_timeout is not None and l.l_timeout == (x.ci, 0)
                and l.l_stat == LSSLEEP):
            return call("sleepq_timeout", l=l.idx)
    return Goto("done")


kfunc(
    "hardclock", "sys/kern/kern_clock.c",
    S(236, "if ((int)(--ci->ci_schedstate.spc_schedticks) <= 0) {", _hc_schedticks),
    S(237, "schedclock(l);", _hc_schedclock, label="schedclock"),
    S(238, "ci->ci_schedstate.spc_schedticks = hardscheddiv;", _hc_rearm),
    S(241, "if ((--ci->ci_schedstate.spc_ticks) <= 0) sched_tick(ci);", _hc_rr, label="rr"),
    S(244, "if (CPU_IS_PRIMARY(ci)) { hardclock_ticks++; tc_ticktock(); }", _hc_ticks),
    # callout_hardclock() runs each expired sleep callout (sleepq_timeout).
    S(252, "callout_hardclock();", _hc_callout, label="callout"),
    S(252, "callout_hardclock();", lambda x: Goto("callout")),
    S(260, "}", lambda x: Ret(), label="done"),
    atomic=True,
)


def _st(x: Ctx) -> Flow:
    k, ci = x.k, x.ci
    spc = k.cpus[ci]
    spc.spc_ticks = k.config.rrticks
    l = k.lwps[spc.ci_curlwp]
    if lwp_fixed_flags(l) & LW_IDLE:
        return Ret()
    cls = l.arg("class", "SCHED_OTHER")
    if cls == "SCHED_FIFO":
        # No timeslicing for FIFO jobs.
        pass
    elif cls == "SCHED_RR":
        cpu_need_resched(k, ci, RESCHED_KPREEMPT)
    elif spc.spc_flags & SPCF_SHOULDYIELD:
        # Stuck in kernel somewhere: force preemption.
        cpu_need_resched(k, ci, RESCHED_KPREEMPT)
    elif spc.spc_flags & SPCF_SEENRR:
        spc.spc_flags |= SPCF_SHOULDYIELD
        cpu_need_resched(k, ci, 0)
    else:
        spc.spc_flags |= SPCF_SEENRR
    return Ret()


def ticks_to_kpreempt(rrticks: int) -> int:
    """Clock ticks one CPU takes before sched_tick() asks to preempt an LWP
    running in the kernel: sched_tick runs every rrticks ticks (hardclock
    l.241, spc_ticks = rrticks); the first marks SPCF_SEENRR, the second
    SPCF_SHOULDYIELD with a plain resched, the third RESCHED_KPREEMPT
    (sched_4bsd.c sched_tick). A budget of fewer ticks reaches no
    round-robin kernel preemption."""
    return 3 * rrticks


def _schedclock_idle(x: Ctx) -> Flow:
    return Ret() if lwp_fixed_flags(x.lwp(x.v("l"))) & LW_IDLE else None


kfunc(
    "schedclock", "sys/kern/kern_clock.c",
    S(308, "if ((l->l_flag & LW_IDLE) != 0) return;", _schedclock_idle),
    S(311, "sched_schedclock(l);", lambda x: call("sched_schedclock", l=x.v("l"))),
    S(312, "}", lambda x: Ret()),
    atomic=True,
)


kfunc(
    "sched_tick", "sys/kern/sched_4bsd.c",
    S(110, "spc->spc_ticks = rrticks; if (CURCPU_IDLE_P()) { cpu_need_resched(ci, 0); "
      "return; } l = ci->ci_data.cpu_onproc; ... switch (l->l_class) { ... }", _st),
    atomic=True,
)
