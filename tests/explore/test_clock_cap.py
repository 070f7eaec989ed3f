"""Clock countdowns capped by the budget (visited.clock_fp) against the
search that keys every kernel by its fingerprint: the same verdicts, the
same shortest panics, never more states.
"""

from __future__ import annotations

import attrs
import pytest

from engine import stepcache
from engine.explore import explore
from engine.explore.visited import clock_fp
from engine.init_main import boot
from engine.kernel import Kernel
from engine.scenario import load, load_text
from tests.explore.test_explore_speed import BOUND, THREE, UNBOUND


def _with_cpu(k: Kernel, ci: int, **fields: int) -> Kernel:
    n = k.copy()
    n.cpus[ci] = attrs.evolve(n.cpus[ci], **fields)
    return n


def test_a_countdown_the_budget_cannot_run_down_is_one_key() -> None:
    k = boot(load("seed-race"))
    a, b = _with_cpu(k, 0, spc_ticks=4), _with_cpu(k, 0, spc_ticks=9)
    assert a.fingerprint() != b.fingerprint()
    # Two clock interrupts left: neither reaches 0, one key.
    assert clock_fp(a, 2) == clock_fp(b, 2)
    # Four left: the first can reach 0, the second cannot.
    assert clock_fp(a, 4) != clock_fp(b, 4)
    # spc_schedticks the same way; one at the cap is itself.
    c = _with_cpu(k, 1, spc_schedticks=3)
    d = _with_cpu(k, 1, spc_schedticks=9)
    assert clock_fp(c, 2) == clock_fp(d, 2) and clock_fp(c, 3) != clock_fp(d, 3)
    # The key of a kernel with nothing above the cap is its fingerprint.
    low = _with_cpu(_with_cpu(k, 0, spc_ticks=1, spc_schedticks=1), 1, spc_ticks=1,
                    spc_schedticks=1)
    for ci in range(2, len(low.cpus)):
        low = _with_cpu(low, ci, spc_ticks=1, spc_schedticks=1)
    assert clock_fp(low, 5) == low.fingerprint()


def _figures(k0: Kernel, cap: bool, **kw: object) -> tuple[str, int, int, str, list[str]]:
    """verdict, steps, states, the panic's message ("" for no panic) and
    its schedule."""
    r = explore(k0, clock_cap=cap, **kw)  # type: ignore[arg-type]
    return (r.verdict, r.steps, r.states, r.message if r.schedule else "",
            [f"{mv.kind} {mv.cpu}" for mv, _, _ in r.schedule])


CASES = [(UNBOUND, 1), (BOUND, 3), (THREE, 0), (THREE, 2)]


@pytest.mark.parametrize(("text", "ticks"), CASES)
def test_the_same_answers_with_the_countdowns_capped(text: str, ticks: int) -> None:
    k0 = boot(load_text(text, "t.toml"))
    for kw in ({"first": False}, {"first": False, "sleep": False}, {"preemptions": 1}):
        plain = _figures(k0, False, ticks=ticks, **kw)
        capped = _figures(k0, True, ticks=ticks, **kw)
        assert capped[0] == plain[0] and capped[1] == plain[1] and capped[3] == plain[3]
        assert capped[2] <= plain[2]


@pytest.mark.parametrize("name", ["psref-unbound", "wakeup-bound"])
def test_the_bundled_machines_the_same(name: str) -> None:
    k0 = boot(load(name), fix=name == "wakeup-bound")
    plain = _figures(k0, False, first=False)
    capped = _figures(k0, True, first=False)
    assert capped[0] == plain[0] and capped[1] == plain[1] and capped[3] == plain[3]
    assert capped[2] <= plain[2]


def test_the_cap_saves_states_on_three_cpus() -> None:
    # The merges come with subsumption: a state with fewer ticks left whose
    # countdowns, capped, are those of one seen with more.
    k0 = boot(load_text(THREE, "t.toml"))
    plain = _figures(k0, False, ticks=2, first=False)
    capped = _figures(k0, True, ticks=2, first=False)
    assert capped[0] == plain[0] == "safe" and capped[2] < plain[2]


@pytest.mark.skipif(stepcache._C is None, reason="the compiled core is not built here")
def test_the_compiled_key_is_the_pythons() -> None:
    # engine/_stepcache.c computes clock_fp itself (the capped key() hashed
    # in C); the Python is the oracle. Kernels of a walk, with countdowns
    # and pending sleep callouts of every size, at every budget.
    from engine.explore.moves import moves
    from engine.explore.visited import _COUNTDOWNS, _capped

    k = boot(load("seed-race-4x2"))
    seen = 0
    for i in range(60):
        succ = list(moves(k, 3))
        k = succ[i % len(succ)][1]
        for spc, sched, left in ((1, 1, 0), (4, 6, 2), (9, 2, 7), (30, 30, 30)):
            n = _with_cpu(k, i % len(k.cpus), spc_ticks=spc, spc_schedticks=sched)
            n.lwps[i % len(n.lwps)] = attrs.evolve(n.lwps[i % len(n.lwps)],
                                                   l_timeout=(i % len(n.cpus), left))
            for t in (0, 1, 2, 3, 5, 8):
                # Each twice: the second from what the first kept on the structures.
                for _ in range(2):
                    want = clock_fp(n, t)
                    got = stepcache._C.clock_fp(n, t, (_capped, *_COUNTDOWNS))
                    assert got == want
                    seen += 1
                # ... and the compiled first, on fresh structures.
                m = n.copy()
                for j in range(len(m.cpus)):
                    m.cpus[j] = attrs.evolve(m.cpus[j])
                for j in range(len(m.lwps)):
                    m.lwps[j] = attrs.evolve(m.lwps[j])
                m.fingerprint()
                assert stepcache._C.clock_fp(m, t, (_capped, *_COUNTDOWNS)) == clock_fp(m, t)
    assert seen > 1000
