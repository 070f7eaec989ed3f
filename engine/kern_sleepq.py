"""kern_sleepq.c 1.51 and kern_condvar.c 1.41: sleeping and waking.

A sleeping LWP leaves the CPU through mi_switch() in LSSLEEP, which never
migrates. Wakeup (sleepq_remove) re-queues it on the CPU sched_takecpu()
picks, which for a bound LWP is its own; if it is still on its way out
(LP_RUNNING), it is made LSONPROC again and will yield in mi_switch(),
through the enqueue-and-migrate branch.
"""

from __future__ import annotations

from engine.kern_lwp import lwp_lock
from engine.kern_runq import spc_lwplock, spc_mutex
from engine.machine import (
    SPIN,
    Ctx,
    Flow,
    Goto,
    Ret,
    S,
    call,
    kfunc,
    mutex_spin_enter,
    mutex_spin_exit,
)
from engine.param import LP_RUNNING, LSONPROC, LSRUN, LSSLEEP

SLEEPQ_LOCK = "sleepq"  # the sleep table hash lock (one chain modeled)


def _enter(x: Ctx) -> Flow:
    """sleepq_enter(): lwp_lock(l); lwp_unlock_to(l, mp) with mp held."""
    if x.k.locks.get(SLEEPQ_LOCK, x.ci) != x.ci:
        return SPIN
    if not lwp_lock(x, x.l):
        return SPIN
    mutex_spin_enter(x, SLEEPQ_LOCK)
    old = x.l.l_mutex
    x.l.l_mutex = SLEEPQ_LOCK
    mutex_spin_exit(x, old)
    x.l.l_kpriority = True
    return None


def _enqueue(x: Ctx) -> Flow:
    """sleepq_enqueue(): LSSLEEP, wchan, wmesg, l_slpticks."""
    l = x.l
    l.l_wchan = x.v("wchan")
    l.l_wmesg = x.v("wmesg")
    l.l_slptime = 0
    l.l_stat = LSSLEEP
    l.l_slpticks = x.k.hardclock_ticks
    return None


def _block_timo(x: Ctx) -> Flow:
    timo = x.v("timo", 0)
    if timo:
        x.l.l_timeout = x.k.hardclock_ticks + timo
    return None


def _block_done(x: Ctx) -> Flow:
    x.l.l_timeout = None
    return Ret(0)


kfunc(
    "sleepq_block", "sys/kern/kern_sleepq.c",
    S(245, "if (timo) callout_schedule(&l->l_timeout_ch, timo);", _block_timo),
    S(263, "mi_switch(l);", lambda x: call("mi_switch"), label="mi_switch"),
    S(283, "if (timo) callout_halt(&l->l_timeout_ch, NULL); return error;", _block_done),
)

kfunc(
    "cv_wait", "sys/kern/kern_condvar.c",
    S(163, "cv_enter(cv, mtx, l); /* sleepq_enter(sq, l, mp) */", _enter),
    S(164, "sleepq_enqueue(sq, cv, cv->cv_wmesg, &cv_syncobj);", _enqueue),
    S(238, "mutex_exit(mtx);"),
    S(239, "(void)sleepq_block(0, false);", lambda x: call("sleepq_block", timo=0),
      label="sleepq_block"),
    S(240, "mutex_enter(mtx);", lambda x: Ret()),
)

kfunc(
    "kpause", "sys/kern/kern_synch.c",
    S(227, "sleepq_enter(NULL, l, NULL);", _enter),
    S(228, "sleepq_enqueue(NULL, l, wmesg, &kpause_syncobj);", _enqueue),
    S(229, "error = sleepq_block(timo, intr);",
      lambda x: call("sleepq_block", timo=x.v("timo")), label="sleepq_block"),
    S(233, "return error;", lambda x: Ret(0)),
)


# -- sleepq_remove(sq, l): called with the sleep queue locked ------------------------


def _rm_unlink(x: Ctx) -> Flow:
    l = x.lwp(x.v("l"))
    l.l_wchan = None
    l.l_wmesg = None
    if l.l_stat != LSSLEEP:
        l.l_mutex = spc_lwplock(l.l_cpu)
        return Ret()
    return None


def _rm_running(x: Ctx) -> Flow:
    l = x.lwp(x.v("l"))
    if (l.l_pflag & LP_RUNNING) == 0:
        return None
    # Still switching away: it will yield in mi_switch() instead.
    l.l_stat = LSONPROC
    l.l_slptime = 0
    l.l_mutex = spc_lwplock(l.l_cpu)
    return Ret()


def _rm_slpticksum(x: Ctx) -> Flow:
    l = x.lwp(x.v("l"))
    l.l_slpticksum += x.k.hardclock_ticks - l.l_slpticks
    return None


def _rm_lock(x: Ctx) -> Flow:
    l = x.lwp(x.v("l"))
    ci = x.v("ci")
    if not mutex_spin_enter(x, spc_mutex(ci)):
        return SPIN
    l.l_cpu = ci
    l.l_mutex = spc_mutex(ci)
    return None


def _rm_runnable(x: Ctx) -> Flow:
    l = x.lwp(x.v("l"))
    l.l_stat = LSRUN
    l.l_slptime = 0
    return None


def _rm_unlock(x: Ctx) -> Flow:
    mutex_spin_exit(x, spc_mutex(x.v("ci")))
    return Ret()


kfunc(
    "sleepq_remove", "sys/kern/kern_sleepq.c",
    S(116, "l->l_wchan = NULL; if (l->l_stat != LSSLEEP) return;", _rm_unlink),
    S(133, "if ((l->l_pflag & LP_RUNNING) != 0) { l->l_stat = LSONPROC; return; }",
      _rm_running),
    S(145, "l->l_slpticksum += hardclock_ticks - l->l_slpticks;", _rm_slpticksum),
    S(152, "ci = sched_takecpu(l);",
      lambda x: call("sched_takecpu", ret="ci", l=x.v("l")), label="takecpu"),
    S(153, "l->l_cpu = ci; spc_lock(ci); lwp_setlock(l, spc->spc_mutex);", _rm_lock),
    S(156, "sched_setrunnable(l); l->l_stat = LSRUN; l->l_slptime = 0;", _rm_runnable),
    S(158, "sched_enqueue(l, false);",
      lambda x: call("sched_enqueue", l=x.v("l"), swtch=False)),
    S(159, "spc_unlock(ci);", _rm_unlock),
)


# -- waking: cv_broadcast() and the callout of a timed sleep ---------------------------


def _wk_lock(x: Ctx) -> Flow:
    return None if mutex_spin_enter(x, SLEEPQ_LOCK) else SPIN


def _cv_next(x: Ctx) -> Flow:
    for lw in x.k.lwps:
        if lw.l_wchan == x.v("cv"):
            return call("sleepq_remove", l=lw.idx)
    return Goto("unlock")


def _wk_unlock(x: Ctx) -> Flow:
    mutex_spin_exit(x, SLEEPQ_LOCK)
    return Ret()


kfunc(
    "cv_broadcast", "sys/kern/kern_condvar.c",
    S(430, "mp = sleepq_hashlock(cv); mutex_spin_enter(mp);", _wk_lock),
    S(431, "LIST_FOREACH(l, sq, l_sleepchain) if (l->l_wchan == cv) sleepq_remove(sq, l);",
      _cv_next, label="next"),
    S(432, "}", lambda x: Goto("next")),
    S(435, "mutex_spin_exit(mp);", _wk_unlock, label="unlock"),
)


def _to_check(x: Ctx) -> Flow:
    l = x.lwp(x.v("l"))
    if l.l_wchan is None:
        return Goto("unlock")
    l.l_timeout = None
    return call("sleepq_remove", l=l.idx)


kfunc(
    "sleepq_timeout", "sys/kern/kern_sleepq.c",
    S(388, "lwp_lock(l);", _wk_lock),
    S(393, "if (l->l_wchan == NULL) return; lwp_unsleep(l, true);", _to_check),
    S(396, "lwp_unlock(l);", _wk_unlock, label="unlock"),
)
