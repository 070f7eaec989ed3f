"""lwp_migrate() (kern_lwp.c l.1313-1372) and sys__sched_setaffinity()
(sys_sched.c l.457).

lwp_migrate never checks LP_BOUND: a sleeping LWP gets its l_cpu changed
directly; a queued one gets l_target_cpu; a running one gets l_target_cpu
and a kernel preemption request. The 2018 fix guards mi_switch(), so the
running case is covered and the sleeping one is not.
"""

from __future__ import annotations

from engine.kern_lwp import lock_frame_lwp
from engine.kern_runq import spc_mutex
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
from engine.param import LP_BOUND, LP_RUNNING, LSONPROC, LSRUN, LSSLEEP, RESCHED_KPREEMPT
from engine.x86_machdep import cpu_need_resched

SYS__sched_setaffinity = 348


def _find(x: Ctx) -> Flow:
    pid, lid = x.l.arg("target")
    for t in x.k.lwps:
        if x.k.proc(t).p_pid == pid and t.l_lid == lid:
            x.set("t", t.idx)
            return None
    return Ret(3)  # ESRCH


def _affinity(x: Ctx) -> Flow:
    # kcset: the one CPU the caller asked for (schedctl -A: to_cpu).
    x.lwp(x.v("t")).l_affinity = (x.l.arg("to_cpu"),)
    return None


kfunc(
    "sys__sched_setaffinity", "sys/kern/sys_sched.c",
    # proc_lock, p_lock and cpu_lock are not modeled; one target LWP.
    S(403, "p = proc_find(SCARG(uap, pid));", _find),
    S(436, "LIST_FOREACH(t, &p->p_lwps, l_sibling) { if (lid && lid != t->l_lid) { continue; }"),
    S(440, "lwp_lock(t);", lock_frame_lwp("t")),
    S(456, "t->l_affinity = kcset;", _affinity),
    S(457, "lwp_migrate(t, ci);",
      lambda x: call("lwp_migrate", l=x.v("t"), tci=x.l.arg("to_cpu"), lk=x.v("lk")),
      label="lwp_migrate"),
    S(470, "mutex_exit(&cpu_lock); ... return error;", lambda x: Ret(0), label="out"),
)


def _lm_running(x: Ctx) -> Flow:
    l = x.lwp(x.v("l"))
    # If LWP is still on the CPU, it must be handled like LSONPROC.
    x.set("lstat", LSONPROC if l.l_pflag & LP_RUNNING else l.l_stat)
    return None


def _lm_pending(x: Ctx) -> Flow:
    l = x.lwp(x.v("l"))
    # The destination CPU could be changed while previous migration was not
    # finished: only retarget.
    if l.l_target_cpu is not None:
        l.l_target_cpu = x.v("tci")
        mutex_spin_exit(x, x.v("lk"))
        return Ret()
    return None


def _lm_same(x: Ctx) -> Flow:
    if x.lwp(x.v("l")).l_cpu == x.v("tci"):
        mutex_spin_exit(x, x.v("lk"))
        return Ret()
    return None


def _lm_kind(x: Ctx) -> Flow:
    l = x.lwp(x.v("l"))
    tci = x.v("tci")
    lstat = x.v("lstat")
    if lstat == LSONPROC:
        # spc_lock(l->l_cpu) .. spc_unlock(l->l_cpu) within this one step.
        if not mutex_spin_enter(x, spc_mutex(l.l_cpu)):
            return SPIN
        l.l_target_cpu = tci
        cpu_need_resched(x.k, l.l_cpu, RESCHED_KPREEMPT)
        mutex_spin_exit(x, spc_mutex(l.l_cpu))
    elif lstat == LSRUN:
        l.l_target_cpu = tci
    elif lstat == LSSLEEP:
        if x.k.config.complete and l.l_pflag & LP_BOUND:
            # ddbstep's proposal (--fix=complete, engine.lp_bound): a bound
            # sleeper is moved as a running one is, later, by mi_switch()
            # once it is no longer bound.
            l.l_target_cpu = tci
        else:
            # No LP_BOUND test, and no mi_switch() on this path for the fix to guard.
            l.l_cpu = tci
    return None


def _lm_unlock(x: Ctx) -> Flow:
    mutex_spin_exit(x, x.v("lk"))
    return None


kfunc(
    "lwp_migrate", "sys/kern/kern_lwp.c",
    S(1323, "if ((l->l_pflag & LP_RUNNING) != 0) { lstat = LSONPROC; }", _lm_running),
    S(1331, "if (l->l_target_cpu != NULL) { l->l_target_cpu = tci; lwp_unlock(l); return; }",
      _lm_pending),
    S(1338, "if (l->l_cpu == tci) { lwp_unlock(l); return; }", _lm_same),
    S(1345, "switch (lstat) { case LSRUN: l->l_target_cpu = tci; break; ... "
      "case LSSLEEP: l->l_cpu = tci; break; ... case LSONPROC: l->l_target_cpu = tci; "
      "spc_lock(l->l_cpu); cpu_need_resched(l->l_cpu, RESCHED_KPREEMPT); "
      "spc_unlock(l->l_cpu); break; }", _lm_kind,
      proposed="switch (lstat) { case LSRUN: l->l_target_cpu = tci; break; ... "
      "case LSSLEEP: if (l->l_pflag & LP_BOUND) l->l_target_cpu = tci; /* ddbstep's"
      " proposal */ else l->l_cpu = tci; break; ... case LSONPROC: ... }"),
    S(1371, "lwp_unlock(l);", _lm_unlock),
    S(1372, "}", lambda x: Ret()),
)

kfunc(
    "setaffinity_user", "usr.sbin/schedctl",
    S(1, "error = _sched_setaffinity(pid, lid, sizeof(cset), cset);",
      lambda x: call("syscall", ret="error", code=SYS__sched_setaffinity), label="call"),
    S(2, "for (;;) pause();", lambda x: Goto("loop"), label="loop"),
    user=True,
)
