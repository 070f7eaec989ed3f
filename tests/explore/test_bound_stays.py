"""--check bound-stays: an LWP's l_cpu never changes while LP_BOUND is set."""

from __future__ import annotations

import pytest

from engine import replay
from engine.ddb.db_command import Session
from engine.explore import explore_scenario
from engine.scenario import load
from tui.cli import main

LWP_MIGRATE = ("moved from cpu0 to cpu1 while LP_BOUND, at lwp_migrate()"
               " sys/kern/kern_lwp.c:1345")


def test_it_fires_at_lwp_migrates_write_under_the_fix(capsys: pytest.CaptureFixture[str]
                                                      ) -> None:
    """Acceptance 2 (issue 31): the explorer stops at the l_cpu write of
    lwp_migrate() (kern_lwp.c l.1345, the LSSLEEP case), long before the
    psref KASSERT (147 steps)."""
    assert main(["explore", "setaffinity-sleeping", "--fix", "--check", "bound-stays",
                 "--ticks", "0"]) == 1
    out = capsys.readouterr().out
    verdict = next(l for l in out.splitlines() if l.startswith("verdict: "))
    assert verdict.startswith("verdict: check: bound-stays failed: lwp 15571.1 (tcpdump) "
                              + LWP_MIGRATE)
    res = explore_scenario(load("setaffinity-sleeping"), fix=True, checks=("bound-stays",),
                           ticks=0)
    assert res.verdict == "panic" and res.steps < 147


def test_it_fires_at_sched_idle_without_the_fix() -> None:
    """Without the fix, mi_switch() hands the bound tcpdump to sched_idle(),
    which moves it (kern_runq.c l.632): the check stops there, before
    psref_release()."""
    sc = load("seed-race")
    res = replay.run(sc, list(sc.commands), checks=("bound-stays",))
    k = res.session.kernel
    assert k.panicstr is not None and k.panicstr.startswith("check bound-stays failed")
    assert "at sched_idle() sys/kern/kern_runq.c:632: l->l_cpu = tci;" in k.panicstr
    assert "[ddbstep] check bound-stays failed" in res.transcript


def test_it_holds_where_the_fix_covers_the_path() -> None:
    """The seed's interleaving on the fixed kernel: nothing moves the bound
    tcpdump, the check stays silent and the replay ends as it did."""
    sc = load("seed-race-fixed")
    plain = replay.run(sc, list(sc.commands))
    checked = replay.run(sc, list(sc.commands), checks=("bound-stays",))
    assert checked.session.kernel.panicstr is None
    assert checked.transcript == plain.transcript


def test_the_ddb_command_turns_it_on_and_off_and_undo_takes_it_back() -> None:
    s = Session.start(load("setaffinity-sleeping"))
    assert s.execute("check") == "[ddbstep] checks: none (`check bound-stays` turns it on," \
        " `check off` off)"
    assert s.execute("check bound-stays") == "[ddbstep] check bound-stays: on"
    assert s.kernel.config.checks == ("bound-stays",)
    s.execute("undo")
    assert s.kernel.config.checks == ()
    assert s.execute("check sideways").startswith("usage: check [bound-stays|off]")


def test_the_complete_fix_retargets_a_bound_sleeper_instead_of_moving_it() -> None:
    """--fix=complete (ddbstep's proposal, engine.lp_bound.COMPLETE_FIX):
    lwp_migrate() on the sleeping bound tcpdump sets l_target_cpu; tcpdump
    wakes on CPU 0, releases its psref there; the check holds."""
    sc = load("setaffinity-sleeping")
    cmds = list(sc.commands[:sc.commands.index("s") + 1])
    res = replay.run(sc, cmds + ["show lwp 0t15571.1", "intr wm0", "mach cpu 0", "c"],
                     checks=("bound-stays",), complete=True)
    k = res.session.kernel
    assert k.panicstr is None and res.ok
    assert "l_cpu         cpu0 (0xffffffff80f1d000)" in res.transcript
    assert "l_target_cpu  cpu1" in res.transcript
    from engine import lp_bound, symtab
    from engine.machine import FUNCS

    pc = next(i for i, st in enumerate(FUNCS["lwp_migrate"].stmts) if st.line == 1345)
    at = f"x/i {symtab.address('lwp_migrate', pc):#x}"
    proposal = "case LSSLEEP: if (l->l_pflag & LP_BOUND) l->l_target_cpu = tci;"
    assert proposal in Session.start(sc, complete=True).execute(at)
    assert proposal not in Session.start(sc, fix=True).execute(at)

    assert "(ddbstep's proposal, not NetBSD's)" in lp_bound.COMPLETE_FIX
    assert "+		if ((l->l_pflag & LP_BOUND) != 0)" in lp_bound.COMPLETE_FIX


@pytest.mark.slow
def test_the_complete_fix_is_proved_on_setaffinity_sleeping() -> None:
    res = explore_scenario(load("setaffinity-sleeping"), fix=True, complete=True,
                           checks=("bound-stays",), ticks=0)
    assert res.verdict == "safe"
