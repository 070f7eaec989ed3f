"""What shared state a transition touches, and under which lock.

The explorer's partial-order reduction stands on the kernel's own lock
discipline, checked as it goes (S. Stoller, "Model-checking multi-threaded
distributed Java programs", STTT 4(1), 2002):

  - an LWP's fields are covered by the lock its l_mutex names
    (sys/lwp.h: "l: *l_mutex"), its stack by the CPU that runs it;
  - a CPU's run queue fields (spc_mutex) by its spc_mutex, its private
    fields (IPL, mutex count, psref list, curlwp) by running on that CPU;
  - anything else (hardclock_ticks, psrefs, the panic state) is shared.

A transition whose accesses are all covered by something its CPU holds
commutes with everything other CPUs can do before it lets go: no other
CPU can touch what it touches. Every transition the search executes is
traced; an access that breaks the discipline (a field read or written
without its lock, as sched_takecpu() reads l_pflag) moves that field to
`racy` and the search starts again with the smaller assumption. A search
that finishes without a violation has thereby checked the discipline on
every state it kept, which is what makes the reduced search sound.

Tracing swaps the copy's objects to subclasses whose attribute hooks
record each access, then swaps them back: the state itself stays plain.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

import attrs

from engine import machine
from engine.kern_runq import spc_mutex
from engine.kernel import LW_FIXED, Cow, Cpu, Kernel, Lwp, Psref, clone, view
from engine.machine import (
    FUNCS,
    PREEMPTING,
    Ctx,
    deliver_into,
    in_user,
    step_into,
    take_preemption,
)
from engine.param import IPL_CLOCK, IPL_NONE, IPL_VM, LW_IDLE
from engine.scenario import MAX_CPUS

# Fields nobody writes after boot: reading them commutes with everything.
LWP_FIXED = frozenset({"idx", "l_lid", "l_proc", "l_name", "addr", "kstack", "program", "args"})
# (spc_psid: psrset -a before boot; the model runs no sys_pset_assign().)
CPU_FIXED = frozenset({"ci_index", "addr", "ci_idlelwp", "cr2", "spc_psid"})
# An LWP's own fields: touched only by code the LWP itself runs.
# (l_blcnt is "!: count of kernel_lock held", l_biglocks its saved count.)
LWP_SELF = frozenset({"stack", "l_nopreempt", "l_blcnt", "l_biglocks"})
# A CPU's own fields: touched only by code running on that CPU.
# (ci_biglock_count and ci_biglock_wanted change at splvm on their CPU.)
CPU_SELF = frozenset({"ci_ilevel", "ci_mtx_count", "ci_mtx_oldspl", "psrefs", "in_ddb",
                      "ci_curlwp", "spc_ticks", "spc_schedticks", "spc_flags",
                      "ci_biglock_count", "ci_biglock_wanted"})
# What check_invariants() reads: writing it with no lock held is visible.
INV_LWP = frozenset({"l_stat", "l_cpu", "l_flag", "l_ctxswtch"})
INV_CPU = frozenset({"runq", "spc_migrating", "ci_curlwp", "psrefs"})

Field = tuple[str, str]  # (struct, field), e.g. ("lwp", "l_pflag")

_LWP_TRACKED = frozenset(a.name for a in attrs.fields(Lwp) if a.init) - LWP_FIXED
_CPU_TRACKED = frozenset(a.name for a in attrs.fields(Cpu) if a.init) - CPU_FIXED
_PSREF_TRACKED = frozenset(a.name for a in attrs.fields(Psref) if a.init) - {"idx", "addr"}


@attrs.define
class Footprint:
    """One transition's accesses, judged against the discipline."""

    visible: bool = False  # touches shared state, or takes a contended lock
    touched: bool = False  # touches what an interrupt handler may touch
    cpu_bound: bool = False  # depends on which CPU runs it (curcpu(), per-CPU data)
    inv_write: bool = False  # writes what the invariants read
    lock_write: bool = False  # takes or lets go of a lock
    violation: tuple[str, Field] | None = None  # first access that broke the discipline
    why: Field | None = None  # first shared field it touched
    # Where it read and wrote: (struct, index, field), ("lock", name), ("k", field);
    # field "*" stands for the whole struct (its own CPU and LWP).
    acc: set[tuple[Any, ...]] = attrs.field(factory=set)
    wr: set[tuple[Any, ...]] = attrs.field(factory=set)
    # The structures it wrote: (struct kind, index, field names), in the
    # order cloned into the new kernel (engine.stepcache keeps them).
    written: list[tuple[str, int, tuple[str, ...]]] = attrs.field(factory=list, eq=False)
    _bits: tuple[int, int] | None = attrs.field(default=None, init=False, eq=False,
                                                repr=False)

    def conflicts(self, other: Footprint) -> bool:
        """Could one change what the other reads or writes?"""
        return _meets(self.wr, other.acc) or _meets(other.wr, self.acc)

    def bits(self) -> tuple[int, int]:
        """(What it touches, what it writes), a bit for each structure, lock
        and global (object_bit): coarser than conflicts(), so footprints
        whose bits do not meet do not conflict. Computed once (a footprint
        is not changed after its transition)."""
        b = self._bits
        if b is None:
            acc = wr = 0
            for loc in self.wr:
                wr |= object_bit(loc)
            for loc in self.acc:
                acc |= object_bit(loc)
            b = self._bits = (acc | wr, wr)
        return b


# (Numbered as first met: a bit only ever stands for one of them, so the
# answers do not depend on the numbering.)
_OBJECT_BITS: dict[tuple[Any, ...], int] = {}
_OBJECTS: list[tuple[Any, ...]] = []  # the object of bit i


def object_bit(loc: tuple[Any, ...]) -> int:
    """The bit of what a location is in: ("lwp", 3, "l_stat") -> lwp 3's,
    ("lock", name) -> that lock's, ("k", name) -> that global's."""
    obj = loc[:2]
    b = _OBJECT_BITS.get(obj)
    if b is None:
        b = _OBJECT_BITS[obj] = 1 << len(_OBJECT_BITS)
        _OBJECTS.append(obj)
    return b


def bit_objects(b: int) -> tuple[tuple[Any, ...], ...]:
    """The objects of a set of bits (object_bit), lowest bit first: the
    bits in the form another process can read (its numbering is its own)."""
    out = []
    i = 0
    while b:
        if b & 1:
            out.append(_OBJECTS[i])
        b >>= 1
        i += 1
    return tuple(out)


def objects_bits(objs: tuple[tuple[Any, ...], ...]) -> int:
    """bit_objects() undone, in this process's numbering."""
    b = 0
    for obj in objs:
        b |= object_bit(obj)
    return b


def _meets(wr: set[tuple[Any, ...]], acc: set[tuple[Any, ...]]) -> bool:
    for loc in wr:
        if loc in acc or (len(loc) == 3 and (loc[0], loc[1], "*") in acc):
            return True
        if len(loc) == 3 and loc[2] == "*" and any(a[:2] == loc[:2] for a in acc):
            return True
    return False


@attrs.frozen
class Discipline:
    """What the reduction assumes, less what the search has seen broken.

    racy: written without the lock that should cover it: every access is
    visible. shared_read: read without it (sched_takecpu() reading another
    CPU's load), written only under it: the covered writes are visible, the
    covered reads are not.
    """

    racy: frozenset[Field] = frozenset()
    shared_read: frozenset[Field] = frozenset()

    def weaken(self, kind: str, field: Field) -> Discipline:
        if kind == "w":
            return Discipline(self.racy | {field}, self.shared_read)
        return Discipline(self.racy, self.shared_read | {field})

    def describe(self) -> list[str]:
        return ([f"{s}.{f} (written unlocked)" for s, f in sorted(self.racy)]
                + [f"{s}.{f} (read unlocked)" for s, f in sorted(self.shared_read - self.racy)])


# Where this model breaks the discipline, as searches of the bundled
# scenarios found it: the start of every search, which still checks every
# transition it takes and starts again on anything new. Written unlocked:
# want_resched, ci_ipending and l_dopreempt (cpu_need_resched, atomics and
# the IPI that triggers the preemption softint), r_avgcount
# (sched_pstats), spc_flags (the clock's SEENRR, cleared by the switch),
# l_ctxswtch (cleared after the lock is let go), l_pflag (curlwp_bind: the
# race), l_timeout (sleepq callout), l_kpriority and spc_curpriority
# (mi_userret: curlwp's own, at kpreempt_disable), l_estcpu
# (sched_schedclock charges it before lwp_lock). Read unlocked: the load figures
# sched_takecpu and sched_catchlwp scan, the idle loop's peek at
# spc_migrating, lwp_lock's read of l_mutex, curlwp's own l_stat in
# psref's KASSERTs, another CPU's curlwp. (sched_pstats' LW_IDLE test reads
# a bit fixed since the LWP was made: kernel.lwp_fixed_flags.)
KNOWN = Discipline(
    racy=frozenset({("cpu", "ci_want_resched"), ("cpu", "ci_ipending"),
                    ("cpu", "r_avgcount"), ("cpu", "spc_flags"),
                    ("cpu", "spc_curpriority"), ("lwp", "l_ctxswtch"), ("lwp", "l_dopreempt"),
                    ("lwp", "l_estcpu"), ("lwp", "l_kpriority"), ("lwp", "l_pflag"),
                    ("lwp", "l_timeout")}),
    shared_read=frozenset({("cpu", "ci_curlwp"), ("cpu", "r_count"), ("cpu", "r_mcount"),
                           ("cpu", "runq"), ("cpu", "spc_migrating"),
                           ("idle", "l_timeout"), ("idle", "l_wchan"),
                           ("lwp", "l_cpu"), ("lwp", "l_mutex"),
                           ("lwp", "l_priority"), ("lwp", "l_stat"), ("lwp", "l_wchan")}),
)


class _Trace:
    __slots__ = ("n", "ci", "racy", "shared_read", "fp", "on", "owners", "undo")

    def __init__(self, n: Kernel, ci: int, d: Discipline) -> None:
        self.n = n
        self.ci = ci
        self.racy = d.racy
        self.shared_read = d.shared_read
        self.fp = Footprint()
        self.on = True
        self.owners: dict[int, int] | None = None
        # id(struct) -> (struct, {field: value before this transition})
        self.undo: dict[int, tuple[Any, dict[str, Any]]] = {}

    def psref_owner(self, p: int) -> int | None:
        # struct psref lives in its LWP's stack frame (doifioctl's psref).
        if self.owners is None:
            self.owners = {q: _get(l, "idx") for l in _get(self.n, "lwps")
                           if (q := Lwp.arg(l, "psref")) is not None}
        return self.owners.get(p)

    def curlwp(self) -> int:
        cur: int = _ci_curlwp(_get(self.n, "cpus")[self.ci])
        return cur


# The trace of the transition this thread is running, if any. A context
# variable, as Textual keeps its active app: the structures a traced step
# shares with other kernels change class for its duration, and another
# thread reading them (the app's screen while `search` runs) must not be
# recorded into this trace, nor see its Ctx.
_TRACE: ContextVar[_Trace | None] = ContextVar("ddbstep_trace", default=None)
_trace = _TRACE.get
_get = object.__getattribute__
_set = object.__setattr__


def _raw(cls: type) -> dict[str, Any]:
    """Each field's slot descriptor: the traced classes shadow the tracked
    fields with properties, and the tracer itself reads past them."""
    return {a.name: cls.__dict__[a.name] for a in attrs.fields(cls)}


_LWP_RAW = _raw(Lwp)
_CPU_RAW = _raw(Cpu)
_PSREF_RAW = _raw(Psref)
_KERNEL_RAW = _raw(Kernel)
_l_flag = _LWP_RAW["l_flag"].__get__
_l_mutex = _LWP_RAW["l_mutex"].__get__
_ci_curlwp = _CPU_RAW["ci_curlwp"].__get__


def _locks(t: _Trace) -> dict[str, int]:
    locks: dict[str, int] = _get(t.n, "locks")
    return locks


_LWP_FIELD = {name: ("lwp", name) for name in _LWP_TRACKED}
_IDLE_FIELD = {name: ("idle", name) for name in _LWP_TRACKED}
_CPU_FIELD = {name: ("cpu", name) for name in _CPU_TRACKED}
_SPC_MUTEX = [spc_mutex(c) for c in range(MAX_CPUS)]  # (names made once)


def _lwp_access(obj: Lwp, name: str, write: bool) -> None:
    t = _trace()
    if t is None or not t.on:
        return
    fp = t.fp
    if name not in LWP_SELF:
        fp.touched = True
    idx = _get(obj, "idx")
    loc = ("lwp", idx, name)
    fp.acc.add(loc)
    if write:
        fp.wr.add(loc)
        if name in INV_LWP:
            fp.inv_write = True
    if _l_flag(obj) & LW_IDLE:
        # A CPU's idle LWP is its own (kern_idle.c): only that CPU switches
        # to it and from it; others only glance at it (sched_pstats skips it).
        owned = _get(_get(t.n, "cpus")[t.ci], "ci_idlelwp") == idx
        _judge(t, _IDLE_FIELD[name], owned, write)
        return
    if name in LWP_SELF:
        owned = _ci_curlwp(_get(t.n, "cpus")[t.ci]) == idx
    else:
        mtx = _l_mutex(obj)
        fp.acc.add(("lwp", idx, "l_mutex"))
        fp.acc.add(("lock", mtx))
        owned = dict.get(_locks(t), mtx) == t.ci
    field = _LWP_FIELD[name]
    # (A covered read of a field nobody writes unlocked judges nothing.)
    if owned and not write and field not in t.racy:
        return
    _judge(t, field, owned, write)


def _cpu_access(obj: Cpu, name: str, write: bool) -> None:
    t = _trace()
    if t is None or not t.on:
        return
    fp = t.fp
    if write or name != "ci_curlwp":
        fp.cpu_bound = True  # (curlwp is the same LWP wherever it runs)
    # (An interrupt does not switch LWPs, nor look at the psref list.)
    if write or name not in ("ci_curlwp", "psrefs"):
        fp.touched = True
    c = _get(obj, "ci_index")
    loc = ("cpu", c, name)
    fp.acc.add(loc)
    if write:
        fp.wr.add(loc)
        if name in INV_CPU:
            fp.inv_write = True
    if name in CPU_SELF:
        owned = c == t.ci
    else:
        lock = _SPC_MUTEX[c]
        fp.acc.add(("lock", lock))
        owned = dict.get(_locks(t), lock) == t.ci
    field = _CPU_FIELD[name]
    if owned and not write and field not in t.racy:
        return
    _judge(t, field, owned, write)


def _remember(obj: Any, name: str, raw: dict[str, Any]) -> None:
    t = _trace()
    if t is None:
        return
    e = t.undo.get(id(obj))
    if e is None:
        e = t.undo[id(obj)] = (obj, {})
    if name not in e[1]:
        e[1][name] = raw[name].__get__(obj)


def _judge(t: _Trace, field: Field, owned: bool, write: bool) -> None:
    fp = t.fp
    if field in t.racy:
        fp.visible = True
    elif not owned:
        fp.visible = True
        if fp.violation is None and (write or field not in t.shared_read):
            fp.violation = ("w" if write else "r", field)
    elif write and field in t.shared_read:
        fp.visible = True
    else:
        return
    if fp.why is None:
        fp.why = field


def _shared(write: bool, loc: tuple[Any, ...]) -> None:
    t = _trace()
    if t is not None and t.on:
        t.fp.acc.add(loc)
        if write:
            t.fp.wr.add(loc)
        t.fp.visible = t.fp.touched = True
        if write:
            t.fp.inv_write = True


def _reader(access: Any, name: str, raw: dict[str, Any]) -> property:
    """A traced read of one tracked field (untracked ones are read as usual)."""
    rget = raw[name].__get__

    def fget(self: Any) -> Any:
        access(self, name, False)
        return rget(self)

    return property(fget)


class _TLwp(Lwp):
    __slots__ = ()

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "l_flag" and (_l_flag(self) ^ value) & LW_FIXED:
            # lwp_fixed_flags() is read untraced on the strength of this.
            raise AssertionError(f"lwp {_get(self, 'idx')}: l_flag's fixed bits "
                                 f"{_l_flag(self):#x} -> {value:#x}")
        if name in _LWP_TRACKED:
            _lwp_access(self, name, True)
        _remember(self, name, _LWP_RAW)
        _LWP_RAW[name].__set__(self, value)


class _TCpu(Cpu):
    __slots__ = ()

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _CPU_TRACKED:
            _cpu_access(self, name, True)
        _remember(self, name, _CPU_RAW)
        _CPU_RAW[name].__set__(self, value)


def _psref_access(obj: Psref, name: str, write: bool) -> None:
    t = _trace()
    if t is None or not t.on or name not in _PSREF_TRACKED:
        return
    idx = _get(obj, "idx")
    loc = ("psref", idx, name)
    t.fp.acc.add(loc)
    if write:
        t.fp.wr.add(loc)
    _judge(t, ("psref", name), t.psref_owner(idx) == t.curlwp(), write)


class _TPsref(Psref):
    __slots__ = ()

    def __setattr__(self, name: str, value: Any) -> None:
        _psref_access(self, name, True)
        _remember(self, name, _PSREF_RAW)
        _PSREF_RAW[name].__set__(self, value)


for _name in _LWP_TRACKED:
    setattr(_TLwp, _name, _reader(_lwp_access, _name, _LWP_RAW))
for _name in _CPU_TRACKED:
    setattr(_TCpu, _name, _reader(_cpu_access, _name, _CPU_RAW))
for _name in _PSREF_TRACKED:
    setattr(_TPsref, _name, _reader(_psref_access, _name, _PSREF_RAW))


_CI = Ctx.__dict__["ci"]  # the slot descriptor


class _TCtx(Ctx):
    """A statement that asks curcpu() depends on where its LWP runs."""

    __slots__ = ()

    @property
    def ci(self) -> int:
        t = _trace()
        if t is not None and t.on:
            t.fp.cpu_bound = True
        ci: int = _CI.__get__(self)
        return ci

    @ci.setter
    def ci(self, value: int) -> None:
        _CI.__set__(self, value)


_KERNEL_SHARED = frozenset({"hardclock_ticks", "worker_ci", "panicstr", "paniccpu", "msgbuf"})


def _kernel_access(obj: Kernel, name: str, write: bool) -> None:
    _shared(write, ("k", name))


class _TKernel(Kernel):
    __slots__ = ()

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _KERNEL_SHARED:
            _shared(True, ("k", name))
        raw = _KERNEL_RAW.get(name)
        if raw is None:
            object.__setattr__(self, name, value)  # (__class__)
        else:
            raw.__set__(self, value)


for _name in _KERNEL_SHARED:
    setattr(_TKernel, _name, _reader(_kernel_access, _name, _KERNEL_RAW))


def _untraceable() -> None:
    if _trace() is not None:
        raise TypeError("a traced statement may only look up a lock by its name")


class _TLocks(dict[str, int]):
    """k.locks: taking a lock is visible, letting go of our own is not."""

    def get(self, name: str, default: Any = None) -> Any:
        t = _trace()
        owner = dict.get(self, name)
        if t is not None:
            t.fp.acc.add(("lock", name))
            if owner != t.ci:
                _shared(False, ("lock", name))
        return dict.get(self, name, default)

    def __getitem__(self, name: str) -> int:
        self.get(name)
        return dict.__getitem__(self, name)

    def __contains__(self, name: object) -> bool:
        self.get(str(name))
        return dict.__contains__(self, name)

    def __setitem__(self, name: str, value: int) -> None:
        _shared(False, ("lock", name))  # mutex_spin_enter: other CPUs may want it too
        t = _trace()
        if t is not None:
            t.fp.wr.add(("lock", name))
            t.fp.lock_write = True
        dict.__setitem__(self, name, value)

    def __delitem__(self, name: str) -> None:
        t = _trace()
        if t is not None and dict.get(self, name) != t.ci:
            _shared(True, ("lock", name))
        if t is not None:
            t.fp.touched = True
            t.fp.lock_write = True
            t.fp.acc.add(("lock", name))
            t.fp.wr.add(("lock", name))
        dict.__delitem__(self, name)


def _guarded(name: str) -> Any:
    """dict's own method, refused inside a traced transition."""
    plain = getattr(dict, name)

    def method(self: _TLocks, *args: Any) -> Any:
        _untraceable()
        return plain(self, *args)

    method.__name__ = name
    return method


# A look at every lock (which ones, how many) would be a read the footprint
# cannot name, and the step cache would answer wrongly: inside a traced
# transition it is an error.
for _name in ("__iter__", "__len__", "keys", "values", "items"):
    setattr(_TLocks, _name, _guarded(_name))


def _traced(k: Kernel, ci: int, d: Discipline, run: Any) -> tuple[Kernel, Footprint]:
    """Run one transition on a copy-on-write view of k, tracing it.

    The view shares k's structures; each write first saves the old value,
    and at the end every structure written is cloned into the new kernel
    and restored in k. Only what the transition changed is copied; the
    footprint returned names what was written (Footprint.written).

    The invariant that remains: for the duration of the call, k's
    structures are of the traced classes. The trace and the tracer's Ctx
    are this thread's (context variables): another thread reading them
    through their fields records nothing and sees the plain Ctx, but it
    must not step a kernel that shares them until the call returns.
    """
    # (Positional: Kernel's fields in order, config ... msgbuf.)
    # A kernel copied on write (Kernel.copy) makes every structure its own
    # first: the view below shares them, and nothing may clone one of k's
    # while they are of the traced classes.
    for lst in (k.lwps, k.cpus, k.psrefs):
        if type(lst) is Cow:
            lst.own_all()
    # (k's own structures, never copies of them: view(), not iteration.)
    n = Kernel(k.config, k.procs, k.ifnets, list(view(k.lwps)), list(view(k.cpus)),
               list(view(k.psrefs)),
               _TLocks(k.locks), k.hardclock_ticks, k.worker_ci, k.panicstr, k.paniccpu,
               k.msgbuf)
    for lw in n.lwps:
        lw.__class__ = _TLwp
    for c in n.cpus:
        c.__class__ = _TCpu
    for p in n.psrefs:
        p.__class__ = _TPsref
    n.__class__ = _TKernel
    t = _Trace(n, ci, d)
    # What the machine reads and writes of the CPU and its LWP outside the
    # traced statement (the interrupt return path, the frame push).
    own = {("cpu", ci, "*"), ("lwp", k.cpus[ci].ci_curlwp, "*")}
    t.fp.acc |= own
    t.fp.wr |= own
    token = _TRACE.set(t)
    ctx = machine.STATEMENT_CTX.set(_TCtx)
    try:
        out = run(n)
    finally:
        machine.STATEMENT_CTX.reset(ctx)
        _TRACE.reset(token)
        n.__class__ = Kernel
        n.locks = dict(dict.items(n.locks))
        # (Past the traced classes' __setattr__: nothing to record here.)
        for lw in view(k.lwps):
            _set(lw, "__class__", Lwp)
        for c in view(k.cpus):
            _set(c, "__class__", Cpu)
        for p in view(k.psrefs):
            _set(p, "__class__", Psref)
        written = t.fp.written
        for obj, old in t.undo.values():
            new = clone(obj)
            for name, value in old.items():
                object.__setattr__(obj, name, value)
            names = tuple(sorted(old))
            if type(obj) is Lwp:
                n.lwps[obj.idx] = new
                written.append(("lwp", obj.idx, names))
            elif type(obj) is Cpu:
                n.cpus[obj.ci_index] = new
                written.append(("cpu", obj.ci_index, names))
            else:
                n.psrefs[obj.idx] = new
                written.append(("psref", obj.idx, names))
    return (k if out is k else n), t.fp


def traced_step(k: Kernel, ci: int, d: Discipline) -> tuple[Kernel, Footprint]:
    """step(k, ci) and what it touched (k itself if no progress)."""
    if k.panicstr is not None or k.cpus[ci].in_ddb:
        return k, Footprint(visible=True)

    def run(n: Kernel) -> Kernel:
        # The interrupt return path stays out of the footprint:
        # independent() asks preemptible() about it.
        t = _trace()
        assert t is not None
        t.on = False
        took = take_preemption(n, ci, n.curlwp(ci))
        t.on = True
        t.fp.visible |= took
        return step_into(k, n, ci, took)

    return _traced(k, ci, d, run)


def traced_deliver(k: Kernel, ci: int, handler: str, ipl: int, d: Discipline,
                   **args: Any) -> tuple[Kernel, Footprint]:
    if k.panicstr is not None or k.cpus[ci].in_ddb or k.cpus[ci].ci_ilevel >= ipl:
        return k, Footprint(visible=True)
    return _traced(k, ci, d, lambda n: deliver_into(k, n, ci, handler, ipl, **args))


def preempt_signature(k: Kernel, ci: int) -> tuple[bool, bool, bool, bool, int, bool]:
    """What an interrupt, or the return from one, looks at in the CPU's LWP.

    A statement that leaves this alone, and touches nothing but its own
    frames, commutes with an interrupt and with the preemption it causes:
    the preempted LWP runs the statement when it resumes, wherever.
    """
    l = k.curlwp(ci)
    top = l.stack[-1] if l.stack else None
    func = FUNCS[top.func] if top is not None else None
    return (
        in_user(k, l),
        bool(func and func.atomic),
        bool(func and top is not None and top.pc < len(func.stmts)
             and func.stmts[top.pc].label == "hlt"),
        any(fr.func in PREEMPTING for fr in l.stack),
        k.cpus[ci].ci_curlwp,
        preemptible(k, ci),
    )


def preemptible(k: Kernel, ci: int) -> bool:
    """Could another CPU's request make ci's next step a preemption or AST?"""
    cpu = k.cpus[ci]
    l = k.curlwp(ci)
    if in_user(k, l):
        return True
    return cpu.ci_ilevel == IPL_NONE and cpu.ci_mtx_count == 0 and l.l_nopreempt == 0


def interruptible(k: Kernel, ci: int, ticks: int) -> bool:
    """Could an interrupt reach ci before its next statement?"""
    level = k.cpus[ci].ci_ilevel
    if ticks > 0 and level < IPL_CLOCK:
        return True
    # A device interrupts only while an LWP waits for it (an LWP whose
    # scenario says sleep = true waits in the synthetic slpdev_ioctl).
    return level < IPL_VM and _device_sleepers(k)


_SLEEPERS: dict[int, tuple[tuple[Any, ...], bool]] = {}


def _device_sleepers(k: Kernel) -> bool:
    """Does any LWP's program wait for a device? Fixed at boot: every state
    of one scenario shares its procs tuple, which keys the answer."""
    hit = _SLEEPERS.get(id(k.procs))
    if hit is None or hit[0] is not k.procs:
        hit = _SLEEPERS[id(k.procs)] = (k.procs, any(l.arg("sleep", False) for l in view(k.lwps)))
    return hit[1]


def holds_lock(k: Kernel, ci: int) -> bool:
    return ci in k.locks.values()


def independent(k: Kernel, n: Kernel, ci: int, fp: Footprint, ticks: int) -> bool:
    """May this step of ci be explored alone from k (an ample set of one)?

    It must touch nothing another CPU can touch before ci lets go of its
    locks; if an interrupt or a preemption can come first, it must touch
    only its own frames and leave what they look at alone; with no lock
    held (where the invariants are checked) it must not change what they
    read.
    """
    if fp.visible or fp.violation is not None:
        return False
    intr = interruptible(k, ci, ticks)
    pre = preemptible(k, ci)
    if (intr or pre) and (fp.touched or preempt_signature(k, ci) != preempt_signature(n, ci)):
        return False
    # Preempted first, the LWP may resume on another CPU.
    if pre and fp.cpu_bound:
        return False
    return not (fp.inv_write and not holds_lock(k, ci))
