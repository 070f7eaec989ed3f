"""sys/kern/kern_synch.c 1.318 (POST) / 1.311 (PRE): mi_switch and friends.

mi_switch() is where the race is decided: an LWP leaving the CPU in
LSONPROC is queued on this CPU, and if sched_lwp_stats() planned a
migration (l_target_cpu) it is handed to the idle loop through
spc_migrating. The 2018 fix adds `(l->l_pflag & LP_BOUND) == 0` to that
test and changes nothing else ([kernel] fix = true).
"""

from __future__ import annotations

from engine.kern_lwp import lwp_lock, lwp_unlock
from engine.kern_runq import sched_dequeue, spc_lwplock, spc_mutex
from engine.kernel import Kernel, Lwp
from engine.machine import (
    SPIN,
    Ctx,
    Flow,
    Goto,
    Ret,
    S,
    Switch,
    call,
    kfunc,
    mutex_spin_enter,
    mutex_spin_exit,
)
from engine.param import (
    IPL_NONE,
    LP_BOUND,
    LP_INTR,
    LP_RUNNING,
    LSIDL,
    LSONPROC,
    LSRUN,
    LW_IDLE,
    SPCF_SWITCHCLEAR,
)
from engine.subr_prf import KASSERT

FILE = "sys/kern/kern_synch.c"


# -- mi_switch(l) ----------------------------------------------------------------------


def _ms_entry(x: Ctx) -> Flow:
    return KASSERT(x, x.l.l_cpu == x.ci, "l->l_cpu == curcpu()")


def _ms_notrun(x: Ctx) -> Flow:
    return KASSERT(x, x.l.l_stat != LSRUN, "l->l_stat != LSRUN")


def _ms_spc_lock(x: Ctx) -> Flow:
    return None if mutex_spin_enter(x, spc_mutex(x.ci)) else SPIN


def _ms_onproc(x: Ctx) -> Flow:
    # If on the CPU and we have gotten this far, then we must yield.
    return None if x.l.l_stat == LSONPROC else Goto("pick")


def _ms_idle(x: Ctx) -> Flow:
    return Goto("lsidl") if x.l.l_flag & LW_IDLE else None


def _ms_lsrun(x: Ctx) -> Flow:
    x.l.l_stat = LSRUN
    return None


def _ms_setlock(x: Ctx) -> Flow:
    x.l.l_mutex = spc_mutex(x.ci)
    return None


def _ms_guard(x: Ctx) -> Flow:
    l = x.l
    migrate = l.l_target_cpu is not None
    if x.k.config.fix:
        migrate = migrate and (l.l_pflag & LP_BOUND) == 0
    return None if migrate else Goto("pick")


def _ms_migrating(x: Ctx) -> Flow:
    fail = KASSERT(x, (x.l.l_pflag & LP_INTR) == 0, "(l->l_pflag & LP_INTR) == 0")
    if fail:
        return fail
    x.cpu.spc_migrating = x.l.idx
    return Goto("pick")


def _ms_lsidl(x: Ctx) -> Flow:
    x.l.l_stat = LSIDL
    return None


def _ms_switch_p(x: Ctx) -> Flow:
    return None if x.v("newl") != x.l.idx else Goto("noswitch")


def _ms_release(x: Ctx) -> Flow:
    # Release all locks, but leave the current LWP locked.
    if x.l.l_mutex == spc_mutex(x.ci):
        mutex_spin_exit(x, spc_lwplock(x.ci))
    else:
        mutex_spin_exit(x, spc_mutex(x.ci))
    return None


def _ms_ctxswtch(x: Ctx) -> Flow:
    l = x.l
    l.l_ctxswtch = 1
    l.l_pflag &= ~LP_RUNNING
    x.set("oldspl", x.cpu.ci_mtx_oldspl)
    # Stay at IPL_SCHED across cpu_switchto (ci_mtx_count-- first).
    lwp_unlock(x, l, keep_spl=True)
    return None


def _ms_switchto(x: Ctx) -> Flow:
    newl = x.lwp(x.v("newl"))
    if newl.l_ctxswtch:
        # newl is still switching away on its old CPU: spin until it is off.
        return SPIN
    return Switch(newl.idx)


def _ms_resumed(x: Ctx) -> Flow:
    # We may be back on another CPU: that is what sched_idle() did.
    return KASSERT(x, x.l.l_cpu == x.ci, "l->l_cpu == ci")


def _ms_splx(x: Ctx) -> Flow:
    x.cpu.ci_ilevel = x.v("oldspl", IPL_NONE)
    x.cpu.ci_mtx_count = 0
    x.set("retval", 1)
    return Goto("out")


def _ms_noswitch(x: Ctx) -> Flow:
    mutex_spin_exit(x, spc_mutex(x.ci))
    lwp_unlock(x, x.l)
    x.set("retval", 0)
    return None


def _ms_out(x: Ctx) -> Flow:
    fail = KASSERT(x, x.l.l_stat == LSONPROC, "l->l_stat == LSONPROC")
    return fail if fail else Ret(x.v("retval"))


kfunc(
    "mi_switch", FILE,
    S(519, "KASSERT(l->l_cpu == curcpu());", _ms_entry),
    S(539, "KASSERT(l->l_stat != LSRUN);", _ms_notrun),
    S(550, "mutex_spin_enter(spc->spc_mutex);", _ms_spc_lock),
    S(568, "if (l->l_stat == LSONPROC && l != newl) {", _ms_onproc),
    S(570, "if ((l->l_flag & LW_IDLE) == 0) {", _ms_idle),
    S(571, "l->l_stat = LSRUN;", _ms_lsrun),
    S(572, "lwp_setlock(l, spc->spc_mutex);", _ms_setlock),
    S(573, "sched_enqueue(l, true);",
      lambda x: call("sched_enqueue", l=x.l.idx, swtch=True)),
    S(579, "if (l->l_target_cpu != NULL) {", _ms_guard, label="guard",
      fixed="if (l->l_target_cpu != NULL && (l->l_pflag & LP_BOUND) == 0) {"),
    S(582, "spc->spc_migrating = l;", _ms_migrating),
    S(585, "} else l->l_stat = LSIDL;", _ms_lsidl, label="lsidl"),
    S(590, "newl = nextlwp(ci, spc);",
      lambda x: call("nextlwp", ret="newl"), label="pick"),
    S(623, "if (l != newl) {", _ms_switch_p),
    S(636, "mutex_spin_exit(l->l_mutex == spc_mutex ? spc_lwplock : spc_mutex);",
      _ms_release),
    S(671, "l->l_ctxswtch = 1; l->l_pflag &= ~LP_RUNNING; lwp_unlock(l);", _ms_ctxswtch),
    S(679, "prevlwp = cpu_switchto(l, newl, returning);", _ms_switchto),
    S(706, "KASSERT(l->l_cpu == ci);", _ms_resumed),
    S(708, "splx(oldspl); retval = 1;", _ms_splx),
    S(712, "mutex_spin_exit(spc->spc_mutex); lwp_unlock(l); retval = 0;",
      _ms_noswitch, label="noswitch"),
    S(720, "KASSERT(l->l_stat == LSONPROC); return retval;", _ms_out, label="out"),
)


# -- nextlwp(ci, spc): static in kern_synch.c --------------------------------------------


def _nx_queued(x: Ctx) -> Flow:
    i = x.v("newl")
    if i is None:
        return Goto("idle")
    newl = x.lwp(i)
    sched_dequeue(x.k, newl)
    fail = KASSERT(x, newl.l_cpu == x.ci, "newl->l_cpu == ci")
    if fail:
        return fail
    newl.l_stat = LSONPROC
    newl.l_pflag |= LP_RUNNING
    newl.l_mutex = spc_lwplock(x.ci)
    return Goto("done")


def _nx_idle(x: Ctx) -> Flow:
    newl = x.lwp(x.cpu.ci_idlelwp)
    newl.l_stat = LSONPROC
    newl.l_pflag |= LP_RUNNING
    x.set("newl", newl.idx)
    return None


def _nx_done(x: Ctx) -> Flow:
    cpu = x.cpu
    newl = x.lwp(x.v("newl"))
    cpu.ci_want_resched = 0  # = ci->ci_data.cpu_softints, none modeled
    cpu.spc_flags &= ~SPCF_SWITCHCLEAR
    cpu.spc_curpriority = x.k.lwp_eprio(newl)
    x.l.l_dopreempt = 0  # cpu_did_resched()
    return Ret(newl.idx)


kfunc(
    "nextlwp", FILE,
    S(467, "newl = sched_nextlwp();", lambda x: call("sched_nextlwp", ret="newl")),
    S(468, "if (newl != NULL) { sched_dequeue(newl); newl->l_stat = LSONPROC; ...",
      _nx_queued),
    S(479, "} else { newl = ci->ci_data.cpu_idlelwp; newl->l_stat = LSONPROC; }",
      _nx_idle, label="idle"),
    S(488, "ci->ci_want_resched = 0; spc->spc_curpriority = lwp_eprio(newl);",
      _nx_done, label="done"),
)


# -- kpreempt(): in-kernel preemption, entered from the interrupt return path ------------


def _kp_check(x: Ctx) -> Flow:
    l = x.l
    if l.l_nopreempt != 0 or (l.l_pflag & LP_INTR) or l.l_blcnt != 0:
        return Ret(False)
    return None


def _kp_lock(x: Ctx) -> Flow:
    return None if lwp_lock(x, x.l) else SPIN


kfunc(
    "kpreempt", FILE,
    S(330, "if (l->l_nopreempt != 0 || (l->l_pflag & LP_INTR) || l->l_blcnt) return;",
      _kp_check),
    S(368, "lwp_lock(l);", _kp_lock),
    S(369, "mi_switch(l);", lambda x: call("mi_switch"), label="mi_switch"),
    S(402, "return true;", lambda x: Ret(True)),
)


# -- preempt(): user-return AST ---------------------------------------------------------


def _pr_lock(x: Ctx) -> Flow:
    if not lwp_lock(x, x.l):
        return SPIN
    x.l.l_kpriority = False
    return None


kfunc(
    "preempt", FILE,
    S(288, "lwp_lock(l); l->l_kpriority = false;", _pr_lock),
    S(292, "(void)mi_switch(l);", lambda x: call("mi_switch"), label="mi_switch"),
    S(296, "}", lambda x: Ret()),
)


# -- sched_pstats(): once a second from uvm_scheduler --------------------------------------


def allproc(k: Kernel) -> list[Lwp]:
    """allproc is newest first, pid 0 last; p_lwps newest LWP first."""
    return sorted(
        k.lwps, key=lambda l: (k.proc(l).p_pid == 0, -k.proc(l).p_pid, -l.l_lid))


def _ps_begin(x: Ctx) -> Flow:
    x.set("i", 0)
    return None


def _ps_next(x: Ctx) -> Flow:
    order = [l.idx for l in allproc(x.k)]
    i = x.v("i")
    while i < len(order) and x.lwp(order[i]).l_flag & LW_IDLE:
        i += 1
    x.set("i", i)
    if i >= len(order):
        return Goto("done")
    x.set("l", order[i])
    return None


def _ps_lock(x: Ctx) -> Flow:
    l = x.lwp(x.v("l"))
    if not lwp_lock(x, l):
        return SPIN
    x.set("lk", l.l_mutex)
    l.l_swtime += 1
    return None


def _ps_unlock(x: Ctx) -> Flow:
    mutex_spin_exit(x, x.v("lk"))
    x.set("i", x.v("i") + 1)
    return Goto("next")


kfunc(
    "sched_pstats", FILE,
    S(1125, "mutex_enter(proc_lock); PROCLIST_FOREACH(p, &allproc) {", _ps_begin),
    S(1133, "LIST_FOREACH(l, &p->p_lwps, l_sibling) { if (LW_IDLE) continue;",
      _ps_next, label="next"),
    S(1141, "lwp_lock(l); l->l_swtime++;", _ps_lock),
    S(1144, "sched_lwp_stats(l);", lambda x: call("sched_lwp_stats", l=x.v("l")),
      label="sched_lwp_stats"),
    S(1171, "lwp_unlock(l); }", _ps_unlock),
    S(1196, "mutex_exit(proc_lock); }", lambda x: Ret(), label="done"),
)
