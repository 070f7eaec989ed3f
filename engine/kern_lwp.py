"""lwp_lock()/lwp_unlock()/lwp_setlock() (sys/lwp.h, kern_lwp.c 1.194).

An LWP is covered by whatever lock l_mutex names: its CPU's spc_lwplock
while running, spc_mutex while queued, the sleep queue's lock while asleep.
"""

from __future__ import annotations

from engine.kernel import Lwp
from engine.machine import Ctx, mutex_spin_enter, mutex_spin_exit


def lwp_lock(x: Ctx, l: Lwp) -> bool:
    """Spin until we hold the lock l_mutex names (False: still spinning)."""
    return mutex_spin_enter(x, l.l_mutex)


def lwp_unlock(x: Ctx, l: Lwp, keep_spl: bool = False) -> None:
    mutex_spin_exit(x, l.l_mutex, keep_spl)


def lwp_unlock_to(x: Ctx, l: Lwp, new: str) -> None:
    old = l.l_mutex
    l.l_mutex = new
    mutex_spin_exit(x, old)
