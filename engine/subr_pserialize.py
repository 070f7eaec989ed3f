"""subr_pserialize.c 1.12: pserialize_read_enter() and pserialize_read_exit().

A read section is an IPL raised to IPL_SOFTSERIAL; its exit is splx(), which
runs a preemption requested meanwhile (Xspllower), right after the read
section: in if_get(), after psref_acquire(). GENERIC has no LOCKDEBUG: the
read counters are not compiled.
"""

from __future__ import annotations

from engine.machine import Ret, S, kfunc, splraise, splx
from engine.param import IPL_SOFTSERIAL

FILE = "sys/kern/subr_pserialize.c"

kfunc(
    "pserialize_read_enter", FILE,
    # KASSERT(!cpu_intr_p()) (l.207): no interrupt handler calls if_get().
    S(208, "s = splsoftserial();", splraise(IPL_SOFTSERIAL)),
    S(219, "return s;", lambda x: Ret(x.v("s"))),
)

kfunc(
    "pserialize_read_exit", FILE,
    S(236, "splx(s);", splx),
    S(237, "}", lambda x: Ret()),
)
