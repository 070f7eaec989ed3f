"""explore --bound K: the preemption-bounded search against an unreduced one.

The oracle walks every interleaving of a small machine with no reduction
(engine.explore.moves: the model's steps, untraced) and finds the fewest
preemptions (engine.explore.preempts) any panicking schedule takes: a 0-1
breadth-first search over (kernel, clock budget), an edge costing 1 when
it is a preemption. The bounded search, with the partial-order reduction
and without, must find a panic at K exactly when that fewest is at most K,
and its schedule must take no more than K.
"""

from __future__ import annotations

import functools
from collections import deque

import pytest

from engine.explore import (
    check_invariants,
    explore,
    explore_bounded,
    moves,
    preempts,
    schedule_preemptions,
)
from engine.init_main import boot
from engine.kernel import Kernel
from engine.scenario import load_text
from tests.conftest import ROOT, lwp, scenario_text


def fewest_preemptions(k0: Kernel, ticks: int) -> int | None:
    """The fewest preemptions of any schedule from k0 that panics (or
    breaks an invariant) within the clock budget; None if none does."""
    best = {(k0.fingerprint(), ticks): 0}
    todo: deque[tuple[int, Kernel, int]] = deque([(0, k0, ticks)])
    found: int | None = None
    while todo:
        p, k, t = todo.popleft()
        if best[(k.fingerprint(), t)] < p or (found is not None and p >= found):
            continue
        for mv, n, nt in moves(k, t):
            q = p + (mv.kind == "step" and preempts(k, n, mv.cpu))
            if n.panicstr is not None or check_invariants(n) is not None:
                found = q if found is None else min(found, q)
                continue
            key = (n.fingerprint(), nt)
            if best.get(key, q + 1) <= q:
                continue
            best[key] = q
            (todo.appendleft if q == p else todo.append)((q, n, nt))
    return found


# Small machines (tests/explore/test_explore.py's and the bundled
# setaffinity-sleeping), with the fewest preemptions to a panic each needs.
MACHINES = {
    # An unbound psref holder: the CPU-local KASSERT, no preemption needed.
    "unbound": (scenario_text(ncpu=2, lwps=lwp(9, 1, "ifconfig", 0, "ioctl", bind=False)),
                None, 2),
    # A bound holder, nothing planning a move: no panic at all.
    "safe": (scenario_text(ncpu=2, lwps=lwp(9, 1, "ifconfig", 0, "ioctl")), None, 2),
    # lwp_migrate() moves the bound sleeper; the woken holder preempts
    # schedctl on CPU 1: one preemption.
    "setaffinity-sleeping": ((ROOT / "scenarios" / "setaffinity-sleeping.toml").read_text(),
                             True, 0),
    # psrset -b with CPU 1 in set 1 and no clock tick: the race needs
    # psrset's round robin on CPU 1 (three ticks), so none.
    "pset-bind-no-tick": (scenario_text(
        ncpu=2, extra="[[cpu]]\nindex = 1\npset = 1\n",
        lwps=lwp(15571, 1, "tcpdump", 0, "ioctl")
        + lwp(2300, 1, "psrset", 1, "psrset", target="15571", pset=1)), None, 0),
}


@functools.cache
def fewest_of(name: str) -> int | None:
    text, fix, ticks = MACHINES[name]
    return fewest_preemptions(boot(load_text(text, "t.toml"), fix), ticks)


@pytest.mark.parametrize("name", list(MACHINES))
def test_bounded_search_finds_a_panic_exactly_within_the_fewest_preemptions(name: str) -> None:
    text, fix, ticks = MACHINES[name]
    k0 = boot(load_text(text, "t.toml"), fix)
    fewest = fewest_of(name)
    for por in (True, False):
        for k in range(4):
            res = explore(k0, ticks=ticks, preemptions=k, por=por)
            if fewest is not None and fewest <= k:
                assert res.verdict == "panic", (name, por, k, fewest, res.verdict)
                assert schedule_preemptions(res.schedule) == fewest, (name, por, k)
            else:
                assert res.verdict == "bounded", (name, por, k, fewest, res.verdict)
                assert res.message == (f"no panic with at most {k} preemption"
                                       f"{'s' if k != 1 else ''} ({res.states} states)")


def test_the_machines_cover_no_panic_none_and_one_preemption() -> None:
    """The table above is not vacuous: it holds 0, 1 and no panic."""
    assert {fewest_of(name) for name in MACHINES} == {None, 0, 1}


def test_iterative_deepening_stops_at_the_first_level_that_panics() -> None:
    text, fix, ticks = MACHINES["setaffinity-sleeping"]
    k0 = boot(load_text(text, "t.toml"), fix)
    levels: list[tuple[int, str]] = []
    res, level = explore_bounded(k0, 3, on_level=lambda k, r: levels.append((k, r.verdict)),
                                 ticks=ticks)
    assert levels == [(0, "bounded"), (1, "panic")]
    assert (res.verdict, level) == ("panic", 1)
    assert "passive reference transferred from CPU 0 to CPU 1" in res.message


def test_a_bound_never_says_safe(capsys: pytest.CaptureFixture[str]) -> None:
    from tui.cli import main

    rc = main(["explore", "cpu-offline", "--ticks", "1", "--bound", "1"])
    out = capsys.readouterr().out
    assert rc == 0
    assert ("verdict: bounded within 1 clock tick at rrticks 1: no panic with at most"
            " 1 preemption (") in out
    assert "safe" not in out
