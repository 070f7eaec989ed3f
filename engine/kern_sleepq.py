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
    """sleepq_enter() (sys/sleepq.h 1.25 l.121-131): lwp_lock(l);
    lwp_unlock_to(l, mp) with mp held; KERNEL_UNLOCK_ALL(NULL, &l->l_biglocks).
    Without a hold on the kernel lock, _kernel_unlock() only stores 0 in
    l_biglocks (kern_lock.c l.275-281): done in this step."""
    if x.k.locks.get(SLEEPQ_LOCK, x.ci) != x.ci:
        return SPIN
    if not lwp_lock(x, x.l):
        return SPIN
    mutex_spin_enter(x, SLEEPQ_LOCK)
    old = x.l.l_mutex
    x.l.l_mutex = SLEEPQ_LOCK
    mutex_spin_exit(x, old)
    x.l.l_kpriority = True
    if x.l.l_blcnt != 0:
        return call("_kernel_unlock", nlocks=0, countp="l_biglocks")
    x.l.l_biglocks = 0
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
        # callout_schedule_locked(): a callout not pending moves to the
        # calling CPU's wheel (tryenter of its cc_lock never fails here).
        x.l.l_timeout = (x.ci, timo)
    return None


def _block_done(x: Ctx) -> Flow:
    x.l.l_timeout = None
    # biglocks = l->l_biglocks (l.239): only this LWP writes it.
    return Ret(0) if x.l.l_biglocks == 0 else None


def _block_relock(x: Ctx) -> Flow:
    return call("_kernel_lock", nlocks=x.l.l_biglocks)


kfunc(
    "sleepq_block", "sys/kern/kern_sleepq.c",
    S(261, "if (timo) { callout_schedule(&l->l_timeout_ch, timo); }", _block_timo),
    S(264, "mi_switch(l);", lambda x: call("mi_switch"), label="mi_switch"),
    # One step: the callout is this LWP's own; no signals are modeled.
    S(267, "if (timo) { if (callout_halt(&l->l_timeout_ch, NULL)) error = EWOULDBLOCK; } "
      "... return error;", _block_done),
    # (The step above returns when there are no kernel lock holds to take
    # back; otherwise it goes on to l.299.)
    S(299, "if (__predict_false(biglocks != 0)) { KERNEL_LOCK(biglocks, NULL); }",
      _block_relock),
    S(302, "return error;", lambda x: Ret(0)),
)

kfunc(
    "cv_wait", "sys/kern/kern_condvar.c",
    # cv_enter() is inline in cv_wait(): its lines 174-179 run in cv_wait's frame.
    # One step: l_kpriority is curlwp's own, and sleepq_enter() takes the
    # sleep queue's lock and lends it to l before anyone can look.
    S(174, "l->l_kpriority = true; mp = sleepq_hashlock(cv); sq = CV_SLEEPQ(cv); "
      "sleepq_enter(sq, l, mp);", _enter),
    S(178, "sleepq_enqueue(sq, cv, CV_WMESG(cv), &cv_syncobj);", _enqueue),
    S(179, "mutex_exit(mtx);"),
    S(251, "(void)sleepq_block(0, false);", lambda x: call("sleepq_block", timo=0),
      label="sleepq_block"),
    S(252, "mutex_enter(mtx);", lambda x: Ret()),
)

kfunc(
    "kpause", "sys/kern/kern_synch.c",
    # One step: l_kpriority is curlwp's own; the lookup takes the hash lock
    # that sleepq_enter() then holds.
    S(232, "l->l_kpriority = true; sq = sleeptab_lookup(&sleeptab, l, &mp); "
      "sleepq_enter(sq, l, mp);", _enter),
    S(235, "sleepq_enqueue(sq, l, wmesg, &sleep_syncobj);", _enqueue),
    S(236, "error = sleepq_block(timo, intr);",
      lambda x: call("sleepq_block", timo=x.v("timo")), label="sleepq_block"),
    S(240, "return error;", lambda x: Ret(0)),
)


# -- sleepq_remove(sq, l): called with the sleep queue locked ------------------------


def _rm_unlink(x: Ctx) -> Flow:
    l = x.lwp(x.v("l"))
    l.l_wchan = None
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


def _rm_setcpu(x: Ctx) -> Flow:
    x.lwp(x.v("l")).l_cpu = x.v("ci")
    return None


def _rm_lock(x: Ctx) -> Flow:
    l = x.lwp(x.v("l"))
    ci = x.v("ci")
    if not mutex_spin_enter(x, spc_mutex(ci)):
        return SPIN
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
    # One step each below where the text holds several statements: the
    # waker holds the sleep queue's lock, which is l's lock until lwp_setlock.
    S(114, "TAILQ_REMOVE(sq, l, l_sleepchain); l->l_syncobj = &sched_syncobj; "
      "l->l_wchan = NULL; l->l_sleepq = NULL; ... if (l->l_stat != LSSLEEP) { "
      "lwp_setlock(l, spc->spc_lwplock); return; }", _rm_unlink),
    S(137, "if ((l->l_pflag & LP_RUNNING) != 0) { l->l_stat = LSONPROC; l->l_slptime = 0; "
      "lwp_setlock(l, spc->spc_lwplock); return; }", _rm_running),
    S(145, "l->l_slpticksum += (hardclock_ticks - l->l_slpticks);", _rm_slpticksum),
    # The call, then the store of its result: two steps on the same line.
    S(149, "l->l_cpu = sched_takecpu(l);",
      lambda x: call("sched_takecpu", ret="ci", l=x.v("l")), label="takecpu"),
    S(149, "l->l_cpu = sched_takecpu(l);", _rm_setcpu),
    S(156, "spc_lock(ci); lwp_setlock(l, spc->spc_mutex);", _rm_lock),
    S(158, "sched_setrunnable(l); l->l_stat = LSRUN; l->l_slptime = 0;", _rm_runnable),
    S(161, "sched_enqueue(l, false);",
      lambda x: call("sched_enqueue", l=x.v("l"), swtch=False)),
    S(162, "spc_unlock(ci);", _rm_unlock),
)


def _sq_changepri(x: Ctx) -> Flow:
    x.lwp(x.v("l")).l_priority = x.v("pri")
    return None


kfunc(
    "sleepq_changepri", "sys/kern/kern_sleepq.c",
    S(465, "l->l_priority = pri;", _sq_changepri),
    # The sleep queue's order is not modeled (one wait channel per queue).
    S(466, "sleepq_reinsert(sq, l);", lambda x: Ret()),
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
    # cv_wakeup_all() is inline in cv_broadcast(); sleepq_hashlock() takes
    # the sleep queue's lock.
    S(545, "mp = sleepq_hashlock(cv);", _wk_lock),
    S(547, "for (l = TAILQ_FIRST(sq); l != NULL; l = next) { ... sleepq_remove(sq, l); }",
      _cv_next, label="next"),
    S(547, "for (l = TAILQ_FIRST(sq); l != NULL; l = next) {", lambda x: Goto("next")),
    S(555, "mutex_spin_exit(mp);", _wk_unlock, label="unlock"),
)


def _to_check(x: Ctx) -> Flow:
    if x.lwp(x.v("l")).l_wchan is None:
        # Somebody beat us to it.
        return _wk_unlock(x)
    return None


def _to_unsleep(x: Ctx) -> Flow:
    l = x.lwp(x.v("l"))
    l.l_timeout = None
    return call("sleepq_remove", l=l.idx)


kfunc(
    "sleepq_timeout", "sys/kern/kern_sleepq.c",
    S(368, "lwp_lock(l);", _wk_lock),
    S(370, "if (l->l_wchan == NULL) { lwp_unlock(l); return; }", _to_check),
    # lwp_unsleep() -> sleepq_unsleep(l, true): sleepq_remove(), then the
    # sleep queue's lock is let go.
    S(376, "lwp_unsleep(l, true);", _to_unsleep),
    S(376, "lwp_unsleep(l, true);", _wk_unlock),
)
