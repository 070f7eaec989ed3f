"""sched_takecpu's rules, sched_idle's migration, sched_lwp_stats' plan."""

from __future__ import annotations

from engine.init_main import boot
from engine.kernel import Kernel
from engine.machine import invoke
from engine.param import LP_BOUND, LSRUN
from engine.scenario import load_text
from tests.conftest import lwp, scenario_text


def kernel(ncpu: int, lwps: str) -> Kernel:
    return boot(load_text(scenario_text(ncpu=ncpu, lwps=lwps), "t.toml"))


def idx(k: Kernel, pid: int) -> int:
    return next(l.idx for l in k.lwps if k.proc(l).p_pid == pid)


BASE = (lwp(100, 1, "victim", 0, "ioctl") + lwp(101, 1, "hog", 0, "hog")
        + lwp(0, 1, "system", 1, "uvm_scheduler"))


def takecpu(k: Kernel, on: int, pid: int) -> int:
    _, ci = invoke(k, on, "sched_takecpu", l=idx(k, pid))
    return int(ci)


def test_bound_lwp_stays_whatever_else_is_idle() -> None:
    k = kernel(4, BASE)
    assert takecpu(k, 1, 100) == 3  # unbound: goes to the idle CPU
    k.lwps[idx(k, 100)].l_pflag |= LP_BOUND
    assert takecpu(k, 1, 100) == 0


def test_stays_when_its_run_queue_is_empty() -> None:
    k = kernel(4, lwp(100, 1, "victim", 0, "ioctl") + lwp(0, 1, "system", 1, "uvm_scheduler"))
    assert takecpu(k, 1, 100) == 0


def test_stays_when_cache_hot_and_not_outranked() -> None:
    k = kernel(4, BASE)
    k.lwps[idx(k, 100)].l_rticks = k.hardclock_ticks  # ran this very tick
    assert takecpu(k, 1, 100) == 0
    k.lwps[idx(k, 100)].l_slptime = 1  # a sleeper is never cache-hot
    assert takecpu(k, 1, 100) == 3


def test_curcpu_rule_when_the_caller_runs_lower_priority() -> None:
    k = kernel(4, BASE)
    # From idle CPU 2 (priority 0 < 43): run here, though CPU 3 is idle too.
    assert takecpu(k, 2, 100) == 2


def test_lowest_priority_scan_prefers_fewer_queued_on_ties() -> None:
    lwps = (lwp(100, 1, "victim", 0, "ioctl") + lwp(101, 1, "hog", 0, "hog")
            + lwp(0, 1, "system", 1, "uvm_scheduler")
            + lwp(102, 1, "hog", 2, "hog", priority=5) + lwp(103, 1, "hog", 2, "hog", priority=5)
            + lwp(104, 1, "hog", 3, "hog", priority=5))
    k = kernel(4, lwps)
    assert takecpu(k, 1, 100) == 3  # CPU 2 and 3 both at 5; 3 has fewer queued
    k.lwps[idx(k, 104)].l_priority = 7
    k.cpus[3].spc_curpriority = 7
    assert takecpu(k, 1, 100) == 2  # now CPU 2 is strictly lowest


def test_sched_lwp_stats_plans_a_migration_without_looking_at_lp_bound() -> None:
    k = kernel(4, BASE)
    v = idx(k, 100)
    k, _ = invoke(k, 1, "sched_lwp_stats", l=v)
    assert k.lwps[v].l_target_cpu == 3
    # Only sched_takecpu's shortcut keeps a bound LWP home.
    k2 = kernel(4, BASE)
    k2.lwps[v].l_pflag |= LP_BOUND
    k2, _ = invoke(k2, 1, "sched_lwp_stats", l=v)
    assert k2.lwps[v].l_target_cpu is None


def test_sched_lwp_stats_needs_two_cpu_bound_periods() -> None:
    k = kernel(4, lwp(100, 1, "victim", 0, "ioctl", batch=False) + lwp(101, 1, "h", 0, "hog")
               + lwp(0, 1, "system", 1, "uvm_scheduler"))
    v = idx(k, 100)
    k, _ = invoke(k, 1, "sched_lwp_stats", l=v)
    assert k.lwps[v].l_target_cpu is None  # first CPU-bound period: LW_BATCH only
    k.lwps[v].l_rticksum = 100
    k, _ = invoke(k, 1, "sched_lwp_stats", l=v)
    assert k.lwps[v].l_target_cpu == 3


def _migrating(k: Kernel, v: int, target: int) -> Kernel:
    """Put v on CPU 0's queue as mi_switch leaves it: LSRUN, spc_migrating."""
    from engine.kern_runq import runq_insert, spc_mutex

    cpu0 = k.cpus[0]
    l = k.lwps[v]
    l.l_stat = LSRUN
    l.l_mutex = spc_mutex(0)
    l.l_target_cpu = target
    runq_insert(k, l)
    cpu0.ci_curlwp = cpu0.ci_idlelwp
    cpu0.spc_migrating = v
    return k


def test_sched_idle_moves_the_migrating_lwp() -> None:
    k = kernel(4, lwp(100, 1, "victim", 0, "ioctl") + lwp(0, 1, "system", 1, "uvm_scheduler"))
    v = idx(k, 100)
    k = _migrating(k, v, 3)
    k, _ = invoke(k, 0, "sched_idle")
    l = k.lwps[v]
    assert (l.l_cpu, l.l_target_cpu, l.l_stat) == (3, None, LSRUN)
    assert k.cpus[0].spc_migrating is None
    assert v not in k.cpus[0].runq and v in k.cpus[3].runq
    assert k.locks == {}


def test_sched_idle_clears_a_target_that_is_this_cpu() -> None:
    k = kernel(4, lwp(100, 1, "victim", 0, "ioctl") + lwp(0, 1, "system", 1, "uvm_scheduler"))
    v = idx(k, 100)
    k = _migrating(k, v, 0)
    k, _ = invoke(k, 0, "sched_idle")
    assert (k.lwps[v].l_cpu, k.lwps[v].l_target_cpu) == (0, None)
    assert k.cpus[0].spc_migrating is None and v in k.cpus[0].runq


def test_sched_idle_does_not_check_lp_bound() -> None:
    k = kernel(4, lwp(100, 1, "victim", 0, "ioctl") + lwp(0, 1, "system", 1, "uvm_scheduler"))
    v = idx(k, 100)
    k = _migrating(k, v, 2)
    k.lwps[v].l_pflag |= LP_BOUND
    k, _ = invoke(k, 0, "sched_idle")
    assert k.lwps[v].l_cpu == 2
