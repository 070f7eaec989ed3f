"""The GENERIC ioctl path: the kernel lock around wm_ioctl(), kpreempt()'s
refusals (kern_synch.c 1.318 l.350-367), and the real points from which a
bound LWP holding its psref reaches mi_switch()."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine import replay
from engine.explore import explore_scenario
from engine.init_main import boot
from engine.kern_lock import KERNEL_LOCK
from engine.kernel import Kernel
from engine.machine import FUNCS, step
from engine.param import DOPREEMPT_ACTIVE, DOPREEMPT_COUNTED, RESCHED_KPREEMPT
from engine.scenario import load, load_text
from engine.x86_machdep import cpu_need_resched
from tests.conftest import lwp, scenario_text


def idx(k: Kernel, pid: int) -> int:
    return next(l.idx for l in k.lwps if k.procs[l.l_proc].p_pid == pid)


def funcs(k: Kernel, i: int) -> list[str]:
    return [fr.func for fr in k.lwps[i].stack]


def run_to(k: Kernel, ci: int, func: str, limit: int = 500) -> Kernel:
    """Step ci until its curlwp's top frame is func."""
    for _ in range(limit):
        if k.curlwp(ci).stack and k.curlwp(ci).stack[-1].func == func:
            return k
        k = step(k, ci)
    raise AssertionError(f"cpu{ci} never reached {func}")


def test_seed_race_hands_tcpdump_off_from_kpreempt_in_kernel_unlock(netbsd_src: Path) -> None:
    """At the mi_switch() that queues tcpdump for the idle loop: no kernel
    lock held, and every frame sits on a real line of its file."""
    sc = load("seed-race")
    cmds = list(sc.commands)
    upto = cmds.index("delete mi_switch")
    res = replay.run(sc, cmds[:upto])
    k = res.session.kernel
    t = idx(k, 15571)
    l = k.lwps[t]
    assert l.l_blcnt == 0 and k.locks.get(KERNEL_LOCK) is None
    assert funcs(k, t)[-5:] == ["sys_ioctl", "doifioctl", "_kernel_unlock", "kpreempt", "mi_switch"]
    want = {"doifioctl": "KERNEL_UNLOCK_UNLESS_IFP_MPSAFE", "_kernel_unlock": "l->l_dopreempt",
            "kpreempt": "mi_switch(l)"}
    for fr in l.stack:
        f = FUNCS[fr.func]
        if not f.file or f.user:
            continue
        st = f.stmts[fr.pc]
        real = (netbsd_src / f.file).read_text(errors="replace").splitlines()[st.line - 1]
        assert real.strip() and not real.strip().startswith(("/*", "*")), (fr.func, st.line)
        if fr.func in want:
            assert want[fr.func] in real, (fr.func, st.line, real)
    # It goes on to hand tcpdump to the idle loop (spc_migrating) on CPU 0.
    for _ in range(200):
        k = step(k, 0)
        if k.cpus[0].spc_migrating == t:
            break
    assert k.cpus[0].spc_migrating == t and k.lwps[t].l_pflag & 0x80000000  # LP_BOUND


def _in_wm_ioctl(net_mpsafe: bool = False) -> tuple[Kernel, int]:
    if net_mpsafe:
        k = boot(load_text(scenario_text(ncpu=2, lwps=lwp(15571, 1, "tcpdump", 0, "ioctl"),
                                         extra="net_mpsafe = true"), "t.toml"))
    else:
        k = boot(load("seed-race"))
    k = run_to(k, 0, "wm_ioctl")
    return k, idx(k, 15571)


def test_kpreempt_refuses_while_the_kernel_lock_is_held() -> None:
    k, t = _in_wm_ioctl()
    assert k.lwps[t].l_blcnt == 1 and k.locks[KERNEL_LOCK] == 0
    cpu_need_resched(k, 0, RESCHED_KPREEMPT)
    k = step(k, 0)
    assert funcs(k, t)[-1] == "kpreempt"
    for _ in range(20):
        k = step(k, 0)
        if funcs(k, t)[-1] != "kpreempt":
            break
    # Refused: back in wm_ioctl, on CPU 0, the request owed and counted.
    assert funcs(k, t)[-1] == "wm_ioctl" and k.cpus[0].ci_curlwp == t
    assert k.lwps[t].l_dopreempt == DOPREEMPT_ACTIVE | DOPREEMPT_COUNTED
    # The softint was consumed: the next statements run, no kpreempt again
    # until _kernel_unlock() finds l_dopreempt.
    k = run_to(k, 0, "_kernel_unlock")
    assert "kpreempt" not in funcs(k, t)
    k = run_to(k, 0, "mi_switch")
    assert funcs(k, t)[-3:] == ["_kernel_unlock", "kpreempt", "mi_switch"]


def test_under_net_mpsafe_no_kernel_lock_and_the_tick_preempts_in_wm_ioctl() -> None:
    k, t = _in_wm_ioctl(net_mpsafe=True)
    assert k.lwps[t].l_blcnt == 0 and KERNEL_LOCK not in k.locks
    cpu_need_resched(k, 0, RESCHED_KPREEMPT)
    k = run_to(k, 0, "mi_switch", limit=30)
    assert funcs(k, t)[-3:] == ["wm_ioctl", "kpreempt", "mi_switch"]


def test_kpreempt_refuses_while_this_cpu_spins_for_the_kernel_lock() -> None:
    text = scenario_text(ncpu=2, lwps=lwp(100, 1, "a", 0, "ioctl") + lwp(200, 1, "b", 1, "ioctl"))
    k = boot(load_text(text, "t.toml"))
    a, b = idx(k, 100), idx(k, 200)
    k = run_to(k, 1, "wm_ioctl")  # b holds the kernel lock on CPU 1
    assert k.locks[KERNEL_LOCK] == 1
    k = run_to(k, 0, "_kernel_lock")
    for _ in range(10):
        k = step(k, 0)
    assert k.cpus[0].ci_biglock_wanted == a and k.cpus[0].ci_ilevel == 0
    assert funcs(k, a)[-1] == "_kernel_lock"
    cpu_need_resched(k, 0, RESCHED_KPREEMPT)
    for _ in range(20):
        k = step(k, 0)
        if funcs(k, a)[-1] == "_kernel_lock" and "kpreempt" not in funcs(k, a):
            break
    assert k.cpus[0].ci_curlwp == a and k.lwps[a].l_dopreempt & DOPREEMPT_COUNTED
    # CPU 1 lets go; CPU 0 gets it, and ci_biglock_wanted is put back.
    k = run_to(k, 1, "_kernel_unlock")
    for _ in range(10):
        k = step(k, 1)
    assert k.locks.get(KERNEL_LOCK) in (None, 0)
    k = run_to(k, 0, "wm_ioctl")
    assert k.locks[KERNEL_LOCK] == 0 and k.cpus[0].ci_biglock_wanted is None
    assert k.lwps[a].l_blcnt == 1 and b != a


# Two callers on two CPUs contend for the kernel lock: the reduction's
# verdicts and shortest lengths against the plain search.
CONTEND = scenario_text(ncpu=2, lwps=lwp(100, 1, "a", 0, "ioctl") + lwp(200, 1, "b", 1, "ioctl"))
CONTEND_UNBOUND = scenario_text(
    ncpu=2, lwps=lwp(100, 1, "a", 0, "ioctl", bind=False) + lwp(200, 1, "b", 1, "ioctl"))


@pytest.mark.slow
@pytest.mark.parametrize("text,verdict", [(CONTEND, "safe"), (CONTEND_UNBOUND, "panic")])
def test_the_reduction_holds_on_kernel_lock_contention(text: str, verdict: str) -> None:
    sc = load_text(text, "t.toml")
    plain = explore_scenario(sc, ticks=1, por=False)
    reduced = explore_scenario(sc, ticks=1, por=True)
    assert plain.verdict == reduced.verdict == verdict
    assert plain.steps == reduced.steps
    assert reduced.states <= plain.states
