"""sys/kern/kern_runq.c 1.47: run queues, sched_takecpu, sched_idle.

The migration machinery of the race: sched_lwp_stats() plans a migration
by setting l_target_cpu (after sched_takecpu() read l_pflag unlocked),
mi_switch() hands the LWP to the idle loop through spc_migrating, and
sched_idle() moves it.
"""

from __future__ import annotations

from engine.kernel import Kernel, Lwp
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
from engine.param import (
    LP_BOUND,
    LSIDL,
    LSONPROC,
    LSRUN,
    LSSLEEP,
    LSSTOP,
    LSSUSPENDED,
    LW_BATCH,
    PRI_COUNT,
    RESCHED_IMMED,
    RESCHED_KPREEMPT,
    RESCHED_LAZY,
    SPCF_OFFLINE,
)
from engine.x86_machdep import cpu_need_resched

FILE = "sys/kern/kern_runq.c"

SCHED_UPREEMPT_PRI = 0  # sched_upreempt_pri (kern_runq.c l.104)


def spc_mutex(ci: int) -> str:
    return f"cpu{ci}.spc_mutex"


def spc_lwplock(ci: int) -> str:
    return f"cpu{ci}.spc_lwplock"


def spc_maxpriority(k: Kernel, ci: int) -> int:
    q = k.cpus[ci].runq
    return k.lwp_eprio(k.lwps[q[0]]) if q else 0


def sched_migratable(k: Kernel, l: Lwp, ci: int) -> bool:
    """sched_migratable() (kern_runq.c l.349-365)."""
    # Is CPU offline?
    if k.cpus[ci].spc_flags & SPCF_OFFLINE:
        return False
    # Is affinity set?
    if l.l_affinity is not None:
        return ci in l.l_affinity
    # Is there a processor-set?
    return k.cpus[ci].spc_psid == l.l_psid


def runq_insert(k: Kernel, l: Lwp) -> None:
    """TAILQ_INSERT_TAIL on the queue of l's priority (highest first)."""
    cpu = k.cpus[l.l_cpu]
    eprio = k.lwp_eprio(l)
    q = list(cpu.runq)
    at = len(q)
    for i, other in enumerate(q):
        if k.lwp_eprio(k.lwps[other]) < eprio:
            at = i
            break
    q.insert(at, l.idx)
    cpu.runq = tuple(q)
    cpu.r_count += 1
    if (l.l_pflag & LP_BOUND) == 0:
        cpu.r_mcount += 1


def sched_dequeue(k: Kernel, l: Lwp) -> None:
    cpu = k.cpus[l.l_cpu]
    cpu.runq = tuple(i for i in cpu.runq if i != l.idx)
    cpu.r_count -= 1
    if (l.l_pflag & LP_BOUND) == 0:
        cpu.r_mcount -= 1
    if cpu.spc_migrating == l.idx:
        cpu.spc_migrating = None


def dequeue_l(x: Ctx) -> Flow:
    """The op of `sched_dequeue(l);`, l in the frame."""
    sched_dequeue(x.k, x.lwp(x.v("l")))
    return None


# -- sched_enqueue(l, swtch) ----------------------------------------------------


def _enq_insert(x: Ctx) -> Flow:
    l = x.lwp(x.v("l"))
    x.set("eprio", x.k.lwp_eprio(l))
    runq_insert(x.k, l)
    return None


def _enq_rticks(x: Ctx) -> Flow:
    l = x.lwp(x.v("l"))
    if x.v("swtch"):
        l.l_rticksum += x.k.hardclock_ticks - l.l_rticks
    elif l.l_rticks == 0:
        l.l_rticks = x.k.hardclock_ticks
    return None


def _enq_resched(x: Ctx) -> Flow:
    l = x.lwp(x.v("l"))
    ci = l.l_cpu
    eprio = x.v("eprio")
    if not x.v("swtch") and eprio > x.k.cpus[ci].spc_curpriority:
        if eprio >= x.k.config.sched_kpreempt_pri:
            kind = RESCHED_KPREEMPT
        elif eprio >= SCHED_UPREEMPT_PRI:
            kind = RESCHED_IMMED
        else:
            kind = RESCHED_LAZY
        cpu_need_resched(x.k, ci, kind)
    return None


kfunc(
    "sched_enqueue", FILE,
    S(222, "ci = l->l_cpu; spc = &ci->ci_schedstate; ci_rq = spc->spc_sched_info;"),
    # One step each: l and the run queue are under spc_mutex, held by the caller.
    S(228, "if (__predict_true(swtch == true)) l->l_rticksum += (hardclock_ticks - l->l_rticks); "
      "else if (l->l_rticks == 0) l->l_rticks = hardclock_ticks;", _enq_rticks),
    S(234, "q_head = sched_getrq(ci_rq, eprio); ... TAILQ_INSERT_TAIL(q_head, l, l_runq); "
      "ci_rq->r_count++; if ((l->l_pflag & LP_BOUND) == 0) ci_rq->r_mcount++; "
      "if (eprio > spc->spc_maxpriority) spc->spc_maxpriority = eprio;", _enq_insert),
    S(264, "if (!swtch && eprio > spc->spc_curpriority) { if (eprio >= sched_kpreempt_pri) "
      "type = RESCHED_KPREEMPT; else if (eprio >= sched_upreempt_pri) type = RESCHED_IMMED; "
      "else type = RESCHED_LAZY; cpu_need_resched(ci, type); }", _enq_resched),
    S(273, "}", lambda x: Ret()),
)


# -- sched_takecpu(l) ----------------------------------------------------------


def _tc_bound(x: Ctx) -> Flow:
    l = x.lwp(x.v("l"))
    x.set("ci", l.l_cpu)
    # The one LP_BOUND test on the migration path: an unlocked read of
    # another CPU's l_pflag ("!" field in lwp.h).
    if l.l_pflag & LP_BOUND:
        return Ret(l.l_cpu)
    return None


def _tc_empty(x: Ctx) -> Flow:
    ci = x.v("ci")
    # Make sure that thread is in appropriate processor-set (l.390): if
    # not, neither stay test applies; eprio = lwp_eprio(l) (l.404).
    if x.k.cpus[ci].spc_psid != x.lwp(x.v("l")).l_psid:
        x.set("eprio", x.k.lwp_eprio(x.lwp(x.v("l"))))
        return Goto("local")
    if x.k.cpus[ci].r_count == 0:
        return Ret(ci)
    return None


def _tc_hot(x: Ctx) -> Flow:
    l = x.lwp(x.v("l"))
    ci = x.v("ci")
    eprio = x.k.lwp_eprio(l)
    x.set("eprio", eprio)
    if l.l_stat != LSIDL and x.k.lwp_cache_hot(l) and eprio >= x.k.cpus[ci].spc_curpriority:
        return Ret(ci)
    return None


def _tc_local(x: Ctx) -> Flow:
    l = x.lwp(x.v("l"))
    eprio = x.v("eprio")
    if eprio > x.cpu.spc_curpriority and sched_migratable(x.k, l, x.ci):
        return Ret(x.ci)
    return None


def _tc_scan(x: Ctx) -> Flow:
    k = x.k
    l = x.lwp(x.v("l"))
    pivot = l.l_cpu
    tci = pivot
    lpri = PRI_COUNT
    best_count = k.cpus[pivot].r_count
    ci = pivot
    while True:
        cpu = k.cpus[ci]
        pri = max(cpu.spc_curpriority, spc_maxpriority(k, ci))
        if not (pri > lpri or (pri == lpri and best_count < cpu.r_count)):
            if sched_migratable(k, l, ci):
                lpri, tci, best_count = pri, ci, cpu.r_count
        ci = (ci + 1) % len(k.cpus)
        if ci == pivot:
            break
    x.set("tci", tci)
    return None


kfunc(
    "sched_takecpu", FILE,
    # l_cpu is covered by l's lock (held by the caller); the LP_BOUND read
    # beside it is the race's one unlocked read.
    S(382, "ci = l->l_cpu; if (l->l_pflag & LP_BOUND) return ci;", _tc_bound, label="bound"),
    # One step with the processor-set test of l.390 around it.
    S(392, "if (ci_rq->r_count == 0) { ci_rq->r_ev_stay.ev_count++; return ci; }", _tc_empty),
    S(397, "eprio = lwp_eprio(l); if (__predict_true(l->l_stat != LSIDL) && lwp_cache_hot(l) "
      "&& eprio >= spc->spc_curpriority) { ci_rq->r_ev_stay.ev_count++; return ci; }", _tc_hot),
    S(408, "ci = curcpu(); spc = &ci->ci_schedstate; if (eprio > spc->spc_curpriority && "
      "sched_migratable(l, ci)) { ... return ci; }", _tc_local, label="local"),
    # Simplified: the scan reads every CPU's priorities in one step (the
    # real loop reads them one CPU at a time, also without their locks).
    S(420, "pivot = l->l_cpu; ci = pivot; tci = pivot; lpri = PRI_COUNT; do { ... "
      "pri = MAX(spc->spc_curpriority, spc->spc_maxpriority); ... } "
      "while (ci = next, ci != pivot);", _tc_scan),
    S(449, "return tci;", lambda x: Ret(x.v("tci"))),
)


# -- sched_catchlwp(ci): steal from another CPU's queue -----------------------------


def _cl_min(x: Ctx) -> Flow:
    ci = x.v("ci")
    if x.k.cpus[ci].r_mcount < x.k.config.min_catch:
        mutex_spin_exit(x, spc_mutex(ci))
        return Ret(None)
    return None


def _cl_pick(x: Ctx) -> Flow:
    from engine.subr_prf import KASSERTMSG

    k = x.k
    ci = x.v("ci")
    q = k.cpus[ci].runq
    top = spc_maxpriority(k, ci)
    # Take the highest priority thread: only the spc_maxpriority queue.
    for i in q:
        l = k.lwps[i]
        if k.lwp_eprio(l) != top:
            break
        fail = KASSERTMSG(x, l.l_stat == LSRUN, "l->l_stat == LSRUN",
                          "cpu%d l %#x (%s) l_stat %d" % (ci, l.addr, k.proc(l).p_comm, l.l_stat),
                          line=485)
        if fail:
            return fail
        # Look for threads, whose are allowed to migrate.
        if (l.l_pflag & LP_BOUND) or k.lwp_cache_hot(l) or not sched_migratable(k, l, x.ci):
            continue
        x.set("l", i)
        return None
    return Goto("none")


def _cl_ctxswtch(x: Ctx) -> Flow:
    # If LWP is still context switching, we may need to spin-wait before
    # changing its CPU.
    return SPIN if x.lwp(x.v("l")).l_ctxswtch else None


def _cl_move(x: Ctx) -> Flow:
    l = x.lwp(x.v("l"))
    old = l.l_mutex
    l.l_cpu = x.ci
    l.l_mutex = spc_mutex(x.ci)
    mutex_spin_exit(x, old)
    return None


def _cl_none(x: Ctx) -> Flow:
    mutex_spin_exit(x, spc_mutex(x.v("ci")))
    return Ret(None)


kfunc(
    "sched_catchlwp", FILE,
    S(469, "if (ci_rq->r_mcount < min_catch) { spc_unlock(ci); return NULL; }", _cl_min),
    # One step: the queue is under ci's spc_mutex, which the caller holds.
    S(475, "q_head = sched_getrq(ci_rq, spc->spc_maxpriority); l = TAILQ_FIRST(q_head); "
      "for (;;) { if (l == NULL) break; KASSERTMSG(l->l_stat == LSRUN, ...); "
      "if ((l->l_pflag & LP_BOUND) || lwp_cache_hot(l) || !sched_migratable(l, curci)) "
      "{ l = TAILQ_NEXT(l, l_runq); continue; }", _cl_pick),
    S(495, "sched_dequeue(l);", dequeue_l),
    S(504, "while (l->l_ctxswtch) SPINLOCK_BACKOFF(count);", _cl_ctxswtch),
    # One step: l is off every run queue and its lock is held here.
    S(507, "l->l_cpu = curci; ci_rq->r_ev_pull.ev_count++; lwp_unlock_to(l, curspc->spc_mutex);",
      _cl_move),
    S(510, "sched_enqueue(l, false);", lambda x: call("sched_enqueue", l=x.v("l"), swtch=False)),
    S(511, "return l;", lambda x: Ret(x.v("l"))),
    S(513, "spc_unlock(ci); ... return l;", _cl_none, label="none"),
)


AVERAGE_WEIGHT = 50  # average_weight: weight of the historical average, 0.5 (l.143)


def balance_period(k: Kernel) -> int:
    """balance_period = mstohz(300) (runq_init, l.138)."""
    return max(1, 300 * k.config.hz // 1000)


def sched_balance(k: Kernel, ci: int) -> None:
    """sched_balance() (kern_runq.c l.521-558): lockless counting on every
    CPU, a fixpoint average with 8 fractional bits; worker_ci = the CPU
    with the highest average (curcpu() if none is above 0)."""
    weight = min(AVERAGE_WEIGHT, 100)
    hci, highest = ci, 0
    for cpu in k.cpus:
        cpu.r_avgcount = (weight * cpu.r_avgcount
                          + (100 - weight) * 256 * cpu.r_mcount) // 100
        if cpu.r_avgcount > highest:
            hci, highest = cpu.ci_index, cpu.r_avgcount
    k.worker_ci = hci


# -- sched_idle(): the idle loop performs the planned migration ----------------------


def _si_check(x: Ctx) -> Flow:
    x.set("dlock", False)
    x.set("tci", None)
    if x.cpu.spc_migrating is None:
        return Goto("no_migration")
    return None


def _si_lock(x: Ctx) -> Flow:
    return None if mutex_spin_enter(x, spc_mutex(x.ci)) else SPIN


def _si_loop(x: Ctx) -> Flow:
    m = x.cpu.spc_migrating
    if m is None:
        return Goto("unlock")
    x.set("l", m)
    return None


def _si_retry(x: Ctx) -> Flow:
    l = x.lwp(x.v("l"))
    if x.v("dlock") and x.v("tci") != l.l_target_cpu:
        mutex_spin_exit(x, spc_mutex(x.v("tci")))
        x.set("dlock", False)
    return None


def _si_target(x: Ctx) -> Flow:
    l = x.lwp(x.v("l"))
    tci = l.l_target_cpu
    x.set("tci", tci)
    if tci is None or tci == x.ci:
        x.cpu.spc_migrating = None
        l.l_target_cpu = None
        return Goto("unlock")
    return None


def _si_dlock(x: Ctx) -> Flow:
    if x.v("dlock"):
        return Goto("migrate")
    tci = x.v("tci")
    # `ci < tci` compares the struct cpu_info pointers.
    if x.cpu.addr < x.k.cpus[tci].addr:
        if not mutex_spin_enter(x, spc_mutex(tci)):
            return SPIN
        x.set("dlock", True)
        return Goto("migrate")
    if mutex_spin_enter(x, spc_mutex(tci)):
        x.set("dlock", True)
        return Goto("migrate")
    x.set("dlock", True)
    mutex_spin_exit(x, spc_mutex(x.ci))
    return None


def _si_lock_tci(x: Ctx) -> Flow:
    return None if mutex_spin_enter(x, spc_mutex(x.v("tci"))) else SPIN


def _si_relock(x: Ctx) -> Flow:
    # Check the situation again.
    return Goto("loop") if mutex_spin_enter(x, spc_mutex(x.ci)) else SPIN


def _si_kassert(x: Ctx) -> Flow:
    from engine.subr_prf import KASSERT

    return KASSERT(x, x.lwp(x.v("l")).l_stat == LSRUN, "l->l_stat == LSRUN")


def _si_clear(x: Ctx) -> Flow:
    x.cpu.spc_migrating = None
    x.lwp(x.v("l")).l_target_cpu = None
    return None


def _si_move(x: Ctx) -> Flow:
    x.lwp(x.v("l")).l_cpu = x.v("tci")
    return None


def _si_setlock(x: Ctx) -> Flow:
    x.lwp(x.v("l")).l_mutex = spc_mutex(x.v("tci"))
    return None


def _si_unlock(x: Ctx) -> Flow:
    if x.v("dlock"):
        mutex_spin_exit(x, spc_mutex(x.v("tci")))
    mutex_spin_exit(x, spc_mutex(x.ci))
    return None


def _si_nomig(x: Ctx) -> Flow:
    if (x.cpu.spc_flags & SPCF_OFFLINE) or x.cpu.r_count != 0:
        return Ret()
    return None


def _si_balance(x: Ctx) -> Flow:
    x.cpu.r_avgcount = 0
    sched_balance(x.k, x.ci)
    tci = x.k.worker_ci
    x.set("tci", tci)
    if tci == x.ci or x.cpu.spc_psid != x.k.cpus[tci].spc_psid:
        return Ret()
    return None


def _si_dlock2(x: Ctx) -> Flow:
    # spc_dlock(): the lower struct cpu_info address first.
    a, b = sorted((x.ci, x.v("tci")), key=lambda i: x.k.cpus[i].addr)
    for ci in (a, b):
        owner = x.k.locks.get(spc_mutex(ci))
        if owner is not None and owner != x.ci:
            return SPIN
    mutex_spin_enter(x, spc_mutex(a))
    mutex_spin_enter(x, spc_mutex(b))
    return None


def _si_done(x: Ctx) -> Flow:
    mutex_spin_exit(x, spc_mutex(x.ci))
    return Ret()


kfunc(
    "sched_idle", FILE,
    S(577, "if (spc->spc_migrating == NULL) goto no_migration;", _si_check),
    S(580, "spc_lock(ci);", _si_lock),
    # Each step below that holds several statements runs with spc_mutex of
    # this CPU (and of tci once dlock is set) held: no other CPU sees between.
    S(584, "l = spc->spc_migrating; if (l == NULL) break;", _si_loop, label="loop"),
    S(592, "if (dlock == true && tci != l->l_target_cpu) { KASSERT(tci != NULL); "
      "spc_unlock(tci); dlock = false; }", _si_retry),
    S(602, "tci = l->l_target_cpu; if (tci == NULL || tci == ci) { "
      "spc->spc_migrating = NULL; l->l_target_cpu = NULL; break; }", _si_target),
    S(614, "if (dlock == false) { dlock = true; if (ci < tci) { spc_lock(tci); } "
      "else if (!mutex_tryenter(tspc->spc_mutex)) { spc_unlock(ci);", _si_dlock),
    S(620, "spc_lock(tci);", _si_lock_tci),
    S(621, "spc_lock(ci); continue;", _si_relock),
    S(628, "KASSERT(l->l_stat == LSRUN);", _si_kassert, label="migrate"),
    S(629, "spc->spc_migrating = NULL; l->l_target_cpu = NULL;", _si_clear),
    S(631, "sched_dequeue(l);", dequeue_l),
    S(632, "l->l_cpu = tci;", _si_move),
    S(633, "lwp_setlock(l, tspc->spc_mutex);", _si_setlock),
    S(634, "sched_enqueue(l, false);", lambda x: call("sched_enqueue", l=x.v("l"), swtch=False)),
    S(637, "if (dlock == true) { KASSERT(tci != NULL); spc_unlock(tci); } spc_unlock(ci);",
      _si_unlock, label="unlock"),
    S(644, "ci_rq = spc->spc_sched_info; if ((spc->spc_flags & SPCF_OFFLINE) != 0 || "
      "ci_rq->r_count != 0) { return; }", _si_nomig, label="no_migration"),
    # Simplified: sched_balance() is modeled inside this one step.
    S(650, "ci_rq->r_avgcount = 0; sched_balance(ci); tci = worker_ci; "
      "tspc = &tci->ci_schedstate; if (ci == tci || spc->spc_psid != tspc->spc_psid) return;",
      _si_balance),
    S(656, "spc_dlock(ci, tci);", _si_dlock2),
    S(657, "(void)sched_catchlwp(tci);", lambda x: call("sched_catchlwp", ci=x.v("tci"))),
    S(658, "spc_unlock(ci);", _si_done),
)


# -- sched_lwp_stats(l): plans the migration of a CPU hog ------------------------------


def _ls_slptime(x: Ctx) -> Flow:
    l = x.lwp(x.v("l"))
    if l.l_stat in (LSSLEEP, LSSTOP, LSSUSPENDED):
        l.l_slptime += 1
    return None


def _ls_batch(x: Ctx) -> Flow:
    l = x.lwp(x.v("l"))
    batch = l.l_rticksum > l.l_slpticksum
    if batch:
        if (l.l_flag & LW_BATCH) == 0:
            batch = False
        l.l_flag |= LW_BATCH
    else:
        l.l_flag &= ~LW_BATCH
    x.set("batch", batch)
    return None


def _ls_hog(x: Ctx) -> Flow:
    l = x.lwp(x.v("l"))
    if x.v("batch") and (l.l_slptime + l.l_slpticksum) == 0:
        return None
    return Goto("reset")


def _ls_slpticks(x: Ctx) -> Flow:
    return None if x.lwp(x.v("l")).l_slpticks == 0 else Goto("arm")


def _ls_untargeted(x: Ctx) -> Flow:
    l = x.lwp(x.v("l"))
    if l.l_target_cpu is None and l.l_stat in (LSRUN, LSONPROC):
        return None
    return Goto("unbatch")


def _ls_target(x: Ctx) -> Flow:
    l = x.lwp(x.v("l"))
    ci = x.v("ci")
    # No LP_BOUND test here: a target planned now survives a later bind.
    l.l_target_cpu = ci if ci != l.l_cpu else None
    return None


def _ls_unbatch(x: Ctx) -> Flow:
    x.lwp(x.v("l")).l_flag &= ~LW_BATCH
    return Goto("reset")


def _ls_arm(x: Ctx) -> Flow:
    x.lwp(x.v("l")).l_slpticks = 0
    return None


def _ls_reset(x: Ctx) -> Flow:
    l = x.lwp(x.v("l"))
    l.l_slpticksum = 0
    l.l_rticksum = 0
    return None


kfunc(
    "sched_lwp_stats", FILE,
    S(692, "if (l->l_stat == LSSLEEP || l->l_stat == LSSTOP || l->l_stat == LSSUSPENDED) "
      "l->l_slptime++;", _ls_slptime),
    # One step: l's fields, under l's lock (held by sched_pstats).
    S(700, "batch = (l->l_rticksum > l->l_slpticksum); if (batch != 0) { "
      "if ((l->l_flag & LW_BATCH) == 0) batch = 0; l->l_flag |= LW_BATCH; } "
      "else l->l_flag &= ~LW_BATCH;", _ls_batch),
    S(713, "if (batch && (l->l_slptime + l->l_slpticksum) == 0) {", _ls_hog),
    S(714, "if (l->l_slpticks == 0) {", _ls_slpticks),
    S(715, "if (l->l_target_cpu == NULL && (l->l_stat == LSRUN || l->l_stat == LSONPROC)) {",
      _ls_untargeted),
    S(717, "struct cpu_info *ci = sched_takecpu(l);",
      lambda x: call("sched_takecpu", ret="ci", l=x.v("l")), label="takecpu"),
    S(718, "l->l_target_cpu = (ci != l->l_cpu) ? ci : NULL;", _ls_target),
    S(720, "l->l_flag &= ~LW_BATCH;", _ls_unbatch, label="unbatch"),
    S(721, "} else { l->l_slpticks = 0; }", _ls_arm, label="arm"),
    # One step: both sums are l's, under l's lock.
    S(727, "l->l_slpticksum = 0; l->l_rticksum = 0;", _ls_reset, label="reset"),
    S(731, "sched_pstats_hook(l, batch);",
      lambda x: call("sched_pstats_hook", l=x.v("l"), batch=x.v("batch"))),
    S(735, "}", lambda x: Ret()),
)


# -- sched_nextlwp(): the scheduler mill --------------------------------------------


def _nl_migrating(x: Ctx) -> Flow:
    # Return to idle LWP if there is a migrating thread.
    return Ret(None) if x.cpu.spc_migrating is not None else None


def _nl_empty(x: Ctx) -> Flow:
    return None if x.cpu.r_count == 0 else Goto("take")


def _nl_balance(x: Ctx) -> Flow:
    if x.cpu.spc_flags & SPCF_OFFLINE:
        return Ret(None)
    x.cpu.r_avgcount = 0
    sched_balance(x.k, x.ci)
    x.set("cci", x.k.worker_ci)
    return None


def _nl_trylock(x: Ctx) -> Flow:
    cci = x.v("cci")
    if (cci == x.ci or x.cpu.spc_psid != x.k.cpus[cci].spc_psid
            or x.k.locks.get(spc_mutex(cci)) is not None):
        return Ret(None)
    mutex_spin_enter(x, spc_mutex(cci))
    return None


def _nl_take(x: Ctx) -> Flow:
    i = x.cpu.runq[0]
    x.k.lwps[i].l_rticks = x.k.hardclock_ticks
    return Ret(i)


kfunc(
    "sched_nextlwp", FILE,
    S(751, "if (__predict_false(spc->spc_migrating != NULL)) return NULL;", _nl_migrating),
    S(757, "if (__predict_false(ci_rq->r_count == 0)) {", _nl_empty),
    # Simplified: sched_balance() is modeled inside this one step.
    S(762, "if (__predict_false(spc->spc_flags & SPCF_OFFLINE)) return NULL; "
      "ci_rq->r_avgcount = 0; sched_balance(ci); cci = worker_ci;", _nl_balance),
    S(770, "if (ci == cci || spc->spc_psid != cspc->spc_psid || "
      "!mutex_tryenter(cci->ci_schedstate.spc_mutex)) return NULL;", _nl_trylock),
    S(773, "return sched_catchlwp(cci);",
      lambda x: call("sched_catchlwp", ret="l", ci=x.v("cci"))),
    S(773, "return sched_catchlwp(cci);", lambda x: Ret(x.v("l"))),
    # One step: this CPU's run queue, under its spc_mutex (held by mi_switch).
    S(782, "q_head = sched_getrq(ci_rq, spc->spc_maxpriority); l = TAILQ_FIRST(q_head); "
      "KASSERT(l != NULL); sched_oncpu(l); l->l_rticks = hardclock_ticks; return l;",
      _nl_take, label="take"),
)


def sched_curcpu_runnable_p(k: Kernel, ci: int) -> bool:
    return k.cpus[ci].r_count != 0

