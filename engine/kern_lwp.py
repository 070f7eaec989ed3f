"""lwp_lock()/lwp_unlock()/lwp_setlock() (sys/lwp.h, kern_lwp.c 1.194).

An LWP is covered by whatever lock l_mutex names: its CPU's spc_lwplock
while running, spc_mutex while queued, the sleep queue's lock while asleep.
"""

from __future__ import annotations

from engine.kernel import Lwp
from engine.machine import SPIN, Ctx, Flow, Op, mutex_spin_enter, mutex_spin_exit


def lwp_lock(x: Ctx, l: Lwp) -> bool:
    """Spin until we hold the lock l_mutex names (False: still spinning)."""
    return mutex_spin_enter(x, l.l_mutex)


def lock_frame_lwp(var: str) -> Op:
    """The op of `lwp_lock(var);` for the LWP the frame's var names: spin
    until held, and keep the lock taken in lk (lwp_unlock lets go of the
    same one even if l_mutex moves meanwhile, as lwp_setlock does)."""

    def op(x: Ctx) -> Flow:
        l = x.lwp(x.v(var))
        if not lwp_lock(x, l):
            return SPIN
        x.set("lk", l.l_mutex)
        return None

    return op


def lwp_unlock(x: Ctx, l: Lwp, keep_spl: bool = False) -> None:
    mutex_spin_exit(x, l.l_mutex, keep_spl)


def lwp_unlock_to(x: Ctx, l: Lwp, new: str) -> None:
    old = l.l_mutex
    l.l_mutex = new
    mutex_spin_exit(x, old)
