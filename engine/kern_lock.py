"""kern_lock.c 1.161: the kernel lock, _kernel_lock() and _kernel_unlock().

kernel_lock is a simple spin lock (__cpu_simple_lock_t), here the entry
KERNEL_LOCK in Kernel.locks naming the CPU that holds it. The holds are
counted twice: per CPU in ci_biglock_count (changed only at splvm on that
CPU) and per LWP in l_blcnt ("!": the LWP's own). kpreempt() refuses while
l_blcnt != 0 or while this CPU spins for the lock (ci_biglock_wanted);
_kernel_unlock() then runs the preemption it refused:
`if (l->l_dopreempt) kpreempt(0)`.

Not modeled: LOCKDEBUG and lockstat (GENERIC has neither: _KERNEL_LOCK_ASSERT
is empty), the spinout panic, and mutex_exit()'s non-interlocked release
that reads ci_biglock_wanted.

KERNEL_LOCK(count, lwp) is `if ((count) != 0) _kernel_lock(count)`,
KERNEL_UNLOCK_ONE(l) is `_kernel_unlock(1, NULL)` and KERNEL_UNLOCK_ALL(l, p)
is `_kernel_unlock(0, p)` (sys/systm.h 1.279).
"""

from __future__ import annotations

from engine.machine import SPIN, Ctx, Flow, Goto, Ret, S, call, kfunc, splraise, splx
from engine.param import IPL_VM

FILE = "sys/kern/kern_lock.c"
KERNEL_LOCK = "kernel_lock"
_splvm = splraise(IPL_VM)


def _kl_recurse(x: Ctx) -> Flow:
    _splvm(x)
    cpu = x.cpu
    if cpu.ci_biglock_count != 0:
        cpu.ci_biglock_count += x.v("nlocks")
        x.l.l_blcnt += x.v("nlocks")
        splx(x)
        return Ret()
    return None


def _simple_lock_try(x: Ctx) -> bool:
    """__cpu_simple_lock_try(kernel_lock): one atomic exchange."""
    if x.k.locks.get(KERNEL_LOCK) is not None:
        return False
    x.k.locks[KERNEL_LOCK] = x.ci
    return True


def _kl_try(x: Ctx) -> Flow:
    if not _simple_lock_try(x):
        return None
    x.cpu.ci_biglock_count = x.v("nlocks")
    x.l.l_blcnt = x.v("nlocks")
    splx(x)
    return Ret()


def _kl_want(x: Ctx) -> Flow:
    # To remove the ordering constraint between adaptive mutexes and
    # kernel_lock we must make it appear as if this thread is blocking.
    x.set("owant", x.cpu.ci_biglock_wanted)
    x.cpu.ci_biglock_wanted = x.l.idx
    return None


def _kl_spin(x: Ctx) -> Flow:
    # Spin (at the caller's IPL) while another CPU holds it.
    return SPIN if x.k.locks.get(KERNEL_LOCK) is not None else None


def _kl_retry(x: Ctx) -> Flow:
    return None if _simple_lock_try(x) else Goto("spin")


def _kl_got(x: Ctx) -> Flow:
    x.cpu.ci_biglock_count = x.v("nlocks")
    x.l.l_blcnt = x.v("nlocks")
    return None


def _kl_unwant(x: Ctx) -> Flow:
    x.cpu.ci_biglock_wanted = x.v("owant")
    return Ret()


kfunc(
    "_kernel_lock", FILE,
    # One step: this CPU's own count, at splvm.
    S(171, "s = splvm(); ci = curcpu(); if (ci->ci_biglock_count != 0) { "
      "ci->ci_biglock_count += nlocks; l->l_blcnt += nlocks; splx(s); return; }", _kl_recurse),
    S(185, "if (__cpu_simple_lock_try(kernel_lock)) { ci->ci_biglock_count = nlocks; "
      "l->l_blcnt = nlocks; splx(s); return; }", _kl_try, label="try"),
    S(203, "owant = ci->ci_biglock_wanted; ci->ci_biglock_wanted = l;", _kl_want),
    S(215, "splx(s);", splx, label="spin"),
    S(216, "while (__SIMPLELOCK_LOCKED_P(kernel_lock)) { ... SPINLOCK_SPIN_HOOK; }", _kl_spin),
    S(225, "s = splvm();", _splvm),
    S(226, "} while (!__cpu_simple_lock_try(kernel_lock));", _kl_retry),
    S(228, "ci->ci_biglock_count = nlocks; l->l_blcnt = nlocks;", _kl_got),
    S(238, "splx(s);", splx),
    S(251, "(void)atomic_swap_ptr(&ci->ci_biglock_wanted, owant); membar_enter();", _kl_unwant),
)


def _ku_olocks(x: Ctx) -> Flow:
    olocks = x.l.l_blcnt
    x.set("olocks", olocks)
    if olocks == 0:
        if x.v("countp") is not None:
            _store_count(x, 0)
        return Ret()
    return None


def _store_count(x: Ctx, n: int) -> None:
    # countp is &l->l_biglocks, curlwp's own (sleepq_enter, preempt, yield).
    if x.v("countp") == "l_biglocks":
        x.l.l_biglocks = n


def _ku_nlocks(x: Ctx) -> Flow:
    nlocks = x.v("nlocks")
    if nlocks == 0:
        nlocks = x.v("olocks")
    elif nlocks == -1:
        nlocks = 1
    x.set("nlocks", nlocks)
    return _splvm(x)


def _ku_release(x: Ctx) -> Flow:
    cpu = x.cpu
    nlocks = x.v("nlocks")
    if cpu.ci_biglock_count == nlocks:
        cpu.ci_biglock_count = 0
        del x.k.locks[KERNEL_LOCK]  # __cpu_simple_unlock(kernel_lock)
        x.l.l_blcnt -= nlocks
        return None
    cpu.ci_biglock_count -= nlocks
    x.l.l_blcnt -= nlocks
    splx(x)
    return Goto("out")


def _ku_preempt(x: Ctx) -> Flow:
    return call("kpreempt", where=0) if x.l.l_dopreempt else Goto("out")


def _ku_out(x: Ctx) -> Flow:
    if x.v("countp") is not None:
        _store_count(x, x.v("olocks"))
    return Ret()


kfunc(
    "_kernel_unlock", FILE,
    S(275, "olocks = l->l_blcnt; if (olocks == 0) { if (countp != NULL) *countp = 0; "
      "return; }", _ku_olocks),
    # One step: curlwp's own count, this CPU's IPL.
    S(286, "if (nlocks == 0) nlocks = olocks; else if (nlocks == -1) { nlocks = 1; } "
      "s = splvm(); ci = curcpu();", _ku_nlocks),
    S(295, "if (ci->ci_biglock_count == nlocks) { ci->ci_biglock_count = 0; "
      "__cpu_simple_unlock(kernel_lock); l->l_blcnt -= nlocks; } else { "
      "ci->ci_biglock_count -= nlocks; l->l_blcnt -= nlocks; splx(s); }", _ku_release),
    S(301, "splx(s);", splx),
    S(302, "if (l->l_dopreempt) kpreempt(0);", _ku_preempt, label="kpreempt"),
    S(310, "if (countp != NULL) *countp = olocks;", _ku_out, label="out"),
)
