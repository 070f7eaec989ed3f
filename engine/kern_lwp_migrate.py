"""lwp_migrate() (kern_lwp.c 1.194 l.1313-1372) and sys__sched_setaffinity()
(sys_sched.c l.457).

lwp_migrate never checks LP_BOUND: a sleeping LWP gets its l_cpu changed
directly; a queued one gets l_target_cpu; a running one gets l_target_cpu
and a kernel preemption request. The 2018 fix guards mi_switch(), so the
running case is covered and the sleeping one is not.
"""

from __future__ import annotations

from engine.kern_lwp import lwp_lock
from engine.machine import SPIN, Ctx, Flow, Goto, Ret, S, call, kfunc, mutex_spin_exit
from engine.param import LP_RUNNING, LSONPROC, LSRUN, LSSLEEP, RESCHED_KPREEMPT
from engine.x86_machdep import cpu_need_resched

SYS__sched_setaffinity = 348


def _find(x: Ctx) -> Flow:
    pid, lid = x.l.arg("target")
    for t in x.k.lwps:
        if x.k.proc(t).p_pid == pid and t.l_lid == lid:
            x.set("t", t.idx)
            return None
    return Ret(3)  # ESRCH


def _lock(x: Ctx) -> Flow:
    t = x.lwp(x.v("t"))
    if not lwp_lock(x, t):
        return SPIN
    x.set("lk", t.l_mutex)
    return None


def _in_set(x: Ctx) -> Flow:
    t = x.lwp(x.v("t"))
    if t.l_cpu == x.l.arg("to_cpu"):
        mutex_spin_exit(x, x.v("lk"))
        return Goto("out")
    return None


kfunc(
    "sys__sched_setaffinity", "sys/kern/sys_sched.c",
    S(398, "t = lwp_find2(SCARG(uap, pid), SCARG(uap, lid));", _find),
    S(449, "lwp_lock(t);", _lock),
    S(452, "if (kcpuset_isset(kcset, cpu_index(t->l_cpu))) { lwp_unlock(t); goto out; }",
      _in_set),
    S(457, "lwp_migrate(t, ci);",
      lambda x: call("lwp_migrate", l=x.v("t"), tci=x.l.arg("to_cpu"), lk=x.v("lk")),
      label="lwp_migrate"),
    S(470, "return error;", lambda x: Ret(0), label="out"),
)


def _lm_kind(x: Ctx) -> Flow:
    l = x.lwp(x.v("l"))
    tci = x.v("tci")
    if l.l_stat == LSONPROC or l.l_pflag & LP_RUNNING:
        l.l_target_cpu = tci
        cpu_need_resched(x.k, l.l_cpu, RESCHED_KPREEMPT)
    elif l.l_stat == LSRUN:
        l.l_target_cpu = tci
    elif l.l_stat == LSSLEEP:
        # No LP_BOUND test, and no mi_switch() on this path for the fix to guard.
        l.l_cpu = tci
    return None


def _lm_unlock(x: Ctx) -> Flow:
    mutex_spin_exit(x, x.v("lk"))
    return None


kfunc(
    "lwp_migrate", "sys/kern/kern_lwp.c",
    S(1320, "switch (l->l_stat) { LSRUN: l_target_cpu = tci; LSSLEEP: l->l_cpu = tci; ... }",
      _lm_kind),
    S(1368, "lwp_unlock(l);", _lm_unlock),
    S(1372, "}", lambda x: Ret()),
)

kfunc(
    "setaffinity_user", "usr.sbin/cpuctl",
    S(1, "error = _sched_setaffinity(pid, lid, sizeof(cset), cset);",
      lambda x: call("syscall", ret="error", code=SYS__sched_setaffinity), label="call"),
    S(2, "for (;;) pause();", lambda x: Goto("loop"), label="loop"),
    user=True,
)
