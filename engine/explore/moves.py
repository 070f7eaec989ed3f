"""Moves: what may happen next in a state (a CPU's statement, an
interrupt), made plainly or traced against the lock discipline.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator

import attrs

from engine import intr, stepcache
from engine.footprint import Discipline, Field, Footprint, independent, traced_deliver, traced_step
from engine.kernel import Kernel
from engine.machine import deliver, step
from engine.param import LSRUN, LW_IDLE
from engine.scenario import MAX_CPUS
from engine.stepcache import StepCache


@attrs.frozen(cache_hash=True)
class Move:
    kind: str  # step, hardclock, intr
    cpu: int
    dev: str | None = None

    def commands(self) -> list[str]:
        if self.kind == "step":
            return ["s"]
        if self.kind == "hardclock":
            return ["hardclock"]
        return [f"intr {self.dev}"]


@functools.cache
def move(kind: str, cpu: int, dev: str | None = None) -> Move:
    """One shared Move per (kind, cpu, device): millions of edges keep them."""
    return Move(kind, cpu, dev)


def interrupts(k: Kernel, ticks: int) -> list[tuple[Move, int]]:
    """The interrupts that may come now (engine.intr), each with the clock
    budget after it: a clock interrupt spends a tick."""
    return [(move(kind, ci, dev), ticks - 1 if kind == "hardclock" else ticks)
            for kind, ci, dev in intr.pending(k, list(range(len(k.cpus))), clock=ticks > 0)]


def handler(mv: Move) -> tuple[str, int, dict[str, str]]:
    """An interrupt move's handler, its IPL and its arguments."""
    return intr.handler(mv.kind, mv.dev)


@functools.cache
def _handler_key(mv: Move) -> tuple[str, int, tuple[tuple[str, str], ...]]:
    """handler(), its arguments as StepCache.deliver_args takes them."""
    func, ipl, args = handler(mv)
    return func, ipl, tuple(sorted(args.items()))


def moves(k: Kernel, ticks: int) -> Iterator[tuple[Move, Kernel, int]]:
    for ci in range(len(k.cpus)):
        n = step(k, ci)
        if n is not k and n.fingerprint() != k.fingerprint():
            yield move("step", ci), n, ticks
    for mv, nt in interrupts(k, ticks):
        n = apply(k, mv)
        if n is not k:
            yield mv, n, nt


class _Violation(Exception):
    def __init__(self, kind: str, field: Field) -> None:
        super().__init__(f"{field[0]}.{field[1]}")
        self.kind = kind
        self.field = field


_STEP = [move("step", ci) for ci in range(MAX_CPUS)]


def preempts(k: Kernel, n: Kernel, ci: int) -> bool:
    """Is the step of CPU ci from k to n a preemption: the CPU switching
    away from an LWP that could have kept running (cpu_switchto() from an
    LWP left LSRUN -- preempt(), kpreempt(), the round robin -- not from
    one that sleeps, nor from the idle LWP)? Only the switching step
    counts, and what decides it is its own CPU's: ci_curlwp (the CPU's
    own field) and the old LWP's l_stat, set by this CPU under the run
    queue's lock at mi_switch() l.571."""
    a = k.cpus[ci].ci_curlwp
    if n.cpus[ci].ci_curlwp == a:
        return False
    old = n.lwps[a]
    return old.l_stat == LSRUN and not old.l_flag & LW_IDLE


def traced_move(k: Kernel, mv: Move, d: Discipline,
                sc: StepCache | None) -> tuple[Kernel, Footprint]:
    """One move of traced_moves(): its kernel (k itself if it cannot go) and footprint."""
    if mv.kind == "step":
        n, fp = sc.step(k, mv.cpu) if sc is not None else traced_step(k, mv.cpu, d)
        if n is not k and n.fingerprint() == k.fingerprint():
            n = k
    elif sc is not None:
        func, ipl, argkey = _handler_key(mv)
        n, fp = sc.deliver_args(k, mv.cpu, func, ipl, argkey)
    else:
        func, ipl, args = handler(mv)
        n, fp = traced_deliver(k, mv.cpu, func, ipl, d, **args)
    if fp.violation is not None:
        raise _Violation(*fp.violation)
    return n, fp


def traced_moves(k: Kernel, ticks: int, d: Discipline,
                 steps: dict[int, tuple[Footprint, bool]] | None = None,
                 cache: StepCache | None = None,
                 intr_fps: dict[Move, Footprint] | None = None,
                 asleep: frozenset[Move] = frozenset()) -> list[tuple[Move, Kernel, int]]:
    """moves(), each transition checked against the lock discipline.

    steps, if given, receives each CPU's step footprint and whether that
    step could not be explored alone (ample_chain's `blocked`); intr_fps
    each interrupt's footprint. Moves in `asleep` are left out (not made).
    """
    out: list[tuple[Move, Kernel, int]] = []
    compiled = stepcache._C
    if cache is not None and compiled is not None:
        # (The CPUs' steps below, compiled: engine/_stepcache.c steps().)
        out, bad = compiled.steps(cache, k, ticks, asleep, steps, _STEP, cache.step,
                                  cache.independent)
        if bad is not None:
            raise _Violation(*bad.violation)
    else:
        for ci in range(len(k.cpus)):
            if _STEP[ci] in asleep:
                continue
            n, fp = traced_move(k, _STEP[ci], d, cache)
            if steps is not None:
                steps[ci] = (fp, n is k or not (
                    cache.independent(k, n, ci, fp, ticks) if cache is not None
                    else independent(k, n, ci, fp, ticks)))
            if n is not k:
                out.append((_STEP[ci], n, ticks))
    if cache is not None and compiled is not None:
        # (The interrupts below, compiled: engine/_stepcache.c intrs().)
        bad = compiled.intrs(cache, k, _interrupt_keys(k, ticks), asleep, intr_fps, out,
                             cache.deliver_args)
        if bad is not None:
            raise _Violation(*bad.violation)
        return out
    for mv, nt in interrupts(k, ticks):
        if mv in asleep:
            continue
        n, ifp = traced_move(k, mv, d, cache)
        if intr_fps is not None:
            intr_fps[mv] = ifp
        if n is not k:
            out.append((mv, n, nt))
    return out


@functools.cache
def _interrupt_list(ncpu: int, ticks: int, devices: tuple[str, ...]
                    ) -> list[tuple[Move, int, str, int, tuple[tuple[str, str], ...]]]:
    out = []
    for kind, ci, dev in intr.pending_on(range(ncpu), ticks > 0, devices):
        mv = move(kind, ci, dev)
        out.append((mv, ticks - 1 if kind == "hardclock" else ticks, *_handler_key(mv)))
    return out


def _interrupt_keys(k: Kernel, ticks: int
                    ) -> list[tuple[Move, int, str, int, tuple[tuple[str, str], ...]]]:
    """interrupts(), each with its handler's key (_handler_key): made once
    for each machine size, clock budget and set of devices waited on."""
    return _interrupt_list(len(k.cpus), ticks, tuple(intr.devices_waited_on(k)))


def apply(k: Kernel, mv: Move) -> Kernel:
    if mv.kind == "step":
        return step(k, mv.cpu)
    func, ipl, args = handler(mv)
    return deliver(k, mv.cpu, func, ipl, **args)


def replay_moves(k0: Kernel, mvs: list[Move]) -> list[tuple[Move, Kernel, Kernel]] | None:
    """Apply moves in order; None if one of them cannot make progress."""
    out = []
    k = k0
    for mv in mvs:
        n = apply(k, mv)
        if n is k or n.key() == k.key():
            return None
        out.append((mv, k, n))
        k = n
    return out
