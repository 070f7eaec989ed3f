"""sys/kern/sys_pset.c 1.20: sys__pset_bind(), and psrset(8) -b calling it.

_pset_bind() is the other way the 2018 kernel moves an LWP on request: it
sets l_psid, asks sched_takecpu() for a CPU of the set and hands the LWP
to lwp_migrate(). For a bound LWP sched_takecpu() answers l_cpu
(kern_runq.c l.383) and lwp_migrate() returns at l_cpu == tci (kern_lwp.c
l.1338): the guard is in the callee, read unlocked against a running
LWP's own curlwp_bind(), as sched_lwp_stats() reads it.
"""

from __future__ import annotations

from engine.kern_lwp import lock_frame_lwp
from engine.machine import Ctx, Flow, Goto, Ret, S, call, kfunc
from engine.param import SYS__pset_bind

FILE = "sys/kern/sys_pset.c"


def _find(x: Ctx) -> Flow:
    pid = x.l.arg("target")[0]
    # p_lwps, newest LWP first.
    mine = sorted((t for t in x.k.lwps if x.k.proc(t).p_pid == pid), key=lambda t: -t.l_lid)
    if not mine:
        return Ret(3)  # ESRCH
    x.set("lwps", tuple(t.idx for t in mine))
    x.set("i", 0)
    return None


def _next(x: Ctx) -> Flow:
    lwps, i = x.v("lwps"), x.v("i")
    if i >= len(lwps):
        return Goto("out")
    x.set("t", lwps[i])
    return None


def _psid(x: Ctx) -> Flow:
    x.lwp(x.v("t")).l_psid = x.l.arg("psid")
    return None


def _migrated(x: Ctx) -> Flow:
    x.set("i", x.v("i") + 1)
    return Goto("next")


kfunc(
    "sys__pset_bind", FILE,
    # cpu_lock, proc_lock and p_lock are not modeled (one caller); P_PID:
    # lid 0, every LWP of the process. PSET_BUSY is not modeled.
    S(491, "p = proc_find(pid);", _find),
    S(510, "LIST_FOREACH(t, &p->p_lwps, l_sibling) { if (lid && lid != t->l_lid) continue;",
      _next, label="next"),
    S(517, "lwp_lock(t);", lock_frame_lwp("t")),
    # One step: opsid is the caller's, l_psid is under the LWP's lock.
    S(518, "opsid = t->l_psid; t->l_psid = psid;", _psid),
    S(520, "ci = sched_takecpu(t);",
      lambda x: call("sched_takecpu", ret="ci", l=x.v("t")), label="sched_takecpu"),
    S(522, "lwp_migrate(t, ci);",
      lambda x: call("lwp_migrate", l=x.v("t"), tci=x.v("ci"), lk=x.v("lk")),
      label="lwp_migrate"),
    S(523, "lcnt++;", _migrated),
    S(538, "return error;", lambda x: Ret(0), label="out"),
)

kfunc(
    "psrset_user", "usr.sbin/psrset",
    S(1, "if (pset_bind(psid, P_PID, pid, NULL)) err(EXIT_FAILURE, \"pset_bind\");",
      lambda x: call("syscall", ret="error", code=SYS__pset_bind), label="call"),
    # (exit(3) is not modeled: the process stays, in user space.)
    S(2, "for (;;) pause();", lambda x: Goto("loop"), label="loop"),
    user=True,
)
