"""A step copies only what it reaches (engine.kernel.Cow), and never
changes the kernel it was given: every kernel of a run keeps its value."""

from __future__ import annotations

import pytest

from engine import intr
from engine.explore import moves
from engine.init_main import boot
from engine.kernel import Cow, clone, view
from engine.machine import step
from engine.scenario import load


@pytest.mark.parametrize("name", ["seed-race", "setaffinity-sleeping", "pset-bind",
                                  "cpu-offline"])
def test_no_step_changes_a_kernel_it_was_given(name: str) -> None:
    """Random schedules (clock and device interrupts too): after the run,
    every kernel on the way has the key it had when it was made."""
    k = boot(load(name))
    rng = intr.SplitMix64(7)
    kept = [(k, k.key())]
    t = 3
    for _ in range(1500):
        succ = list(moves(k, t))
        if not succ or k.panicstr is not None:
            break
        _, k, t = succ[rng.below(len(succ))]
        kept.append((k, k.key()))
    assert len(kept) > 100
    for kk, key in kept:
        assert kk.key() == key


def test_a_step_copies_only_what_it_reaches() -> None:
    k = boot(load("seed-race"))
    n = step(k, 0)
    shared = [a is b for a, b in zip(view(k.lwps), view(n.lwps), strict=True)]
    assert type(n.lwps) is Cow
    # tcpdump's first statement on CPU 0 reaches its LWP and CPU 0 only.
    assert not shared[0] and sum(shared) == len(shared) - 1
    assert sum(a is b for a, b in zip(view(k.cpus), view(n.cpus), strict=True)) == len(k.cpus) - 1


def test_a_cow_list_hands_out_its_own_copies() -> None:
    k = boot(load("seed-race"))
    n = k.copy()
    first = n.lwps[1]
    assert first is not k.lwps[1] and first == k.lwps[1]
    assert n.lwps[1] is first  # once
    assert n.lwps[-1] is n.lwps[len(n.lwps) - 1]
    before = [clone(x) for x in view(k.lwps)]
    for lw in n.lwps:  # iterating makes every one its own
        lw.l_rticks += 1
    assert [x.l_rticks for x in view(k.lwps)] == [x.l_rticks for x in before]
    with pytest.raises(TypeError):
        n.lwps[0:1] = []
    for grow in (lambda: n.lwps.append(first), lambda: n.lwps.pop(), lambda: n.lwps.sort()):
        with pytest.raises(TypeError):
            grow()
