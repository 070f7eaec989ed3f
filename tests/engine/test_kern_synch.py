"""mi_switch with and without the LP_BOUND guard; sleep and wakeup paths."""

from __future__ import annotations

from engine.ddb.db_command import Session
from engine.init_main import boot
from engine.machine import deliver, invoke, step
from engine.param import IPL_CLOCK, IPL_VM, LP_BOUND, LSONPROC, LSRUN, LSSLEEP
from engine.scenario import load, load_text
from tests.conftest import drive, lwp, scenario_text

TO_KPREEMPT = [
    "mach cpu 1", "break kpause", "c", "delete kpause",
    "mach cpu 0", "break wm_ioctl", "c", "delete wm_ioctl", "hardclock,3", "s",
]


def at_kpreempt(fix: bool) -> Session:
    s = Session.start(load("seed-race"), fix)
    drive(s, *TO_KPREEMPT)
    assert s.kernel.curlwp(0).stack[-1].func == "kpreempt"
    return s


def run_mi_switch(s: Session) -> None:
    drive(s, "break nextlwp", "break sched_nextlwp", "c")


def test_mi_switch_without_guard_hands_bound_lwp_to_idle_loop() -> None:
    s = at_kpreempt(fix=False)
    run_mi_switch(s)
    k = s.kernel
    tcpdump = k.lwps[0]
    assert tcpdump.l_pflag & LP_BOUND
    assert tcpdump.l_stat == LSRUN
    assert k.cpus[0].spc_migrating == tcpdump.idx
    assert tcpdump.idx in k.cpus[0].runq


def test_mi_switch_with_guard_skips_the_hand_off_and_keeps_stale_target() -> None:
    s = at_kpreempt(fix=True)
    run_mi_switch(s)
    k = s.kernel
    tcpdump = k.lwps[0]
    assert k.cpus[0].spc_migrating is None
    assert tcpdump.l_target_cpu == 3  # stale: the fix does not clear it
    drive(s, "delete sched_nextlwp", "n")
    assert s.kernel.curlwp(0).idx == tcpdump.idx  # picked again on CPU 0


def test_guard_only_looks_at_lp_bound_an_unbound_lwp_still_migrates() -> None:
    sc = load("seed-race")
    k = boot(sc, fix=True)
    hog = next(l for l in k.lwps if k.proc(l).p_pid == 1302)
    hog.l_target_cpu = 3  # planned while it ran, unbound, in user space
    for _ in range(3):
        k = deliver(k, 2, "hardclock", IPL_CLOCK)
    for _ in range(40):
        k = step(k, 2)
        if k.cpus[2].spc_migrating is not None:
            break
    assert k.cpus[2].spc_migrating == hog.idx


def test_sleep_leaves_through_mi_switch_in_lssleep_without_migrating() -> None:
    text = scenario_text(ncpu=2, lwps=lwp(9, 1, "ifconfig", 0, "ioctl", sleep=True)
                         + lwp(0, 1, "system", 1, "uvm_scheduler"))
    k = boot(load_text(text, "t.toml"))
    k.lwps[0].l_target_cpu = 1
    for _ in range(80):
        k = step(k, 0)
        if k.lwps[0].l_stat == LSSLEEP and k.curlwp(0).idx != 0:
            break
    assert k.lwps[0].l_stat == LSSLEEP
    assert k.cpus[0].spc_migrating is None
    assert k.lwps[0].l_target_cpu == 1  # untouched by the LSSLEEP path
    # The device interrupt wakes it onto its own CPU: it is bound.
    k = deliver(k, 1, "slpdev_intr", IPL_VM, dev="wm0")
    assert (k.lwps[0].l_stat, k.lwps[0].l_cpu) == (LSRUN, 0)
    assert 0 in k.cpus[0].runq


def test_early_wakeup_turns_a_sleeper_back_into_lsonproc() -> None:
    text = scenario_text(ncpu=2, lwps=lwp(9, 1, "ifconfig", 0, "ioctl", sleep=True)
                         + lwp(0, 1, "system", 1, "uvm_scheduler"))
    k = boot(load_text(text, "t.toml"))
    l = k.lwps[0]
    # Asleep on wm0 but still on its way out (LP_RUNNING set).
    l.l_stat, l.l_wchan, l.l_mutex = LSSLEEP, "wm0", "sleepq"
    k, _ = invoke(k, 1, "sleepq_remove", l=0)
    assert k.lwps[0].l_stat == LSONPROC  # it will yield in mi_switch, and may migrate
    assert k.lwps[0].l_mutex == "cpu0.spc_lwplock"


def test_kpause_timeout_wakes_lwp0_from_the_clock() -> None:
    k = boot(load("seed-race"))
    for _ in range(200):
        k = step(k, 1)
        if k.curlwp(1).idx != 2:
            break
    assert (k.lwps[2].l_stat, k.lwps[2].l_wmesg) == (LSSLEEP, "uvm")
    assert k.lwps[2].l_timeout == (1, k.config.hz)  # on CPU 1's wheel: kpause(hz)


def test_a_timed_sleep_callout_fires_on_the_cpu_that_scheduled_it() -> None:
    """kern_timeout.c l.357-371: callout_schedule_locked() moves a callout
    that is not pending to curcpu()'s wheel; l.668: each CPU's
    callout_hardclock() advances only its own cc_ticks. lwp0 kpause()s on
    CPU 1: CPU 0's clock never wakes it, CPU 1's does after hz ticks."""
    k = boot(load("seed-race"))
    for _ in range(200):
        k = step(k, 1)
        if k.curlwp(1).idx != 2:
            break
    for _ in range(2 * k.config.hz):
        k = deliver(k, 0, "hardclock", IPL_CLOCK)
    assert k.lwps[2].l_stat == LSSLEEP
    assert k.lwps[2].l_timeout == (1, k.config.hz)
    for _ in range(k.config.hz - 1):
        k = deliver(k, 1, "hardclock", IPL_CLOCK)
    assert k.lwps[2].l_stat == LSSLEEP
    k = deliver(k, 1, "hardclock", IPL_CLOCK)
    assert k.lwps[2].l_stat == LSRUN
    assert k.lwps[2].l_timeout is None
