"""The model's invariants, checked in every state a search keeps.
"""

from __future__ import annotations

from engine.kernel import Kernel
from engine.param import LSONPROC, LSRUN, LSSLEEP, LW_IDLE


def check_invariants(k: Kernel) -> str | None:
    """The model's invariants; a message names the first one broken.

    They are what the scheduler locks protect, so they are checked in the
    states where no spin mutex is held (mid-update states are legal).
    """
    if k.locks:
        return None
    where: dict[int, list[int]] = {}
    for c in k.cpus:
        for i in c.runq:
            where.setdefault(i, []).append(c.ci_index)
        if c.spc_migrating is not None and c.spc_migrating not in c.runq:
            return f"spc_migrating of cpu{c.ci_index} is not queued on cpu{c.ci_index}"
        cur = k.lwps[c.ci_curlwp]
        # (An LWP still switching away, l_ctxswtch, may already belong elsewhere.)
        if (cur.l_stat == LSONPROC and cur.l_cpu != c.ci_index and not cur.l_flag & LW_IDLE
                and not cur.l_ctxswtch):
            return f"lwp {cur.idx} runs on cpu{c.ci_index} with l_cpu cpu{cur.l_cpu}"
    for l in k.lwps:
        qs = where.get(l.idx, [])
        if len(qs) > 1:
            return f"lwp {l.idx} is on {len(qs)} run queues"
        if l.l_stat == LSRUN and qs != [l.l_cpu]:
            return f"lwp {l.idx} is LSRUN but not queued on its l_cpu cpu{l.l_cpu}"
        if l.l_stat in (LSONPROC, LSSLEEP) and qs:
            return f"lwp {l.idx} is queued while {'LSONPROC' if l.l_stat == LSONPROC else 'asleep'}"
    for p in k.psrefs:
        lists = [c.ci_index for c in k.cpus if p.idx in c.psrefs]
        if len(lists) > 1:
            return f"psref {p.idx} is on {len(lists)} CPU lists"
    return None
