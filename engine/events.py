"""What one step did, in the race's own terms: for timelines and highlights.

diff_events() compares the kernel before and after a step (or a command)
and names the events that matter to the race: a migration planned
(l_target_cpu set), LP_BOUND set or cleared, a psref linked or unlinked,
spc_migrating set, an LWP moved to another CPU, a panic.
"""

from __future__ import annotations

import attrs

from engine.kernel import Kernel, lwp_fixed_flags
from engine.machine import CHECK_FAILED
from engine.param import LP_BOUND, LW_SYSTEM


@attrs.frozen
class Event:
    kind: str  # target, bind, unbind, acquire, release, migrating, migrated, panic, switch
    cpu: int  # the CPU where it shows on a timeline
    text: str


def _who(k: Kernel, i: int) -> str:
    l = k.lwps[i]
    return f"{k.proc(l).p_comm} {k.proc(l).p_pid}.{l.l_lid}"


def diff_events(before: Kernel, after: Kernel, ci: int) -> list[Event]:
    out: list[Event] = []
    st = before.curlwp(ci).stack
    by = st[-1].func if st else "?"  # the function whose statement ran
    for a, b in zip(before.lwps, after.lwps, strict=True):
        if a.l_target_cpu != b.l_target_cpu and b.l_target_cpu is not None:
            out.append(Event("target", ci,
                             f"{_who(after, b.idx)}: l_target_cpu = cpu{b.l_target_cpu}"))
        if not a.l_pflag & LP_BOUND and b.l_pflag & LP_BOUND:
            out.append(Event("bind", ci, f"{_who(after, b.idx)}: LP_BOUND set ({by})"))
        if a.l_pflag & LP_BOUND and not b.l_pflag & LP_BOUND:
            out.append(Event("unbind", ci, f"{_who(after, b.idx)}: LP_BOUND cleared ({by})"))
        if a.l_cpu != b.l_cpu:
            out.append(Event("migrated", ci,
                             f"{_who(after, b.idx)}: l_cpu cpu{a.l_cpu} -> cpu{b.l_cpu}"))
    for ca, cb in zip(before.cpus, after.cpus, strict=True):
        for p in set(cb.psrefs) - set(ca.psrefs):
            out.append(Event("acquire", ci, f"psref on cpu{cb.ci_index}'s list"
                             f" ({_who(after, after.psrefs[p].psref_lwp or 0)})"))
        if set(ca.psrefs) - set(cb.psrefs):
            out.append(Event("release", ci, f"psref off cpu{cb.ci_index}'s list"))
        if ca.spc_migrating is None and cb.spc_migrating is not None:
            out.append(Event("migrating", ci, f"cpu{cb.ci_index}: spc_migrating ="
                             f" {_who(after, cb.spc_migrating)}"))
    if before.panicstr is None and after.panicstr is not None:
        out.append(Event("panic", after.paniccpu if after.paniccpu is not None else ci,
                         ("check " if after.panicstr.startswith(CHECK_FAILED) else "KASSERT: ")
                         + explain_panic(after)))
    return out


def _name(k: Kernel, i: int) -> str:
    """_who(), with a kernel thread's own name (idle/3, swapper)."""
    l = k.lwps[i]
    return l.l_name if k.proc(l).p_pid == 0 and l.l_name else _who(k, i)


def _in_race(k: Kernel, i: int) -> bool:
    """An LWP the race is about: a user LWP bound, holding a psref, or with
    a planned move (kernel threads, the idle LWPs among them, are bound
    from birth)."""
    l = k.lwps[i]
    if lwp_fixed_flags(l) & LW_SYSTEM:
        return False
    return bool(l.l_pflag & LP_BOUND or l.l_target_cpu is not None
                or any(p.psref_lwp == i and any(p.idx in c.psrefs for c in k.cpus)
                       for p in k.psrefs))


def race_events(before: Kernel, after: Kernel, ci: int) -> list[Event]:
    """diff_events() and the context switches of the LWPs the race is about
    (cpu_switchto() on ci: the preemption that lets a bound psref holder go,
    the CPU that picks it up): the steps a plan stops at (`follow`)."""
    out = diff_events(before, after, ci)
    old, new = before.cpus[ci].ci_curlwp, after.cpus[ci].ci_curlwp
    if old != new and (_in_race(before, old) or _in_race(after, new)):
        out.insert(0, Event("switch", ci, f"cpu{ci}: cpu_switchto from {_name(before, old)}"
                                          f" to {_name(after, new)}"))
    return out


def explain_panic(k: Kernel) -> str:
    """The panic in words, from the state: who, what, where."""
    if k.panicstr is None:
        return "the kernel did not panic"
    ci = k.paniccpu if k.paniccpu is not None else 0
    l = k.curlwp(ci)
    comm = k.proc(l).p_comm
    held = [p for p in k.psrefs if p.psref_lwp == l.idx and p.psref_cpu is not None]
    msg = k.panicstr
    if msg.startswith(CHECK_FAILED):
        return msg.removeprefix("check ")
    if "transferred from CPU" in msg and held:
        return (f"the psref {comm} took on CPU {held[0].psref_cpu} is released on CPU {ci}")
    if "transferred from lwp" in msg:
        return f"{comm} releases, on CPU {ci}, a psref another LWP took"
    if "CPU-local" in msg:
        return (f"{comm} uses a psref on CPU {ci} while neither bound, in a softint, "
                "nor with preemption disabled")
    if "l->l_cpu" in msg:
        return f"{comm} resumed on CPU {ci} but its l_cpu says otherwise"
    return f"{comm} panicked on CPU {ci}"
