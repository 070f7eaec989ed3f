"""sched_4bsd.c 1.35: the 4BSD priority decay.

sched_schedclock() (from hardclock every hardscheddiv ticks) charges the
running LWP's CPU usage estimator l_estcpu; sched_pstats_hook() (from
sched_lwp_stats, once a second) decays it by the load; resetpriority()
turns it into l_priority: (PRI_KERNEL - 1) - (l_estcpu >> ESTCPU_SHIFT) -
p_nice, for SCHED_OTHER LWPs only.

Simplified: the load average (averunnable.ldavg[0]) is the one fixed at
boot (Config.loadavg), not recomputed by sched_pstats every 5 seconds.
"""

from __future__ import annotations

from engine.kern_lwp import lock_frame_lwp
from engine.machine import Ctx, Flow, Ret, S, call, kfunc, mutex_spin_exit
from engine.param import ESTCPU_ACCUM, ESTCPU_MAX, ESTCPU_SHIFT, FSCALE, LSSLEEP, PRI_KERNEL

FILE = "sys/kern/sched_4bsd.c"


def other(x: Ctx) -> Flow:
    """`if (l->l_class != SCHED_OTHER) return;`"""
    l = x.lwp(x.v("l"))
    return None if l.arg("class", "SCHED_OTHER") == "SCHED_OTHER" else Ret()


def decay_cpu(loadfac: int, estcpu: int) -> int:
    """decay_cpu() (l.255-271), the _LP64 arithmetic."""
    if estcpu == 0:
        return 0
    return estcpu * loadfac // (loadfac + FSCALE)


# -- sched_schedclock(l): the running LWP, from hardclock -------------------------


def _sc_accum(x: Ctx) -> Flow:
    l = x.lwp(x.v("l"))
    l.l_estcpu = min(l.l_estcpu + ESTCPU_ACCUM, ESTCPU_MAX)
    return None


def _sc_unlock(x: Ctx) -> Flow:
    mutex_spin_exit(x, x.v("lk"))
    return Ret()


kfunc(
    "sched_schedclock", FILE,
    S(411, "if (l->l_class != SCHED_OTHER) return;", other),
    S(415, "l->l_estcpu = ESTCPULIM(l->l_estcpu + ESTCPU_ACCUM);", _sc_accum),
    S(416, "lwp_lock(l);", lock_frame_lwp("l")),
    S(417, "resetpriority(l);", lambda x: call("resetpriority", l=x.v("l"))),
    S(418, "lwp_unlock(l);", _sc_unlock),
    atomic=True,
)


# -- resetpriority(l): l's lock held ------------------------------------------------


def _rp_pri(x: Ctx) -> Flow:
    l = x.lwp(x.v("l"))
    pri = (PRI_KERNEL - 1) - (l.l_estcpu >> ESTCPU_SHIFT) - x.k.proc(l).p_nice
    x.set("pri", max(pri, 0))
    return None


def _rp_change(x: Ctx) -> Flow:
    if x.v("pri") != x.lwp(x.v("l")).l_priority:
        return call("lwp_changepri", l=x.v("l"), pri=x.v("pri"))
    return None


kfunc(
    "resetpriority", FILE,
    S(384, "if (l->l_class != SCHED_OTHER) return;", other),
    # One step: pri is a local.
    S(388, "pri = (PRI_KERNEL - 1) - (l->l_estcpu >> ESTCPU_SHIFT) - p->p_nice; "
      "pri = imax(pri, 0);", _rp_pri),
    S(390, "if (pri != l->l_priority) lwp_changepri(l, pri);", _rp_change),
    S(392, "}", lambda x: Ret()),
    inline=True,
)


# -- sched_pstats_hook(l, batch): once a second, l's lock held ----------------------


def _ph_slept(x: Ctx) -> Flow:
    l = x.lwp(x.v("l"))
    # If the LWP has slept an entire second, stop recalculating its priority
    # until it wakes up.
    if l.l_stat == LSSLEEP and l.l_slptime > 1:
        return Ret()
    return None


def _ph_decay(x: Ctx) -> Flow:
    l = x.lwp(x.v("l"))
    l.l_estcpu = decay_cpu(2 * x.k.config.loadavg, l.l_estcpu)
    return None


kfunc(
    "sched_pstats_hook", FILE,
    S(313, "if (l->l_stat == LSSLEEP || l->l_stat == LSSTOP || l->l_stat == LSSUSPENDED) "
      "{ if (l->l_slptime > 1) { return; } }", _ph_slept),
    # One step: loadfac is a local; l_estcpu is under l's lock.
    S(320, "loadfac = loadfactor(averunnable.ldavg[0]); "
      "l->l_estcpu = decay_cpu(loadfac, l->l_estcpu);", _ph_decay),
    S(322, "resetpriority(l);", lambda x: call("resetpriority", l=x.v("l"))),
    S(323, "}", lambda x: Ret()),
)


# -- lwp_changepri(l, pri) (sys/lwp.h, inline): the syncobj's changepri ------------


def _cp_same(x: Ctx) -> Flow:
    return Ret() if x.lwp(x.v("l")).l_priority == x.v("pri") else None


def _cp_sobj(x: Ctx) -> Flow:
    l = x.lwp(x.v("l"))
    # l_syncobj: a sleeper's sleep queue object, else sched_syncobj.
    func = "sleepq_changepri" if l.l_wchan is not None else "sched_changepri"
    return call(func, l=l.idx, pri=x.v("pri"))


kfunc(
    "lwp_changepri", "sys/sys/lwp.h",
    S(400, "if (l->l_priority == pri) return;", _cp_same),
    S(403, "(*l->l_syncobj->sobj_changepri)(l, pri);", _cp_sobj),
    S(405, "}", lambda x: Ret()),
    inline=True,
)

