"""sys/kern/kern_synch.c 1.318 (POST) / 1.311 (PRE): mi_switch and friends.

mi_switch() is where the race is decided: an LWP leaving the CPU in
LSONPROC is queued on this CPU, and if sched_lwp_stats() planned a
migration (l_target_cpu) it is handed to the idle loop through
spc_migrating. The 2018 fix adds `(l->l_pflag & LP_BOUND) == 0` to that
test and changes nothing else ([kernel] fix = true).
"""

from __future__ import annotations

from engine.kern_lwp import lwp_lock, lwp_unlock
from engine.kern_runq import dequeue_l, sched_dequeue, spc_lwplock, spc_mutex
from engine.kernel import Kernel, Lwp, lwp_fixed_flags
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
    splraise,
    splx,
)
from engine.param import (
    DOPREEMPT_COUNTED,
    IPL_NONE,
    IPL_SCHED,
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
from engine.x86_machdep import cpu_kpreempt_enter, cpu_need_resched

FILE = "sys/kern/kern_synch.c"

# What runs where a statement has a `fixed` text and [kernel] fix = false: the
# 2018 file with the guard taken out (the 2016 tree, pre/, is not what ran).
FIX_OFF = "kern_synch.c 1.318 with the LP_BOUND guard reverted"
FIX_ON = "kern_synch.c 1.318"


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
    return Goto("lsidl") if lwp_fixed_flags(x.l) & LW_IDLE else None


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


def _ms_did_resched(x: Ctx) -> Flow:
    x.l.l_dopreempt = 0
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


def _ms_ctxswtch_wait(x: Ctx) -> Flow:
    # newl may still be switching away on its old CPU: spin until it is off.
    return SPIN if x.lwp(x.v("newl")).l_ctxswtch else None


def _ms_switchto(x: Ctx) -> Flow:
    return Switch(x.v("newl"))


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
    S(522, "KASSERT(l->l_cpu == curcpu());", _ms_entry),
    S(562, "KASSERT(l->l_stat != LSRUN);", _ms_notrun),
    S(563, "mutex_spin_enter(spc->spc_mutex);", _ms_spc_lock),
    S(568, "if (l->l_stat == LSONPROC && l != newl) {", _ms_onproc),
    S(570, "if ((l->l_flag & LW_IDLE) == 0) {", _ms_idle),
    S(571, "l->l_stat = LSRUN;", _ms_lsrun),
    S(572, "lwp_setlock(l, spc->spc_mutex);", _ms_setlock),
    S(573, "sched_enqueue(l, true);",
      lambda x: call("sched_enqueue", l=x.l.idx, swtch=True)),
    # Without the fix: kern_synch.c 1.318 with the LP_BOUND guard reverted
    # (the 2016 tree's `if (l->l_target_cpu != NULL) {`).
    S(579, "if (l->l_target_cpu != NULL) {", _ms_guard, label="guard",
      fixed="if (l->l_target_cpu != NULL && (l->l_pflag & LP_BOUND) == 0) {"),
    # One step: the KASSERT only reads curlwp's own l_pflag.
    S(581, "KASSERT((l->l_pflag & LP_INTR) == 0); spc->spc_migrating = l;", _ms_migrating),
    S(584, "} else l->l_stat = LSIDL;", _ms_lsidl, label="lsidl"),
    S(590, "newl = nextlwp(ci, spc);",
      lambda x: call("nextlwp", ret="newl"), label="pick"),
    # cpu_did_resched() is empty on x86; both under spc_mutex, on curlwp.
    S(612, "cpu_did_resched(l); l->l_dopreempt = 0;", _ms_did_resched),
    S(626, "if (l != newl) {", _ms_switch_p),
    # The test and the exit it picks: curlwp's l_mutex, which this CPU holds.
    S(630, "if (l->l_mutex == spc->spc_mutex) { mutex_spin_exit(spc->spc_lwplock); "
      "} else { mutex_spin_exit(spc->spc_mutex); }", _ms_release),
    # One step: every field here is curlwp's or this CPU's, and curlwp's lock
    # (held until lwp_unlock) keeps every other CPU from picking it up.
    S(650, "l->l_ctxswtch = 1; l->l_pflag &= ~LP_RUNNING; oldspl = MUTEX_SPIN_OLDSPL(ci); "
      "ci->ci_mtx_count--; lwp_unlock(l);", _ms_ctxswtch),
    S(689, "while (newl->l_ctxswtch) SPINLOCK_BACKOFF(count);", _ms_ctxswtch_wait),
    S(712, "prevlwp = cpu_switchto(l, newl, returning);", _ms_switchto),
    S(744, "KASSERT(l->l_cpu == ci);", _ms_resumed),
    # retval is a local: splx() is what the step does to the CPU.
    S(745, "splx(oldspl); retval = 1;", _ms_splx),
    # Under spc_mutex and curlwp's lock: no other CPU sees between them.
    S(754, "mutex_spin_exit(spc->spc_mutex); lwp_unlock(l); retval = 0;",
      _ms_noswitch, label="noswitch"),
    # The KASSERT reads curlwp's own l_stat; the return changes nothing shared.
    S(760, "KASSERT(l->l_stat == LSONPROC); return retval;", _ms_out, label="out"),
)


# -- nextlwp(ci, spc): static in kern_synch.c --------------------------------------------


def _nx_queued(x: Ctx) -> Flow:
    i = x.v("newl")
    if i is None:
        return Goto("idle")
    newl = x.lwp(i)
    sched_dequeue(x.k, newl)
    fail = KASSERT(x, newl.l_cpu == x.ci, "newl->l_cpu == ci", line=476)
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
    return Ret(newl.idx)


kfunc(
    "nextlwp", FILE,
    S(472, "newl = sched_nextlwp();", lambda x: call("sched_nextlwp", ret="newl")),
    # One step: newl is on this CPU's run queue, under spc_mutex, held here.
    S(473, "if (newl != NULL) { sched_dequeue(newl); KASSERT(newl->l_cpu == ci); "
      "newl->l_stat = LSONPROC; newl->l_pflag |= LP_RUNNING; "
      "lwp_setlock(newl, spc->spc_lwplock); }", _nx_queued),
    # One step: the idle LWP is this CPU's own (only it switches to it).
    S(480, "} else { newl = ci->ci_data.cpu_idlelwp; newl->l_stat = LSONPROC; "
      "newl->l_pflag |= LP_RUNNING; }", _nx_idle, label="idle"),
    # One step: this CPU's schedstate, under spc_mutex.
    S(490, "ci->ci_want_resched = ci->ci_data.cpu_softints; "
      "spc->spc_flags &= ~SPCF_SWITCHCLEAR; spc->spc_curpriority = lwp_eprio(newl); "
      "return newl;", _nx_done, label="done"),
    inline=True,
)


# -- kpreempt(): in-kernel preemption, entered from the interrupt return path ------------


def _kp_loop(x: Ctx) -> Flow:
    dop = x.l.l_dopreempt
    x.set("dop", dop)
    return None if dop != 0 else Goto("out")


def _kp_onproc(x: Ctx) -> Flow:
    if x.l.l_stat != LSONPROC:
        # About to block (or die), let it happen.
        x.l.l_dopreempt = 0
        return Ret(True)
    return None


def _kp_idle(x: Ctx) -> Flow:
    if lwp_fixed_flags(x.l) & LW_IDLE:
        # Can't preempt idle loop, don't count as failure.
        x.l.l_dopreempt = 0
        return Ret(True)
    return None


def _kp_nopreempt(x: Ctx) -> Flow:
    # LWP holds preemption disabled, explicitly.
    return Goto("failed") if x.l.l_nopreempt != 0 else None


def _kp_intr(x: Ctx) -> Flow:
    if x.l.l_pflag & LP_INTR:
        # Can't preempt soft interrupts yet.
        x.l.l_dopreempt = 0
        return Goto("failed")
    return None


def _kp_biglock(x: Ctx) -> Flow:
    # Hold or want kernel_lock, code is not MT safe.
    # It may also be that the IPL is too high: cpu_kpreempt_enter()
    # schedules the softint to retry later.
    if (x.l.l_blcnt != 0 or x.cpu.ci_biglock_wanted is not None
            or not cpu_kpreempt_enter(x.k, x.ci, x.v("s"))):
        splx(x)
        return Goto("failed")
    return None


def _kp_lock(x: Ctx) -> Flow:
    return None if lwp_lock(x, x.l) else SPIN


def _kp_after(x: Ctx) -> Flow:
    # l_nopreempt is raised across splx() and cpu_kpreempt_exit() and
    # dropped again: within this one step nothing can see it raised.
    x.cpu.ci_ilevel = x.v("s")
    return Goto("loop")


def _kp_failed(x: Ctx) -> Flow:
    x.l.l_dopreempt |= DOPREEMPT_COUNTED
    return Ret(True)


kfunc(
    "kpreempt", FILE,
    S(319, "while ((dop = l->l_dopreempt) != 0) {", _kp_loop, label="loop"),
    S(320, "if (l->l_stat != LSONPROC) { l->l_dopreempt = 0; return true; }", _kp_onproc),
    S(330, "if (__predict_false((l->l_flag & LW_IDLE) != 0)) { l->l_dopreempt = 0; "
      "return true; }", _kp_idle),
    S(335, "if (__predict_false(l->l_nopreempt != 0)) { ... break; }", _kp_nopreempt),
    S(343, "if (__predict_false((l->l_pflag & LP_INTR) != 0)) { l->l_dopreempt = 0; "
      "... break; }", _kp_intr),
    S(349, "s = splsched();", splraise(IPL_SCHED)),
    S(350, "if (__predict_false(l->l_blcnt != 0 || curcpu()->ci_biglock_wanted != NULL)) "
      "{ splx(s); ... break; } "
      "if (__predict_false(!cpu_kpreempt_enter(where, s))) { splx(s); ... break; }",
      _kp_biglock),
    S(374, "lwp_lock(l);", _kp_lock),
    S(375, "mi_switch(l);", lambda x: call("mi_switch"), label="mi_switch"),
    S(376, "l->l_nopreempt++; splx(s); cpu_kpreempt_exit(where); l->l_nopreempt--; }",
      _kp_after),
    S(384, "if (__predict_true(!failed)) { return false; }", lambda x: Ret(False),
      label="out"),
    S(389, "atomic_or_uint(&l->l_dopreempt, DOPREEMPT_COUNTED); ... return true;",
      _kp_failed, label="failed"),
)


# -- sched_changepri(l, pri): sched_syncobj's changepri, l's lock held ----------------


def _chp_run(x: Ctx) -> Flow:
    return None if x.lwp(x.v("l")).l_stat == LSRUN else Goto("else")


def _chp_set(x: Ctx) -> Flow:
    x.lwp(x.v("l")).l_priority = x.v("pri")
    return None


def _chp_resched(x: Ctx) -> Flow:
    l = x.lwp(x.v("l"))
    if x.k.lwp_eprio(l) > x.k.cpus[l.l_cpu].spc_curpriority:
        cpu_need_resched(x.k, l.l_cpu, 0)
    return Ret()


kfunc(
    "sched_changepri", FILE,
    S(1051, "if (l->l_stat == LSRUN) {", _chp_run),
    S(1053, "sched_dequeue(l);", dequeue_l),
    S(1054, "l->l_priority = pri;", _chp_set),
    S(1055, "sched_enqueue(l, false);", lambda x: call("sched_enqueue", l=x.v("l"), swtch=False)),
    S(1056, "} else { l->l_priority = pri; }", _chp_set, label="else"),
    # resched_cpu(l) (l.1036-1043), static in this file: modeled in this step.
    S(1059, "resched_cpu(l);", _chp_resched),
)


# -- preempt(): user-return AST ---------------------------------------------------------


def _pr_lock(x: Ctx) -> Flow:
    if not lwp_lock(x, x.l):
        return SPIN
    x.l.l_kpriority = False
    return None


kfunc(
    "preempt", FILE,
    # One step: once curlwp's lock is held, nobody else reads l_kpriority.
    S(290, "lwp_lock(l); l->l_kpriority = false;", _pr_lock),
    S(295, "(void)mi_switch(l);", lambda x: call("mi_switch"), label="mi_switch"),
    S(297, "}", lambda x: Ret()),
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
    while i < len(order) and lwp_fixed_flags(x.lwp(order[i])) & LW_IDLE:
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
    # proc_lock and p_lock are not modeled: only lwp0 walks the lists.
    S(1124, "mutex_enter(proc_lock); PROCLIST_FOREACH(p, &allproc) {", _ps_begin),
    S(1134, "LIST_FOREACH(l, &p->p_lwps, l_sibling) { "
      "if (__predict_false((l->l_flag & LW_IDLE) != 0)) continue;", _ps_next, label="next"),
    # One step: l_swtime is covered by the LWP's lock, taken here.
    S(1140, "lwp_lock(l); l->l_swtime++;", _ps_lock),
    S(1143, "sched_lwp_stats(l);", lambda x: call("sched_lwp_stats", l=x.v("l")),
      label="sched_lwp_stats"),
    S(1159, "lwp_unlock(l);", _ps_unlock),
    S(1212, "mutex_exit(proc_lock);", lambda x: Ret(), label="done"),
)
