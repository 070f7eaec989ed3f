"""x86_machdep.c 1.120: cpu_need_resched() and cpu_kpreempt_enter()."""

from __future__ import annotations

from engine.kernel import Kernel, lwp_fixed_flags
from engine.param import DOPREEMPT_ACTIVE, IPL_PREEMPT, LW_IDLE, RESCHED_KPREEMPT, SIR_PREEMPT


def softint_trigger(k: Kernel, ci: int, mask: int) -> None:
    """x86 softint_trigger(): a soft interrupt pending on ci, run when its
    IPL drops below the soft interrupt's (Xspllower, Xdoreti)."""
    k.cpus[ci].ci_ipending |= mask


def cpu_need_resched(k: Kernel, ci: int, flags: int) -> None:
    cpu = k.cpus[ci]
    cpu.ci_want_resched |= flags
    l = k.lwps[cpu.ci_curlwp]
    if lwp_fixed_flags(l) & LW_IDLE:
        # The idle LWP notices r_count on its next pass; an IPI only wakes it.
        return
    if flags & RESCHED_KPREEMPT:
        # __HAVE_PREEMPTION: l.317-322. For another CPU the X86_IPI_KPREEMPT
        # handler does the softint_trigger() there; the model delivers the
        # IPI at once.
        l.l_dopreempt |= DOPREEMPT_ACTIVE
        softint_trigger(k, ci, 1 << SIR_PREEMPT)


def cpu_kpreempt_enter(k: Kernel, ci: int, s: int) -> bool:
    """l.374-397: if SPL raised, can't go; the softint retries later. (The
    paranoid aston() only forces an AST trap on the way to user mode, which
    looks at ci_want_resched; the model keeps no astpending.)"""
    if s > IPL_PREEMPT:
        softint_trigger(k, ci, 1 << SIR_PREEMPT)
        return False
    return True
