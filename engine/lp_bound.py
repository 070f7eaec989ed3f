"""Who moves an LWP: the statements that write l_cpu, and what in the 2018
kernel keeps each from moving an LWP whose LP_BOUND is set.

The writers are read from the model's statements (a store to l_cpu in a
statement's op or the engine helpers it reaches), never listed by hand;
GUARDS gives each the 2018 code that guards it, or None where nothing
does. tests/engine/test_lp_bound.py fails when a statement writes l_cpu
and has no row here: a new way to move an LWP must be read against the
source before the model grows it.
"""

from __future__ import annotations

import dis
from functools import cache

import attrs

from engine.callgraph import code_of
from engine.machine import FUNCS

# --fix=complete: the report's fix, and this for the path it leaves open.
# ddbstep's proposal, not NetBSD's code: a bound sleeper is retargeted as
# a running LWP is (l_target_cpu), and moves only once mi_switch() hands
# it over unbound. Proved on setaffinity-sleeping (engine: docs/fix.md).
COMPLETE_FIX = "\n".join([
    "--- sys/kern/kern_lwp.c\t(NetBSD 1.194)",
    "+++ sys/kern/kern_lwp.c\t(ddbstep's proposal, not NetBSD's)",
    "@@ -1353,3 +1353,6 @@ lwp_migrate(lwp_t *l, struct cpu_info *tci)",
    " \tcase LSSLEEP:",
    "-\t\tl->l_cpu = tci;",
    "+\t\tif ((l->l_pflag & LP_BOUND) != 0)",
    "+\t\t\tl->l_target_cpu = tci;\t/* moved when no longer bound */",
    "+\t\telse",
    "+\t\t\tl->l_cpu = tci;",
    " \t\tbreak;",
    "",
])


@attrs.frozen
class Guard:
    file: str
    line: int
    code: str
    fix_only: bool = False  # the report's fix (kern_synch.c 1.318) puts it there


# (function, the writing statement's line) -> its guard, or None.
GUARDS: dict[tuple[str, int], Guard | None] = {
    # sched_idle() moves the LWP mi_switch() put in spc_migrating; before
    # the fix mi_switch() did so without looking at LP_BOUND.
    ("sched_idle", 632): Guard("sys/kern/kern_synch.c", 579,
                               "if (l->l_target_cpu != NULL && (l->l_pflag & LP_BOUND) == 0)"
                               " spc->spc_migrating = l;", fix_only=True),
    # sched_catchlwp() steals from another CPU's run queue.
    ("sched_catchlwp", 507): Guard("sys/kern/kern_runq.c", 488,
                                   "if ((l->l_pflag & LP_BOUND) || lwp_cache_hot(l) || ...)"
                                   " continue;"),
    # The wakeup: sleepq_remove() asks sched_takecpu(), which keeps a bound
    # LWP on its CPU.
    ("sleepq_remove", 149): Guard("sys/kern/kern_runq.c", 383,
                                  "if (l->l_pflag & LP_BOUND) return ci;"),
    # _sched_setaffinity() -> lwp_migrate() on a sleeping LWP: l_cpu = tci,
    # no LP_BOUND test anywhere on the path.
    ("lwp_migrate", 1345): None,
}


@attrs.frozen
class Path:
    """The bundled scenarios that drive a writer with a bound psref holder
    (the first is the one `ddbstep review` explores) and the clock budget
    it needs: lwp_migrate's path needs no clock tick, and its proof under
    the complete fix fits the review's budget only without them."""

    scenarios: tuple[str, ...]
    ticks: int = 3


PATHS: dict[tuple[str, int], Path] = {
    ("sched_idle", 632): Path(("seed-race-3x1", "seed-race")),
    ("sched_catchlwp", 507): Path(("catchlwp-bound",)),
    ("sleepq_remove", 149): Path(("wakeup-bound",)),
    ("lwp_migrate", 1345): Path(("setaffinity-sleeping",), ticks=0),
}

# The guards --fix=complete adds (ddbstep's proposal, COMPLETE_FIX).
PROPOSED: dict[tuple[str, int], Guard] = {
    ("lwp_migrate", 1345): Guard("sys/kern/kern_lwp.c", 1353,
                                 "case LSSLEEP: if ((l->l_pflag & LP_BOUND) != 0)"
                                 " l->l_target_cpu = tci; else l->l_cpu = tci;"
                                 " (ddbstep's proposal)"),
}


def _stores(op: object, field: str) -> bool:
    """Does the op (or an engine helper it reaches) store to field?"""
    return any(i.opname == "STORE_ATTR" and i.argval == field
               for c in code_of(op) for i in dis.get_instructions(c))


@attrs.frozen
class Writer:
    func: str
    file: str
    line: int
    text: str
    guard: Guard | None


@cache
def writers(field: str = "l_cpu") -> tuple[Writer, ...]:
    """Every modeled statement that stores to field, with its guard row
    (KeyError: a writer with no row)."""
    out = []
    for name, f in FUNCS.items():
        for st in f.stmts:
            if _stores(st.op, field):
                out.append(Writer(name, f.file, st.line, st.text, GUARDS[(name, st.line)]))
    return tuple(out)


def table(fix: bool, complete: bool = False) -> list[str]:
    """The writers, one line each, with what guards them on this kernel."""
    out = []
    for w in writers():
        g = w.guard
        if complete and (w.func, w.line) in PROPOSED:
            g = PROPOSED[(w.func, w.line)]
        if g is None or (g.fix_only and not fix):
            why = "none" + (f" (the fix adds {g.file}:{g.line})" if g is not None else "")
        else:
            why = f"{g.file}:{g.line}: {g.code}"
        out.append(f"{w.func}() {w.file}:{w.line}: {w.text[:60]} -- guard: {why}")
    return out
