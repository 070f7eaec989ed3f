"""Scheduler decisions as the 2018 sources make them, one test per decision.

Each docstring cites the lines of ../shared/reference/netbsd-src/post it
follows.
"""

from __future__ import annotations

from engine.init_main import boot
from engine.kern_runq import AVERAGE_WEIGHT, balance_period, sched_balance, spc_mutex
from engine.kernel import Frame, Kernel
from engine.machine import FUNCS, deliver, invoke, step
from engine.param import (
    IPL_CLOCK,
    LP_BOUND,
    LSRUN,
    LSSLEEP,
    PRI_KERNEL,
    RESCHED_KPREEMPT,
    SPCF_SEENRR,
)
from engine.scenario import load, load_text
from engine.x86_machdep import cpu_need_resched
from tests.conftest import lwp, scenario_text


def kernel(ncpu: int, lwps: str, extra: str = "") -> Kernel:
    return boot(load_text(scenario_text(ncpu=ncpu, lwps=lwps, extra=extra), "t.toml"))


def idx(k: Kernel, pid: int) -> int:
    return next(l.idx for l in k.lwps if k.proc(l).p_pid == pid)


def queue(k: Kernel, ci: int, pid: int) -> None:
    """Put pid's LWP on ci's run queue as sched_enqueue() would."""
    from engine.kern_runq import runq_insert

    l = k.lwps[idx(k, pid)]
    l.l_cpu, l.l_stat, l.l_mutex = ci, LSRUN, spc_mutex(ci)
    runq_insert(k, l)


def test_catchlwp_looks_only_at_the_highest_priority_queue() -> None:
    """kern_runq.c l.474-492: q_head = sched_getrq(ci_rq, spc->spc_maxpriority);
    only that queue is walked, and bound or cache-hot LWPs in it are skipped:
    a migratable LWP of lower priority behind them is left alone."""
    k = kernel(2, lwp(100, 1, "top", 0, "hog", priority=50)
               + lwp(101, 1, "low", 0, "hog", priority=10))
    queue(k, 1, 100)
    queue(k, 1, 101)
    k.lwps[idx(k, 100)].l_pflag |= LP_BOUND
    k.locks[spc_mutex(1)] = 0  # spc_dlock(ci, tci) by the caller, CPU 0
    k.locks[spc_mutex(0)] = 0
    k, caught = invoke(k, 0, "sched_catchlwp", ci=1)
    assert caught is None
    assert k.cpus[1].runq == (idx(k, 100), idx(k, 101))
    # Unbound, the top LWP is taken.
    k.lwps[idx(k, 100)].l_pflag &= ~LP_BOUND
    k.locks[spc_mutex(1)] = 0
    k, caught = invoke(k, 0, "sched_catchlwp", ci=1)
    assert caught == idx(k, 100) and k.lwps[caught].l_cpu == 0


def test_catchlwp_dequeues_before_spinning_on_l_ctxswtch() -> None:
    """kern_runq.c l.495-506: sched_dequeue(l) comes first; then, while the
    LWP is still context switching, the CPU spins before changing l_cpu."""
    names = [s.text for s in FUNCS["sched_catchlwp"].stmts]
    assert names.index("sched_dequeue(l);") < names.index(
        "while (l->l_ctxswtch) SPINLOCK_BACKOFF(count);")


def test_sched_balance_weighted_fixpoint_average() -> None:
    """kern_runq.c l.531-548: weight = MIN(average_weight, 100) with
    average_weight = 50 (l.143); r_avgcount = (weight * r_avgcount +
    (100 - weight) * 256 * r_mcount) / 100; worker_ci = the highest."""
    k = kernel(3, lwp(100, 1, "a", 0, "hog") + lwp(101, 1, "b", 0, "hog")
               + lwp(102, 1, "c", 0, "hog"))
    queue(k, 2, 100)
    queue(k, 2, 101)
    queue(k, 1, 102)
    k.cpus[1].r_avgcount = 1000
    sched_balance(k, 0)
    assert AVERAGE_WEIGHT == 50
    assert k.cpus[2].r_avgcount == (50 * 0 + 50 * 256 * 2) // 100 == 256
    assert k.cpus[1].r_avgcount == (50 * 1000 + 50 * 256 * 1) // 100 == 628
    assert k.worker_ci == 1


def test_balance_callout_runs_every_balance_period_on_the_boot_cpu() -> None:
    """kern_runq.c l.138 and l.145-149: balance_period = mstohz(300), the
    balance_ch callout scheduled on the boot CPU; sched_balance(NULL)
    reschedules it (l.560-561). At hz = 100 that is every 30 ticks."""
    k = kernel(2, lwp(100, 1, "a", 1, "hog") + lwp(101, 1, "b", 1, "hog"))
    queue(k, 1, 101)
    assert balance_period(k) == 30
    start = k.hardclock_ticks
    seen = []
    for _ in range(61):
        before = k.cpus[1].r_avgcount
        k = deliver(k, 0, "hardclock", IPL_CLOCK)
        if k.cpus[1].r_avgcount != before:
            seen.append(k.hardclock_ticks - start)
    assert seen == [30, 60]
    # Another CPU's clock runs no balance_ch.
    before = k.cpus[1].r_avgcount
    for _ in range(40):
        k = deliver(k, 1, "hardclock", IPL_CLOCK)
    assert k.cpus[1].r_avgcount == before


def test_lwp_migrate_with_a_pending_target_only_retargets() -> None:
    """kern_lwp.c l.1331-1335: with l_target_cpu != NULL, lwp_migrate sets
    the new target, unlocks and returns, whatever the LWP's state."""
    k = kernel(3, lwp(100, 1, "t", 0, "hog"))
    l = k.lwps[idx(k, 100)]
    l.l_target_cpu, l.l_stat, l.l_wchan = 1, LSSLEEP, "x"
    k.locks["sleepq"] = 2
    l.l_mutex = "sleepq"
    k, _ = invoke(k, 2, "lwp_migrate", l=l.idx, tci=2, lk="sleepq")
    l = k.lwps[idx(k, 100)]
    assert (l.l_target_cpu, l.l_cpu) == (2, 0)  # asleep, yet l_cpu untouched
    assert "sleepq" not in k.locks


def test_setaffinity_sets_l_affinity_honoured_by_takecpu_and_catchlwp() -> None:
    """sys_sched.c l.456-457: t->l_affinity = kcset; lwp_migrate(t, ci).
    kern_runq.c l.359-361: sched_migratable() answers from l_affinity, which
    sched_takecpu (l.410, l.438) and sched_catchlwp (l.488-489) ask."""
    text = scenario_text(ncpu=3, lwps=lwp(100, 1, "t", 0, "hog")
                         + lwp(101, 1, "hog", 0, "hog")
                         + lwp(200, 1, "cpuctl", 1, "setaffinity", target="100.1", to_cpu=1))
    k = boot(load_text(text, "t.toml"))
    for _ in range(200):
        k = step(k, 1)
        if k.lwps[idx(k, 100)].l_affinity is not None:
            break
    assert k.lwps[idx(k, 100)].l_affinity == (1,)
    # takecpu: CPU 2 is idle, but only CPU 1 is allowed.
    k.lwps[idx(k, 100)].l_rticks = 0
    _, ci = invoke(k, 1, "sched_takecpu", l=idx(k, 100))
    assert ci in (0, 1) and ci != 2
    # catchlwp from CPU 2 leaves it alone.
    k2 = k.copy()
    queue(k2, 0, 100)
    k2.locks[spc_mutex(0)] = 2
    k2.locks[spc_mutex(2)] = 2
    k2, caught = invoke(k2, 2, "sched_catchlwp", ci=0)
    assert caught != idx(k2, 100)


def test_hardclock_runs_sched_tick_before_it_advances_the_clock() -> None:
    """kern_clock.c l.235-252: schedclock() every hardscheddiv ticks, then
    --spc_ticks and sched_tick(), then the primary CPU's hardclock_ticks++,
    then callout_hardclock()."""
    lines = [s.line for s in FUNCS["hardclock"].stmts]
    assert lines[:6] == [236, 237, 238, 241, 244, 252]
    k = kernel(2, lwp(100, 1, "a", 0, "hog"))
    t = k.hardclock_ticks
    k = deliver(k, 1, "hardclock", IPL_CLOCK)
    assert k.hardclock_ticks == t  # only CPU 0 counts
    k = deliver(k, 0, "hardclock", IPL_CLOCK)
    assert k.hardclock_ticks == t + 1


def test_user_return_preemption_is_trap_astflt_and_clears_l_kpriority() -> None:
    """trap.c l.424-435: T_ASTFLT|T_USER: if (curcpu()->ci_want_resched)
    preempt(); kern_synch.c l.290-295: preempt() clears l_kpriority and
    calls mi_switch()."""
    from engine.param import RESCHED_IMMED

    k = boot(load("seed-race"))  # tcpdump at its program's first statement
    l = k.curlwp(0)
    assert FUNCS[l.stack[-1].func].user
    l.l_kpriority = True
    cpu_need_resched(k, 0, RESCHED_IMMED)
    k = step(k, 0)
    assert k.curlwp(0).stack[-1].func == "trap"
    while k.curlwp(0).idx == idx(k, 15571) and k.curlwp(0).stack[-1].func != "mi_switch":
        k = step(k, 0)
    assert k.lwps[idx(k, 15571)].l_kpriority is False
    assert [fr.func for fr in k.lwps[idx(k, 15571)].stack][-3:] == ["trap", "preempt", "mi_switch"]


def test_kernel_preemption_request_in_user_mode_calls_preempt() -> None:
    """x86_machdep.c l.315-323: RESCHED_KPREEMPT sets l_dopreempt and
    triggers the preemption softint; amd64 spl.S l.189-201: Xresume_preempt
    finds user mode and calls preempt(), not kpreempt()."""
    k = boot(load("seed-race"))
    cpu_need_resched(k, 0, RESCHED_KPREEMPT)
    k = step(k, 0)
    assert [fr.func for fr in k.curlwp(0).stack] == ["ioctl_user", "preempt"]


def test_mi_userret_sets_curpriority_to_the_user_priority() -> None:
    """userret.h l.93-104 (__HAVE_PREEMPTION): l_kpriority = false, then
    cpu_set_curpri(l->l_priority)."""
    k = kernel(1, lwp(100, 1, "a", 0, "hog"))
    k.cpus[0].spc_curpriority = PRI_KERNEL
    k.curlwp(0).l_kpriority = True
    k, _ = invoke(k, 0, "mi_userret")
    assert k.cpus[0].spc_curpriority == k.curlwp(0).l_priority
    assert k.curlwp(0).l_kpriority is False


def test_double_lock_order_is_by_cpu_info_address() -> None:
    """kern_runq.c l.614-618: `if (ci < tci) spc_lock(tci); else if
    (!mutex_tryenter(...))` compares struct cpu_info pointers. cpu0 is
    cpu_info_primary, in the kernel image, above the others (kmem): cpu3's
    idle loop moving an LWP to cpu0 takes cpu0's lock with spc_lock and
    spins while another CPU holds it (by index it would try and back off)."""
    k = kernel(4, lwp(100, 1, "a", 0, "hog"))
    assert k.cpus[0].addr > k.cpus[3].addr > k.cpus[2].addr > k.cpus[1].addr
    at = next(i for i, st in enumerate(FUNCS["sched_idle"].stmts)
              if st.text.startswith("if (dlock == false) {"))
    idle3 = k.lwps[k.cpus[3].ci_idlelwp]
    idle3.stack = (Frame("sched_idle", at, (("dlock", False), ("l", 0), ("tci", 0))),)
    k.locks[spc_mutex(3)] = 3
    k.cpus[3].ci_mtx_count = 1
    k.locks[spc_mutex(0)] = 1  # held by CPU 1
    after = step(k, 3)
    assert after is k  # spins in spc_lock(tci), its own lock still held
    k.locks.pop(spc_mutex(0))
    after = step(k, 3)
    assert after.locks[spc_mutex(0)] == 3 and after.locks[spc_mutex(3)] == 3


def test_idle_lwps_are_bound() -> None:
    """kern_idle.c l.109-110: kthread_create(PRI_IDLE, KTHREAD_MPSAFE |
    KTHREAD_IDLE, ci, ...), and kern_kthread.c l.112-118: with a CPU,
    l->l_pflag |= LP_BOUND."""
    k = kernel(3, lwp(100, 1, "a", 0, "hog"))
    for c in k.cpus:
        assert k.lwps[c.ci_idlelwp].l_pflag & LP_BOUND


def test_sched_tick_after_rrticks_ticks() -> None:
    """sched_4bsd.c l.110 spc_ticks = rrticks, with rrticks = hz / 10
    (l.537) by default: the first round-robin mark after 10 ticks at hz 100."""
    k = boot(load_text(scenario_text(ncpu=1, lwps=lwp(100, 1, "a", 0, "hog"),
                                     extra="rrticks = 10"), "t.toml"))
    k = step(k, 0)
    for _ in range(9):
        k = deliver(k, 0, "hardclock", IPL_CLOCK)
    assert not k.cpus[0].spc_flags & SPCF_SEENRR
    k = deliver(k, 0, "hardclock", IPL_CLOCK)
    assert k.cpus[0].spc_flags & SPCF_SEENRR
    plain = load_text(scenario_text(ncpu=1, lwps=lwp(100, 1, "a", 0, "hog"),
                                    extra="rrticks = 10").replace("rrticks = 10", ""), "t.toml")
    assert plain.rrticks == plain.hz // 10 == 10


def test_schedclock_charges_the_running_lwp_every_hardscheddiv_ticks() -> None:
    """kern_clock.c l.192 hardscheddiv = hz / 16, l.235-239 schedclock(l)
    when --spc_schedticks reaches 0; sched_4bsd.c l.415 l_estcpu +=
    ESTCPU_ACCUM (1 << 10); l.388 pri = (PRI_KERNEL - 1) - (l_estcpu >> 11)
    - p_nice: a running SCHED_OTHER LWP loses a level every 2 schedclocks."""
    from engine.kern_clock import hardscheddiv
    from engine.param import ESTCPU_ACCUM

    k = kernel(1, lwp(100, 1, "a", 0, "hog", priority=43))
    a = idx(k, 100)
    assert hardscheddiv(k) == 6
    assert k.lwps[a].l_estcpu == 0 and k.proc(k.lwps[a]).p_nice == 20
    charged = []
    for _ in range(13):
        before = k.lwps[a].l_estcpu
        k = deliver(k, 0, "hardclock", IPL_CLOCK)
        if k.lwps[a].l_estcpu != before:
            charged.append(k.lwps[a].l_estcpu)
    # spc_schedticks starts at 0 (as at boot): ticks 1, 7 and 13.
    assert charged == [ESTCPU_ACCUM, 2 * ESTCPU_ACCUM, 3 * ESTCPU_ACCUM]
    assert k.lwps[a].l_priority == 63 - (3 * ESTCPU_ACCUM >> 11) - 20 == 42


def test_sched_pstats_hook_decays_by_the_load_and_requeues() -> None:
    """sched_4bsd.c l.320-322: l_estcpu = decay_cpu(2 * loadavg, l_estcpu)
    = l_estcpu * loadfac / (loadfac + FSCALE) (l.255-271), then
    resetpriority(); kern_synch.c l.1051-1055: a queued LWP whose priority
    changes is dequeued and enqueued again at the new one."""
    from engine.param import ESTCPU_SHIFT, FSCALE
    from engine.sched_4bsd import decay_cpu

    k = kernel(2, lwp(100, 1, "hog", 0, "hog", priority=10)
               + lwp(101, 1, "queued", 0, "hog", priority=10))
    q = idx(k, 101)
    assert k.lwps[q].l_stat == LSRUN
    est = k.lwps[q].l_estcpu
    assert 63 - (est >> ESTCPU_SHIFT) - k.proc(k.lwps[q]).p_nice == 10
    k.locks[spc_mutex(0)] = 1  # lwp_lock(l) by sched_pstats on CPU 1
    k, _ = invoke(k, 1, "sched_pstats_hook", l=q, batch=True)
    load = k.config.loadavg
    assert k.lwps[q].l_estcpu == decay_cpu(2 * load, est) == est * 2 * load // (2 * load + FSCALE)
    new = 63 - (k.lwps[q].l_estcpu >> ESTCPU_SHIFT) - k.proc(k.lwps[q]).p_nice
    assert new > 10 and k.lwps[q].l_priority == new
    assert q in k.cpus[0].runq and k.lwp_eprio(k.lwps[q]) == new


def test_idle_cpu_sleeps_until_want_resched_or_an_interrupt() -> None:
    """kern_idle.c l.82-92: sched_curcpu_runnable_p() is asked twice, then
    cpu_idle(); x86_machdep.c l.458-462: halt or mwait until ci_want_resched
    is set (cpu_need_resched) or an interrupt comes. Work queued without a
    resched request does not end the wait."""
    k = kernel(2, lwp(100, 1, "a", 0, "hog"))
    texts = [s.text for s in FUNCS["idle_loop"].stmts]
    assert texts[1:4] == ["if (!sched_curcpu_runnable_p()) {"] * 2 + ["cpu_idle();"]
    def at_hlt(k: Kernel) -> bool:
        top = k.curlwp(1).stack[-1]
        return FUNCS[top.func].stmts[top.pc].label == "hlt"

    for _ in range(40):
        if at_hlt(k):
            break
        k = step(k, 1)
    assert at_hlt(k)
    k.cpus[1].r_count = 1  # something queued, nobody asked: still asleep
    assert step(k, 1) is k
    k.cpus[1].r_count = 0
    k.cpus[1].ci_want_resched = 1
    assert step(k, 1) is not k


def test_sleepq_remove_takes_the_cpu_before_locking_its_run_queue() -> None:
    """kern_sleepq.c l.149-157: l->l_cpu = sched_takecpu(l) comes before
    spc_lock(ci) and lwp_setlock(l, spc->spc_mutex)."""
    lines = [s.line for s in FUNCS["sleepq_remove"].stmts]
    assert lines.index(149) < lines.index(156)
    texts = [s.text for s in FUNCS["sleepq_remove"].stmts]
    assert texts[lines.index(156)] == "spc_lock(ci); lwp_setlock(l, spc->spc_mutex);"
