"""sys/kern/subr_psref.c 1.11: passive references.

A psref is CPU-local: psref_acquire() records curcpu() in psref_cpu and
links the psref on that CPU's list; psref_release() asserts, in this
order, that it is still CPU-local, of the right class, on the right
target, held by the same LWP, and on the same CPU -- the fifth is the
KASSERT of the report.
"""

from __future__ import annotations

from engine.kernel import lwp_fixed_flags
from engine.machine import Ctx, Flow, Ret, S, kfunc, splraise, splx
from engine.param import IPL_NONE, IPL_SOFTNET, LP_BOUND, LP_INTR, LSZOMB, LW_IDLE
from engine.subr_prf import KASSERTMSG

FILE = "sys/kern/subr_psref.c"

CPU_LOCAL = (
    "(kpreempt_disabled() || cpu_softintr_p() || ISSET(curlwp->l_pflag, LP_BOUND))"
)
CPU_LOCAL_MSG = (
    "passive references are CPU-local, but preemption is enabled and the"
    " caller is not in a softint or CPU-bound LWP"
)
CLASS = "ifnet"


def kpreempt_disabled(x: Ctx) -> bool:
    l = x.l
    return (
        l.l_nopreempt != 0
        or l.l_stat == LSZOMB
        or (lwp_fixed_flags(l) & LW_IDLE) != 0
        or x.cpu.ci_ilevel > IPL_NONE  # x86 cpu_kpreempt_disabled()
    )


def _cpu_local(x: Ctx) -> Flow:
    ok = kpreempt_disabled(x) or bool(x.l.l_pflag & LP_INTR) or bool(x.l.l_pflag & LP_BOUND)
    return KASSERTMSG(x, ok, CPU_LOCAL, CPU_LOCAL_MSG)


def _class(x: Ctx) -> Flow:
    target = x.k.ifnets[x.v("target")]
    return KASSERTMSG(
        x, target.prt_class == CLASS, "(target->prt_class == class)",
        f"mismatched psref target class: {target.prt_class} (ref) != {CLASS} (expected)",
    )


def _draining(x: Ctx) -> Flow:
    target = x.k.ifnets[x.v("target")]
    return KASSERTMSG(
        x, not target.prt_draining, "(!target->prt_draining)",
        f"psref target already destroyed: {target.addr:#x}",
    )


def _getref(x: Ctx) -> Flow:
    x.l.l_nopreempt += 1  # percpu_getref() = kpreempt_disable() + our slot
    return None


def _insert(x: Ctx) -> Flow:
    x.cpu.psrefs = (x.v("psref"),) + x.cpu.psrefs
    return None


def _record(x: Ctx) -> Flow:
    p = x.k.psrefs[x.v("psref")]
    p.psref_target = x.v("target")
    p.psref_lwp = x.l.idx
    p.psref_cpu = x.ci
    return None


def _putref(x: Ctx) -> Flow:
    x.l.l_nopreempt -= 1
    return None


kfunc(
    "psref_acquire", FILE,
    S(252, "KASSERTMSG((kpreempt_disabled() || cpu_softintr_p() || "
      "ISSET(curlwp->l_pflag, LP_BOUND)), \"passive references are CPU-local, ...\");",
      _cpu_local, end_line=256),
    S(257, "KASSERTMSG((target->prt_class == class), \"mismatched psref target class: ...\", "
      "target->prt_class, class);", _class, end_line=259),
    S(260, "KASSERTMSG(!target->prt_draining, \"psref target already destroyed: %p\", "
      "target);", _draining, end_line=261),
    S(264, "s = splraiseipl(class->prc_iplcookie);", splraise(IPL_SOFTNET)),
    S(265, "pcpu = percpu_getref(class->prc_percpu);", _getref),
    # psref_check_duplication() (l.267-270) is #ifdef DEBUG: not in GENERIC.
    S(273, "SLIST_INSERT_HEAD(&pcpu->pcpu_head, psref, psref_entry);", _insert),
    # One step: the psref is the caller's, this CPU's list is at raised IPL.
    S(274, "psref->psref_target = target; psref->psref_lwp = curlwp; "
      "psref->psref_cpu = curcpu();", _record),
    S(279, "percpu_putref(class->prc_percpu);", _putref),
    S(280, "splx(s);", splx),
    S(281, "}", lambda x: Ret()),
)


def _target(x: Ctx) -> Flow:
    p = x.k.psrefs[x.v("psref")]
    t = x.v("target")
    tn = x.k.ifnets[p.psref_target].addr if p.psref_target is not None else 0
    return KASSERTMSG(
        x, p.psref_target == t, "(psref->psref_target == target)",
        "passive reference target mismatch: "
        f"{tn:#x} (ref) != {x.k.ifnets[t].addr:#x} (expected)",
    )


def _lwp(x: Ctx) -> Flow:
    p = x.k.psrefs[x.v("psref")]
    held = x.k.lwps[p.psref_lwp].addr if p.psref_lwp is not None else 0
    return KASSERTMSG(
        x, p.psref_lwp == x.l.idx, "(psref->psref_lwp == curlwp)",
        f"passive reference transferred from lwp {held:#x} to lwp {x.l.addr:#x}",
    )


def _cpu(x: Ctx) -> Flow:
    p = x.k.psrefs[x.v("psref")]
    held = x.k.cpus[p.psref_cpu].ci_index if p.psref_cpu is not None else 0
    return KASSERTMSG(
        x, p.psref_cpu == x.ci, "(psref->psref_cpu == curcpu())",
        f"passive reference transferred from CPU {held} to CPU {x.cpu.ci_index}",
    )


def _remove(x: Ctx) -> Flow:
    # SLIST_REMOVE walks the *current* CPU's list.
    x.cpu.psrefs = tuple(i for i in x.cpu.psrefs if i != x.v("psref"))
    return None


kfunc(
    "psref_release", FILE,
    S(299, "KASSERTMSG((kpreempt_disabled() || cpu_softintr_p() || "
      "ISSET(curlwp->l_pflag, LP_BOUND)), \"passive references are CPU-local, ...\");",
      _cpu_local, end_line=303),
    S(304, "KASSERTMSG((target->prt_class == class), \"mismatched psref target class: ...\", "
      "target->prt_class, class);", _class, end_line=306),
    S(309, "KASSERTMSG((psref->psref_target == target), \"passive reference target mismatch: "
      "...\", psref->psref_target, target);", _target, end_line=311),
    S(312, "KASSERTMSG((psref->psref_lwp == curlwp), \"passive reference transferred from lwp "
      "%p to lwp %p\", psref->psref_lwp, curlwp);", _lwp, end_line=314),
    S(315, "KASSERTMSG((psref->psref_cpu == curcpu()), \"passive reference transferred from "
      "CPU %u to CPU %u\", cpu_index(psref->psref_cpu), cpu_index(curcpu()));", _cpu,
      label="kassert_cpu", end_line=317),
    S(325, "s = splraiseipl(class->prc_iplcookie);", splraise(IPL_SOFTNET)),
    S(326, "pcpu = percpu_getref(class->prc_percpu);", _getref),
    # psref_check_existence() (l.327-330) is #ifdef DEBUG: not in GENERIC.
    S(331, "SLIST_REMOVE(&pcpu->pcpu_head, psref, psref, psref_entry);", _remove),
    S(332, "percpu_putref(class->prc_percpu);", _putref),
    S(333, "splx(s);", splx),
    S(336, "if (__predict_false(target->prt_draining)) cv_broadcast(&class->prc_cv);"),
    S(338, "}", lambda x: Ret()),
)
