"""cpu_need_resched() (x86_machdep.c): ask a CPU to reschedule."""

from __future__ import annotations

from engine.kernel import Kernel
from engine.param import DOPREEMPT_ACTIVE, LW_IDLE, RESCHED_KPREEMPT


def cpu_need_resched(k: Kernel, ci: int, flags: int) -> None:
    cpu = k.cpus[ci]
    cpu.ci_want_resched |= flags
    l = k.lwps[cpu.ci_curlwp]
    if l.l_flag & LW_IDLE:
        # The idle LWP notices r_count on its next pass; an IPI only wakes it.
        return
    if flags & RESCHED_KPREEMPT:
        # __HAVE_PREEMPTION: softint (or IPI) that enters kpreempt().
        l.l_dopreempt |= DOPREEMPT_ACTIVE
