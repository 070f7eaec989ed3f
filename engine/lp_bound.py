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


# The callers of lwp_migrate(), the writer with no guard of its own, and
# what each does about LP_BOUND before it calls.
CALLERS: dict[str, Guard | None] = {
    # sys_sched.c l.436-457: any LWP of the process, no LP_BOUND test.
    "sys__sched_setaffinity": None,
    # sys_pset.c l.517-522: sched_takecpu() first, which answers a bound
    # LWP's own CPU; lwp_migrate() then returns at l_cpu == tci (l.1338).
    "sys__pset_bind": Guard("sys/kern/kern_runq.c", 383,
                            "if (l->l_pflag & LP_BOUND) return ci;"),
    # kern_cpu.c l.359-366: every LWP on the CPU going offline but bound ones.
    "cpu_xc_offline": Guard("sys/kern/kern_cpu.c", 360,
                            "if (l->l_cpu != ci || (l->l_pflag & (LP_BOUND | LP_INTR)))"
                            " { lwp_unlock(l); continue; }"),
}


@attrs.frozen
class Path:
    """One way the kernel moves an LWP: the statement that writes l_cpu,
    the 2018 code on the way that keeps a bound LWP (None: nothing does),
    the bundled scenarios that drive it with a bound psref holder (the
    first is the one `ddbstep review` explores) and the clock budget it
    needs: lwp_migrate's paths need no clock tick to move a sleeper."""

    name: str
    writer: tuple[str, int]
    guard: Guard | None
    scenarios: tuple[str, ...]
    ticks: int = 3
    # The statement the scenarios' replays run to show the path (the
    # writer, unless the point is a caller's guard that keeps it away).
    probe: tuple[str, int] | None = None

    def shown_at(self) -> tuple[str, int]:
        return self.probe or self.writer


PATHS: tuple[Path, ...] = (
    Path("mi_switch -> sched_idle", ("sched_idle", 632), GUARDS[("sched_idle", 632)],
         ("seed-race-3x1", "seed-race")),
    Path("_sched_setaffinity -> lwp_migrate", ("lwp_migrate", 1345),
         CALLERS["sys__sched_setaffinity"], ("setaffinity-sleeping",), ticks=0),
    Path("_pset_bind -> sched_takecpu -> lwp_migrate", ("lwp_migrate", 1345),
         CALLERS["sys__pset_bind"], ("pset-bind", "pset-bind-sleeping"),
         probe=("sys__pset_bind", 522)),
    Path("cpu_xc_offline -> lwp_migrate", ("lwp_migrate", 1345),
         CALLERS["cpu_xc_offline"], ("cpu-offline",), probe=("cpu_xc_offline", 359)),
    Path("sched_nextlwp/sched_idle -> sched_catchlwp", ("sched_catchlwp", 507),
         GUARDS[("sched_catchlwp", 507)], ("catchlwp-bound",)),
    Path("wakeup: sleepq_remove -> sched_takecpu", ("sleepq_remove", 149),
         GUARDS[("sleepq_remove", 149)], ("wakeup-bound",)),
)

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
        if w.guard is None:
            for caller, cg in CALLERS.items():
                out.append(f"    called from {caller}(): " + (
                    f"{cg.file}:{cg.line}: {cg.code}" if cg is not None
                    else "no LP_BOUND test"))
    return out
