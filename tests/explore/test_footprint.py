"""The traced transitions the reduction stands on: same result, k untouched, the race seen."""

from __future__ import annotations

import pytest

from engine.explore import discover, moves
from engine.footprint import Discipline, independent, traced_deliver, traced_step
from engine.init_main import boot
from engine.intr import SplitMix64
from engine.machine import deliver, step
from engine.param import IPL_CLOCK
from engine.scenario import load


@pytest.mark.parametrize("name", ["seed-race", "setaffinity-sleeping", "psref-unbound"])
def test_traced_transitions_equal_the_plain_ones_and_leave_the_state_alone(name: str) -> None:
    k = boot(load(name))
    rng = SplitMix64(7)
    d = Discipline()
    for _ in range(300):
        before = k.key()
        for ci in range(len(k.cpus)):
            plain = step(k, ci)
            traced, _ = traced_step(k, ci, d)
            assert (traced is k) == (plain is k)
            assert traced.key() == plain.key() and traced == plain
            assert k.key() == before  # copy-on-write restored every struct it wrote
            plain = deliver(k, ci, "hardclock", IPL_CLOCK)
            traced, _ = traced_deliver(k, ci, "hardclock", IPL_CLOCK, d)
            assert traced.key() == plain.key()
            assert k.key() == before
        succ = list(moves(k, 3))
        if not succ or k.panicstr is not None:
            break
        k = succ[rng.below(len(succ))][1]


def test_the_racy_fields_found_include_the_race_itself() -> None:
    # curlwp_bind() sets LP_BOUND without the LWP lock while sched_takecpu()
    # reads l_pflag on another CPU: the report's race, as the tracer sees it.
    d = discover(boot(load("seed-race")), 3)
    assert ("lwp", "l_pflag") in d.racy
    # The run queue is read unlocked by sched_takecpu's load scan, written under spc_mutex.
    assert ("cpu", "r_count") in d.shared_read and ("cpu", "r_count") not in d.racy


def test_a_frame_only_step_is_independent_and_a_racy_one_is_not() -> None:
    k = boot(load("seed-race"))
    d = discover(k, 3)
    # cpu0 runs tcpdump in user space: the ioctl(2) call enters the kernel,
    # which an interrupt would see (user -> kernel): not independent.
    n, fp = traced_step(k, 0, d)
    assert not independent(k, n, 0, fp, 3)
    # With no clock left and nothing to interrupt it, a step of lwp0's
    # uvm_scheduler that only calls sched_pstats() is.
    n, fp = traced_step(k, 1, d)
    assert not fp.visible and independent(k, n, 1, fp, 0)


@pytest.mark.parametrize("name", ["seed-race", "setaffinity-sleeping", "psref-unbound"])
def test_the_known_discipline_covers_what_a_fresh_discovery_finds(name: str) -> None:
    # KNOWN only saves restarts; if the model grows a new unlocked access,
    # this says so (the search itself would still find it and start again).
    from engine.footprint import KNOWN

    d = discover(boot(load(name)), 3)
    assert d.racy <= KNOWN.racy
    assert d.shared_read <= KNOWN.racy | KNOWN.shared_read


def test_the_fixed_flag_bits_are_read_untraced_and_never_written() -> None:
    # sched_pstats() skips idle LWPs by LW_IDLE with no lock held: a bit
    # fixed since the LWP was made, so the read is no access at all (it was
    # what made every LW_BATCH write of sched_lwp_stats() visible).
    from engine import machine
    from engine.footprint import KNOWN
    from engine.kern_synch import allproc
    from engine.kernel import Frame
    from engine.param import LW_IDLE

    k = boot(load("seed-race"))
    order = allproc(k)
    first_idle = next(i for i, l in enumerate(order) if l.l_flag & LW_IDLE)
    lwp0 = next(l for l in k.lwps if not l.l_flag & LW_IDLE and k.proc(l).p_pid == 0)
    ci = lwp0.l_cpu
    n = k.copy()
    # lwp0 in sched_pstats' LIST_FOREACH, at the first idle LWP of allproc.
    n.lwps[lwp0.idx].stack = (*lwp0.stack, Frame("sched_pstats", 1, (("i", first_idle),)))
    n2, fp = traced_step(n, ci, KNOWN)
    skipped = {l.idx for l in order[first_idle:] if l.l_flag & LW_IDLE}
    assert n2 is not n and n2.curlwp(ci).stack[-1].get("i") > first_idle
    assert skipped and not any(loc[:2] == ("lwp", i) for loc in fp.acc for i in skipped)
    assert not fp.visible
    # A write that would change a fixed bit is a model error, caught.
    saved = machine._exec

    def set_idle(k2, ci2):  # type: ignore[no-untyped-def]
        k2.curlwp(ci2).l_flag |= LW_IDLE
        return True, False

    machine._exec = set_idle
    try:
        with pytest.raises(AssertionError, match="fixed bits"):
            traced_step(k, ci, KNOWN)
    finally:
        machine._exec = saved


def test_another_thread_is_not_traced_while_a_transition_is() -> None:
    """The trace and the tracer's Ctx are context variables: the app's
    screen thread reading the structures a traced step shares (their class
    swapped for its duration) is not recorded into that step's footprint."""
    import threading

    from engine import footprint, machine
    from engine.footprint import Discipline
    from engine.init_main import boot
    from engine.machine import step_into

    k = boot(load("seed-race"))
    last = len(k.lwps) - 1
    seen: dict[str, object] = {}

    def run(n):  # type: ignore[no-untyped-def]
        def other() -> None:
            seen["ctx"] = machine.STATEMENT_CTX.get()
            seen["value"] = n.lwps[last].l_rticksum
        t = threading.Thread(target=other)
        t.start()
        t.join()
        seen["mine"] = machine.STATEMENT_CTX.get()
        return step_into(k, n, 0)

    _, fp = footprint._traced(k, 0, Discipline(), run)
    assert seen["ctx"] is machine.Ctx and seen["mine"] is not machine.Ctx
    assert ("lwp", last, "l_rticksum") not in fp.acc
    assert not any(loc[:2] == ("cpu", 3) for loc in fp.acc)
