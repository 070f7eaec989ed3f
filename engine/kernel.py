"""The whole modeled kernel as one plain value.

Every field of every structure is an int, a str, None or a tuple of them,
so a Kernel can be copied cheaply (one level deep), compared with ==, and
hashed through key(). Progress lives in each LWP's frame stack (function,
statement index, locals), never in a Python generator or thread.
"""

from __future__ import annotations

import operator
from collections.abc import Iterator
from typing import Any, TypeVar

import attrs

from engine.param import LW_IDLE, LW_SYSTEM, PRI_KERNEL

Value = Any  # int | str | bool | None | tuple


def _first(kv: tuple[str, Value]) -> str:
    return kv[0]


@attrs.frozen(cache_hash=True)
class Frame:
    """One activation record on an LWP's kernel (or user) stack."""

    func: str
    pc: int = 0
    vars: tuple[tuple[str, Value], ...] = ()
    ret: str | None = None  # caller's local that receives our return value

    def get(self, name: str, default: Value = None) -> Value:
        for k, v in self.vars:
            if k == name:
                return v
        return default

    def with_var(self, name: str, value: Value) -> Frame:
        out = [(k, v) for k, v in self.vars if k != name]
        out.append((name, value))
        out.sort(key=_first)
        return Frame(self.func, self.pc, tuple(out), self.ret)


@attrs.frozen
class Proc:
    """struct proc, reduced to what ddb prints."""

    p_pid: int
    p_comm: str
    addr: int
    p_nice: int = 20  # NZERO + nice


@attrs.frozen
class Ifnet:
    """struct ifnet with its embedded psref target (if_psref)."""

    if_xname: str
    if_index: int
    addr: int
    prt_class: str = "ifnet"
    prt_draining: bool = False
    if_extflags: int = 0  # IFEF_MPSAFE: wm(4) attaches with it only under NET_MPSAFE


@attrs.define(slots=True)
class Lwp:
    """struct lwp (sys/lwp.h 1.179), the fields on the race path."""

    idx: int
    l_lid: int
    l_proc: int  # index into Kernel.procs
    l_name: str | None
    l_stat: int
    l_flag: int
    l_pflag: int
    l_cpu: int
    l_target_cpu: int | None
    l_priority: int
    l_kpriority: bool
    l_kpribase: int
    l_rticks: int
    l_rticksum: int
    l_slpticks: int
    l_slpticksum: int
    l_slptime: int
    l_swtime: int
    l_wchan: str | None
    l_wmesg: str | None
    l_mutex: str
    l_nopreempt: int
    l_dopreempt: int
    l_ctxswtch: int
    l_blcnt: int
    # l_timeout_ch while pending: (index of c_cpu, the CPU whose callout
    # wheel holds it; ticks left, c_time - cc_ticks). None when not pending.
    l_timeout: tuple[int, int] | None
    addr: int
    kstack: int  # KSTACK_LOWEST_ADDR(l)
    program: str
    args: tuple[tuple[str, Value], ...]
    stack: tuple[Frame, ...]
    l_affinity: tuple[int, ...] | None = None  # the CPUs of its kcpuset, or NULL
    l_estcpu: int = 0  # sched_4bsd's CPU usage estimator
    l_biglocks: int = 0  # biglock count before sleep (KERNEL_UNLOCK_ALL's countp)
    l_psid: int = 0  # l: its processor set (PS_NONE), written by _pset_bind()
    # key() once computed; a clone starts without (the explorer never
    # changes an LWP after it has asked for its key).
    _kc: tuple[Value, ...] | None = attrs.field(default=None, init=False, eq=False, repr=False)
    _hc: int | None = attrs.field(default=None, init=False, eq=False, repr=False)
    # clock_fp()'s corrections for this structure: _hx[cap], its hash's
    # difference with its countdowns above cap taken as cap (None: not yet).
    _hx: tuple[int | None, ...] | None = attrs.field(default=None, init=False, eq=False,
                                                     repr=False)

    def arg(self, name: str, default: Value = None) -> Value:
        for k, v in self.args:
            if k == name:
                return v
        return default

    def key(self) -> tuple[Value, ...]:
        return _key(self)


@attrs.define(slots=True)
class Cpu:
    """struct cpu_info with its schedstate_percpu and runqueue_t."""

    ci_index: int
    addr: int
    ci_curlwp: int
    ci_idlelwp: int
    ci_want_resched: int
    ci_ilevel: int
    ci_mtx_count: int
    ci_mtx_oldspl: int
    spc_migrating: int | None
    spc_curpriority: int
    spc_flags: int
    spc_ticks: int
    runq: tuple[int, ...]  # LSRUN LWPs, highest priority first, FIFO within one
    r_count: int
    r_mcount: int
    r_avgcount: int
    psrefs: tuple[int, ...]  # ifnet class per-CPU SLIST, head first
    cr2: int
    in_ddb: bool  # paused in ddb (the CPU that trapped)
    spc_schedticks: int = 0  # hardclock ticks to the next schedclock()
    # x86 pending soft interrupts; only 1 << SIR_PREEMPT is modeled: set by
    # cpu_need_resched()/cpu_kpreempt_enter(), taken when the IPL drops.
    ci_ipending: int = 0
    ci_biglock_count: int = 0  # kern_lock.c: this CPU's holds on kernel_lock
    ci_biglock_wanted: int | None = None  # the LWP spinning here for kernel_lock
    spc_psid: int = 0  # its processor set (PS_NONE); psrset(8) -a sets it before boot here
    _kc: tuple[Value, ...] | None = attrs.field(default=None, init=False, eq=False, repr=False)
    _hc: int | None = attrs.field(default=None, init=False, eq=False, repr=False)
    # clock_fp()'s corrections for this structure: _hx[cap], its hash's
    # difference with its countdowns above cap taken as cap (None: not yet).
    _hx: tuple[int | None, ...] | None = attrs.field(default=None, init=False, eq=False,
                                                     repr=False)

    def key(self) -> tuple[Value, ...]:
        return _key(self)


@attrs.define(slots=True)
class Psref:
    """struct psref (psref.h 1.3) as if_get left it in doifioctl's frame."""

    idx: int
    psref_target: int | None  # index into Kernel.ifnets
    psref_lwp: int | None
    psref_cpu: int | None
    addr: int
    _kc: tuple[Value, ...] | None = attrs.field(default=None, init=False, eq=False, repr=False)
    _hc: int | None = attrs.field(default=None, init=False, eq=False, repr=False)

    def key(self) -> tuple[Value, ...]:
        return _key(self)


T = TypeVar("T")
FP_MASK = (1 << 64) - 1


def _getters() -> None:
    """Each mutable struct gets clone() and key() from one C-level getter."""
    for cls in (Lwp, Cpu, Psref):
        get = operator.attrgetter(*(a.name for a in attrs.fields(cls) if a.init))
        setattr(cls, "_get", get)  # noqa: B010 - a class attribute attrs does not manage


def _fields(obj: Any) -> tuple[Value, ...]:
    fields: tuple[Value, ...] = obj._get(obj)
    return fields


def _key(obj: Any) -> tuple[Value, ...]:
    kc: tuple[Value, ...] | None = obj._kc
    if kc is None:
        kc = obj._kc = obj._get(obj)
    return kc


def _mix64(h: int) -> int:
    """SplitMix64's finalizer: a 64-bit hash with no additive structure left.

    Python's tuple hash changes by the same amount for the same change of
    an element wherever the tuple is, so sums of raw struct hashes collide
    (two states, two structures changed in step); sums of mixed ones do not,
    beyond chance.
    """
    z = h & FP_MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & FP_MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & FP_MASK
    return z ^ (z >> 31)


def hkey(obj: Any) -> int:
    """The structure's mixed hash (see _mix64), cached."""
    hc: int | None = obj._hc
    if hc is None:
        hc = obj._hc = _mix64(hash(_key(obj)))
    return hc


# l_flag bits an LWP gets when it is made and keeps (lwp_create, idle_init,
# kthread_create): LW_IDLE and LW_SYSTEM. Code tests them with no lock,
# and nothing ever changes them (the explorer's tracer holds every write
# of l_flag to that), so such a read depends on nothing and is not traced.
LW_FIXED = LW_IDLE | LW_SYSTEM
_l_flag = Lwp.__dict__["l_flag"].__get__  # (the slot itself)


def lwp_fixed_flags(l: Lwp) -> int:
    """l->l_flag & (LW_IDLE | LW_SYSTEM): the bits fixed since the LWP was made."""
    flags: int = _l_flag(l)
    return flags & LW_FIXED


def clone(obj: T) -> T:
    """A one-level copy: every field is immutable, so this is a full copy."""
    copy: T = type(obj)(*_fields(obj))
    return copy


_get = list.__getitem__
_put = list.__setitem__
_raw_iter = list.__iter__


class Cow(list):
    """A kernel's list of structures, copied on first touch (Kernel.copy).

    It starts sharing the structures of the kernel it was copied from,
    which nothing changes again (a step changes a copy). Indexing hands
    out the list's own clone, made once; iterating makes every one its
    own first. So a step copies only what its statement reaches, and
    whatever changes a structure got it from its own kernel. Read-only
    walks over the shared structures use view().
    """

    # Bit i: structure i is this list's own (none at first: a class default,
    # so making one is list's own C-level __init__).
    _own = 0

    def __getitem__(self, i: Any) -> Any:
        if i.__class__ is not int:
            if isinstance(i, slice):
                return [self[j] for j in range(*i.indices(len(self)))]
            i = i.__index__()
        if i < 0:
            i += len(self)
        obj = _get(self, i)
        bit = 1 << i
        if not self._own & bit:
            obj = clone(obj)
            _put(self, i, obj)
            self._own |= bit
        return obj

    def __setitem__(self, i: Any, obj: Any) -> None:
        if not isinstance(i, int) or i < 0:
            raise TypeError("Cow: set one structure by its index")
        _put(self, i, obj)
        self._own |= 1 << i

    def own_all(self) -> None:
        every = (1 << len(self)) - 1
        if self._own != every:
            for i in range(len(self)):
                if not self._own >> i & 1:
                    _put(self, i, clone(_get(self, i)))
            self._own = every

    def __iter__(self) -> Any:
        self.own_all()
        return _raw_iter(self)

    def __reversed__(self) -> Any:
        self.own_all()
        return list.__reversed__(self)

    def _fixed(self, *args: Any, **kw: Any) -> Any:
        # A kernel has its LWPs, CPUs and psrefs from boot (and the owned
        # bits are by index): nothing adds, drops or reorders them.
        raise TypeError("a kernel's structures are fixed at boot")

    append = extend = insert = pop = remove = sort = reverse = clear = _fixed
    __delitem__ = __iadd__ = __imul__ = _fixed


def view(structs: list[T]) -> Iterator[T]:
    """The structures of a kernel's list, to read only: never copied."""
    return _raw_iter(structs)


def peek(structs: list[T], i: int) -> T:
    """One structure of a kernel's list, to read only: never copied."""
    obj: T = _get(structs, i)
    return obj


@attrs.frozen
class Config:
    """Kernel options and tunables fixed at boot (the scenario's [kernel])."""

    ncpu: int
    fix: bool
    srcroot: str
    hz: int = 100
    rrticks: int = 10  # hz / 10 (sched_4bsd.c l.537)
    boot_ticks: int = 0  # hardclock_ticks when runq_init() scheduled balance_ch
    loadavg: int = 2048  # averunnable.ldavg[0], fixpoint (FSCALE = 1.0), fixed at boot
    cacheht_time: int = 0  # mstohz(3) at hz=100
    min_catch: int = 1
    net_mpsafe: bool = False  # options NET_MPSAFE (GENERIC: off)
    sched_kpreempt_pri: int = 128  # PRI_USER_RT: GENERIC has no DEBUG (kern_runq.c l.109)
    cr2: tuple[int, ...] = ()
    # Properties checked at every statement besides the kernel's own
    # KASSERTs (off unless asked for): "bound-stays", engine.machine.
    checks: tuple[str, ...] = ()
    # --fix=complete: the report's fix and ddbstep's proposal for the paths
    # it leaves open (engine.lp_bound.COMPLETE_FIX), never NetBSD's code.
    complete: bool = False


@attrs.define(slots=True)
class Kernel:
    """Everything. step(k, ci) in engine.machine returns a new Kernel."""

    config: Config
    procs: tuple[Proc, ...]
    ifnets: tuple[Ifnet, ...]
    lwps: list[Lwp]
    cpus: list[Cpu]
    psrefs: list[Psref]
    locks: dict[str, int]  # spin mutex name -> owning CPU
    hardclock_ticks: int
    worker_ci: int
    panicstr: str | None
    paniccpu: int | None
    msgbuf: tuple[str, ...]
    # fingerprint() and tail_hash() once computed; the explorer never changes
    # a kernel after it has asked (a step changes a copy), and a copy starts
    # without.
    _fp: int | None = attrs.field(default=None, init=False, eq=False, repr=False)
    _tl: int | None = attrs.field(default=None, init=False, eq=False, repr=False)

    def copy(self) -> Kernel:
        # (Positional: the fields in order, config ... msgbuf. The lists
        # share self's structures until touched: Cow.)
        return Kernel(self.config, self.procs, self.ifnets, Cow(_raw_iter(self.lwps)),
                      Cow(_raw_iter(self.cpus)), Cow(_raw_iter(self.psrefs)),
                      dict(self.locks), self.hardclock_ticks, self.worker_ci,
                      self.panicstr, self.paniccpu, self.msgbuf)

    def key(self) -> tuple[Value, ...]:
        return (
            tuple(lw.key() for lw in view(self.lwps)),
            tuple(c.key() for c in view(self.cpus)),
            tuple(p.key() for p in view(self.psrefs)),
            tuple(sorted(self.locks.items())),
            self.hardclock_ticks,
            self.worker_ci,
            self.panicstr,
            self.paniccpu,
        )

    def __hash__(self) -> int:
        return hash(self.key())

    def tail_hash(self) -> int:
        """The hash of what key() holds besides the structures."""
        tl = self._tl
        if tl is None:
            tl = self._tl = _mix64(hash((tuple(sorted(self.locks.items())),
                                         self.hardclock_ticks, self.worker_ci, self.panicstr,
                                         self.paniccpu)))
        return tl

    def fingerprint(self) -> int:
        """A 64-bit hash of key(): the sum of every structure's (cached) hash
        and tail_hash(), modulo 2**64 (Zobrist's scheme: each structure's key
        holds its index, so its hash says where it is). A step that changes
        a few structures changes the sum by their differences
        (engine.stepcache computes it so), and nothing else is hashed again.
        """
        fp = self._fp
        if fp is None:
            fp = self._fp = (sum(map(hkey, view(self.lwps))) + sum(map(hkey, view(self.cpus)))
                             + sum(map(hkey, view(self.psrefs))) + self.tail_hash()) & FP_MASK
        return fp

    # -- accessors in the kernel's own words ---------------------------------

    def curlwp(self, ci: int) -> Lwp:
        return self.lwps[self.cpus[ci].ci_curlwp]

    def proc(self, l: Lwp) -> Proc:
        return self.procs[l.l_proc]

    def printf(self, text: str) -> None:
        """Kernel printf: appends whole lines to the message buffer."""
        self.msgbuf = self.msgbuf + tuple(text.rstrip("\n").split("\n"))

    def lwp_eprio(self, l: Lwp) -> int:
        """lwp_eprio() (lwp.h): kernel priority boost for sleepers."""
        pri = l.l_priority
        if (lwp_fixed_flags(l) & LW_SYSTEM) == 0 and l.l_kpriority and pri < PRI_KERNEL:
            pri = (pri >> 1) + l.l_kpribase
        return pri


    def lwp_cache_hot(self, l: Lwp) -> bool:
        if l.l_slptime or l.l_rticks == 0:
            return False
        return self.hardclock_ticks - l.l_rticks <= self.config.cacheht_time



_getters()
