"""The statement machine: modeled kernel functions as tables of statements.

Each modeled function is a Func: a tuple of Stmt, each with the source line
it stands for, its C-like text, and an op, a Python function of a Ctx that
performs the statement on the Kernel and says where control goes next
(fall through, Goto, Call, Ret, Switch, Spin, Halt). Progress is the frame
stack of each LWP, so step() is a pure function of (Kernel, cpu).

Addresses, frame sizes and call-site offsets are not here: they are data in
symtab.toml, applied by engine.symtab.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar

import attrs

from engine.kernel import Cpu, Frame, Kernel, Lwp, Value, lwp_fixed_flags, peek
from engine.param import IPL_NONE, LP_BOUND, LW_IDLE, SIR_PREEMPT

# -- control flow -----------------------------------------------------------


@attrs.frozen
class Goto:
    label: str


@attrs.frozen
class Call:
    func: str
    args: tuple[tuple[str, Value], ...] = ()
    ret: str | None = None


@attrs.frozen
class Ret:
    value: Value = None


@attrs.frozen
class Switch:
    """cpu_switchto(l, newl): the CPU leaves the current LWP for newl."""

    newl: int


class _Spin:
    """The statement cannot proceed (a spin mutex held elsewhere)."""

    def __repr__(self) -> str:
        return "SPIN"


class _Halt:
    """The CPU trapped into ddb: stop after advancing past the trap."""

    def __repr__(self) -> str:
        return "HALT"


INTR = "<intr>"  # Frame.ret of a frame pushed by an interrupt or AST
_PREEMPT_BIT = 1 << SIR_PREEMPT

# Frames that have taken the preemption request (or the user AST, on its way
# to preempt()): no kernel preemption is taken again inside them.
PREEMPTING = frozenset({"kpreempt", "preempt", "trap"})
SPIN = _Spin()
HALT = _Halt()

Flow = Goto | Call | Ret | Switch | _Spin | _Halt | None


class Ctx:
    """What a statement sees: the kernel, curcpu(), curlwp and its frame."""

    __slots__ = ("k", "ci", "l", "frame")

    def __init__(self, k: Kernel, ci: int, l: Lwp, frame: Frame) -> None:
        self.k = k
        self.ci = ci
        self.l = l
        self.frame = frame

    @property
    def cpu(self) -> Cpu:
        return self.k.cpus[self.ci]

    def v(self, name: str, default: Value = None) -> Value:
        return self.frame.get(name, default)

    def set(self, name: str, value: Value) -> None:
        self.frame = self.frame.with_var(name, value)

    def lwp(self, idx: int) -> Lwp:
        return self.k.lwps[idx]


# What _exec() builds for each statement: Ctx, or the tracer's subclass
# while engine.footprint traces a transition on this thread (set and reset
# around it; other threads keep Ctx).
STATEMENT_CTX: ContextVar[type[Ctx]] = ContextVar("ddbstep_statement_ctx", default=Ctx)
_statement_ctx = STATEMENT_CTX.get

Op = Callable[[Ctx], Flow]


def _nop(x: Ctx) -> Flow:
    return None


@attrs.frozen
class Stmt:
    line: int
    text: str
    op: Op = _nop
    label: str | None = None
    fixed: str | None = None  # the text under [kernel] fix = true, if it differs
    # The statement's LAST source line, where it spans several and its
    # __LINE__ is printed (a KASSERTMSG, a panic): gcc gives a multi-line
    # macro call the line of its closing parenthesis.
    end_line: int | None = None
    # ddbstep's proposal for the paths the report's fix leaves open (the
    # kernel booted with --fix=complete), never NetBSD's code.
    proposed: str | None = None

    def source(self, fix: bool, complete: bool = False) -> str:
        if complete and self.proposed:
            return self.proposed
        return self.fixed if fix and self.fixed else self.text


@attrs.frozen
class Func:
    name: str
    file: str
    stmts: tuple[Stmt, ...]
    inline: bool = False  # no frame of its own in a backtrace
    atomic: bool = False  # runs to completion inside one step
    user: bool = False  # user-space code (printed without a symbol)
    labels: dict[str, int] = attrs.field(factory=dict, eq=False)

    def index(self, label: str) -> int:
        return self.labels[label]


FUNCS: dict[str, Func] = {}


def S(
    line: int,
    text: str,
    op: Op = _nop,
    label: str | None = None,
    fixed: str | None = None,
    end_line: int | None = None,
    proposed: str | None = None,
) -> Stmt:
    """A statement: `line` is the FIRST line of the C statement it models."""
    return Stmt(line, text, op, label, fixed, end_line, proposed)


def kfunc(
    name: str,
    file: str,
    *stmts: Stmt,
    inline: bool = False,
    atomic: bool = False,
    user: bool = False,
) -> Func:
    labels = {s.label: i for i, s in enumerate(stmts) if s.label}
    f = Func(name, file, tuple(stmts), inline, atomic, user, labels)
    FUNCS[name] = f
    return f


# -- helpers used by the kernel modules ---------------------------------------


def call(func: str, ret: str | None = None, **args: Value) -> Call:
    return Call(func, tuple(sorted(args.items())), ret)


# ddb's "who holds it" probe: while a list, mutex_spin_enter() appends each
# spin mutex it finds held by another CPU (engine.ddb.db_run sets it around
# one look-ahead step; the kernel never reads it).
spin_probe: list[str] | None = None


def mutex_spin_enter(x: Ctx, name: str) -> bool:
    """Take a spin mutex for curcpu(); False if another CPU holds it."""
    owner = x.k.locks.get(name)
    if owner is not None and owner != x.ci:
        if spin_probe is not None:
            spin_probe.append(name)
        return False
    if owner is None:
        cpu = x.cpu
        if cpu.ci_mtx_count == 0:
            cpu.ci_mtx_oldspl = cpu.ci_ilevel
        cpu.ci_mtx_count += 1
        # Spin mutexes of the scheduler are at IPL_SCHED.
        cpu.ci_ilevel = max(cpu.ci_ilevel, 7)
        x.k.locks[name] = x.ci
    return True


def mutex_spin_exit(x: Ctx, name: str, keep_spl: bool = False) -> None:
    if x.k.locks.get(name) != x.ci:
        return
    del x.k.locks[name]
    cpu = x.cpu
    cpu.ci_mtx_count -= 1
    if cpu.ci_mtx_count == 0 and not keep_spl:
        cpu.ci_ilevel = cpu.ci_mtx_oldspl


def splraise(ipl: int) -> Op:
    """The op of `s = splraiseipl(...)` (splnet, splsched, ...): the old IPL
    in the frame's s, the CPU raised to ipl (never lowered)."""

    def op(x: Ctx) -> Flow:
        cpu = x.cpu
        x.set("s", cpu.ci_ilevel)
        cpu.ci_ilevel = max(cpu.ci_ilevel, ipl)
        return None

    return op


def splx(x: Ctx) -> Flow:
    """The op of `splx(s)`: back to the IPL saved in s. A preemption the
    lower IPL lets through is taken before the next statement (step())."""
    x.cpu.ci_ilevel = x.v("s")
    return None


def in_user(k: Kernel, l: Lwp) -> bool:
    st = l.stack
    return bool(st) and FUNCS[st[-1].func].user


# -- the step function --------------------------------------------------------

_ATOMIC_LIMIT = 10000


# The check bound-stays (Config.checks): an LWP's l_cpu never changes while
# its LP_BOUND is set. Read through the plain slots, so that the tracer
# (engine.footprint) records nothing for it: the fields it reads are ones
# the reduction never reorders anyway (l_pflag is written unlocked, l_cpu
# is one the invariants read).
_L_CPU = Lwp.__dict__["l_cpu"].__get__
_L_PFLAG = Lwp.__dict__["l_pflag"].__get__
BOUND_STAYS = "bound-stays"
CHECK_FAILED = "check bound-stays failed: "


def _bound_cpus(k: Kernel) -> list[tuple[int, int]] | None:
    if BOUND_STAYS not in k.config.checks:
        return None
    return [(i, _L_CPU(w)) for i, w in enumerate(k.lwps) if _L_PFLAG(w) & LP_BOUND]


def _moved_bound(k: Kernel, ci: int, func: Func, stmt: Stmt,
                 bound: list[tuple[int, int]]) -> bool:
    """After a statement: did it move a bound LWP? Then the kernel stops
    there, as at a failed KASSERT, naming the statement."""
    for i, was in bound:
        w = k.lwps[i]
        now = _L_CPU(w)
        if now != was and _L_PFLAG(w) & LP_BOUND:
            p = k.procs[w.l_proc]
            msg = (f"{CHECK_FAILED}lwp {p.p_pid}.{w.l_lid} ({p.p_comm}) moved from cpu{was}"
                   f" to cpu{now} while LP_BOUND, at {func.name}() {func.file}:{stmt.line}:"
                   f" {stmt.source(k.config.fix, k.config.complete)}")
            k.panicstr = msg
            k.paniccpu = ci
            k.msgbuf = k.msgbuf + (f"[ddbstep] {msg}",)
            return True
    return False


def _exec(k: Kernel, ci: int) -> tuple[bool, bool]:
    """Execute one statement on ci. Returns (progress, halted)."""
    cpu = k.cpus[ci]
    l = k.lwps[cpu.ci_curlwp]
    st = l.stack
    frame = st[-1]
    func = FUNCS[frame.func]
    stmt = func.stmts[frame.pc]
    x = _statement_ctx()(k, ci, l, frame)
    bound = _bound_cpus(k) if k.config.checks else None
    flow = stmt.op(x)
    if flow is SPIN:
        return False, False
    if bound and _moved_bound(k, ci, func, stmt, bound):
        return True, True
    frame = x.frame
    stack = list(l.stack)
    stack[-1] = frame
    halted = False
    if flow is None:
        stack[-1] = Frame(frame.func, frame.pc + 1, frame.vars, frame.ret)
    elif flow is HALT:
        stack[-1] = Frame(frame.func, frame.pc + 1, frame.vars, frame.ret)
        halted = True
    elif isinstance(flow, Goto):
        stack[-1] = Frame(frame.func, func.labels[flow.label], frame.vars, frame.ret)
    elif isinstance(flow, Call):
        if flow.func not in FUNCS:
            raise KeyError(f"unmodeled function {flow.func}")
        stack.append(Frame(flow.func, 0, flow.args, flow.ret))
    elif isinstance(flow, Ret):
        done = stack.pop()
        if stack and done.ret != INTR:
            # An interrupt frame returns to the statement it interrupted.
            caller = stack[-1]
            if done.ret is not None:
                caller = caller.with_var(done.ret, flow.value)
            stack[-1] = Frame(caller.func, caller.pc + 1, caller.vars, caller.ret)
    elif isinstance(flow, Switch):
        stack[-1] = Frame(frame.func, frame.pc + 1, frame.vars, frame.ret)
        l.stack = tuple(stack)
        # cpu_switchto() has saved l's context: another CPU may now run it
        # (the resumed side clears prevlwp->l_ctxswtch).
        l.l_ctxswtch = 0
        newl = k.lwps[flow.newl]
        cpu.ci_curlwp = flow.newl
        if not newl.stack or newl.stack[-1].func != "mi_switch":
            # A first dispatch comes out of lwp_trampoline at spl0.
            cpu.ci_ilevel = IPL_NONE
            cpu.ci_mtx_count = 0
        return True, False
    l.stack = tuple(stack)
    return True, halted


def step(k: Kernel, ci: int) -> Kernel:
    """One modeled statement on CPU ci: a new Kernel, or k itself if stuck.

    A pending kernel preemption or user AST is taken first, as the
    interrupt return path would; atomic functions (interrupt handlers, the
    panic path) run to completion inside the same step.
    """
    # (k is read only here: peek, not a copy of its structure.)
    if k.panicstr is not None or peek(k.cpus, ci).in_ddb:
        return k
    return step_into(k, k.copy(), ci)


def step_into(k: Kernel, n: Kernel, ci: int, took: bool | None = None) -> Kernel:
    """step() on n, a fresh copy of k: n, or k if the CPU made no progress.

    took: whether the interrupt return path already took a preemption or an
    AST on n (engine.footprint decides that apart from the statement).
    """
    if took is None:
        took = take_preemption(n, ci, n.curlwp(ci))
    if took:
        return n
    progress, halted = _exec(n, ci)
    if not progress:
        return k
    _run_atomic(n, ci, halted)
    return n


def _run_atomic(n: Kernel, ci: int, halted: bool) -> None:
    count = 0
    while not halted:
        st = n.curlwp(ci).stack
        if not st or not FUNCS[st[-1].func].atomic:
            break
        progress, halted = _exec(n, ci)
        count += 1
        if not progress or count > _ATOMIC_LIMIT:
            break


def deliver(k: Kernel, ci: int, handler: str, ipl: int, **args: Value) -> Kernel:
    """An interrupt on ci: the handler runs atomically on curlwp's stack.

    Refused (k returned) while the CPU's IPL masks it, as splx would defer it.
    """
    cpu = peek(k.cpus, ci)
    if k.panicstr is not None or cpu.in_ddb:
        return k
    if cpu.ci_ilevel >= ipl:
        return k
    return deliver_into(k, k.copy(), ci, handler, ipl, **args)


def deliver_into(k: Kernel, n: Kernel, ci: int, handler: str, ipl: int, **args: Value) -> Kernel:
    """deliver() on n, a fresh copy of k: n, or k if the handler cannot run now."""
    l = n.curlwp(ci)
    saved = n.cpus[ci].ci_ilevel
    n.cpus[ci].ci_ilevel = ipl
    depth = len(l.stack)
    l.stack = l.stack + (Frame(handler, 0, tuple(sorted(args.items())), INTR),)
    count = 0
    while len(n.curlwp(ci).stack) > depth and count < _ATOMIC_LIMIT:
        progress, halted = _exec(n, ci)
        count += 1
        if halted:
            return n
        if not progress:
            # The handler would spin on a lock held elsewhere: not now.
            return k
    n.cpus[ci].ci_ilevel = saved
    l = n.curlwp(ci)
    top = l.stack[-1]
    if FUNCS[top.func].stmts[top.pc].label == "hlt":
        # Any interrupt ends a hlt.
        l.stack = l.stack[:-1] + (Frame(top.func, top.pc + 1, top.vars, top.ret),)
    return n


def take_preemption(k: Kernel, ci: int, l: Lwp) -> bool:
    """Interrupt return: user AST (trap) or kernel preemption (kpreempt).

    The preemption request is the SIR_PREEMPT soft interrupt pending on the
    CPU (ci_ipending): Xspllower/Xdoreti run it when the IPL drops below
    IPL_PREEMPT, and running it consumes it (amd64 spl.S l.171-202): from
    user mode it calls preempt(), from the kernel kpreempt(), which may
    refuse (the kernel lock, l_nopreempt) and leaves l_dopreempt for
    _kernel_unlock() or kpreempt_enable() to retry.
    """
    cpu = k.cpus[ci]
    st = l.stack
    if not st:
        return False
    pending = cpu.ci_ipending & _PREEMPT_BIT
    top = FUNCS[st[-1].func]
    if top.user and not lwp_fixed_flags(l) & LW_IDLE:
        if pending:
            # The preemption softint found user mode: Xresume_preempt calls
            # preempt() (amd64 spl.S l.189-201).
            cpu.ci_ipending &= ~_PREEMPT_BIT
            l.stack = st + (Frame("preempt", 0, (), INTR),)
            return True
        if cpu.ci_want_resched:
            # The AST on return to user mode: trap(T_ASTFLT|T_USER).
            l.stack = st + (Frame("trap", 0, (), INTR),)
            return True
        return False
    if (
        pending
        and cpu.ci_ilevel == IPL_NONE
        and cpu.ci_mtx_count == 0
        and not top.atomic
        # kpreempt() itself runs with the request taken: no recursion; the
        # user AST (trap) is on its way to preempt() already.
        and not any(fr.func in PREEMPTING for fr in st)
    ):
        if l.l_nopreempt != 0:
            # kpreempt() would refuse (in_critical_section): the request
            # waits for kpreempt_enable(), which the model lets the
            # pending softint stand for.
            return False
        cpu.ci_ipending &= ~_PREEMPT_BIT
        if l.l_dopreempt == 0 or lwp_fixed_flags(l) & LW_IDLE:
            # kpreempt() finds nothing to do (its loop does not run; the
            # idle LWP is not preempted): folded into the step it precedes.
            return False
        l.stack = st + (Frame("kpreempt", 0, (("where", 0),), INTR),)
        return True
    return False


def next_flow(k: Kernel, ci: int) -> Flow | str:
    """What ci's next step would do, on a copy: "preempt" if the interrupt
    return path takes a preemption or an AST first, else the flow of the
    statement's op (Call, Ret, Switch, SPIN, ...). ddb's next and until
    look at the next instruction this way (db_run.c inst_call/inst_return)."""
    n = k.copy()
    l = n.curlwp(ci)
    if k.panicstr is not None or not l.stack:
        return None
    if take_preemption(n, ci, l):
        return "preempt"
    frame = l.stack[-1]
    stmt = FUNCS[frame.func].stmts[frame.pc]
    return stmt.op(Ctx(n, ci, l, frame))


def where(l: Lwp) -> tuple[Func, Stmt, Frame]:
    frame = l.stack[-1]
    func = FUNCS[frame.func]
    return func, func.stmts[min(frame.pc, len(func.stmts) - 1)], frame



# A frame that is never executed: invoke() stops when control returns to it.
FUNCS["__invoke__"] = Func("__invoke__", "", (Stmt(0, "<invoke>"),))


def invoke(
    k: Kernel, ci: int, func: str, limit: int = 10000, /, **args: Value
) -> tuple[Kernel, Value]:
    """Call one modeled function on ci's curlwp, to its return: (kernel, value).

    For tests and tools that check a function's decisions in isolation; the
    caller's own frames are left as they were.
    """
    n = k.copy()
    l = n.curlwp(ci)
    saved = l.stack
    l.stack = saved + (Frame("__invoke__"), Frame(func, 0, tuple(sorted(args.items())), "rv"))
    for _ in range(limit):
        l = n.curlwp(ci)
        if l.stack[-1].func == "__invoke__":
            value = l.stack[-1].get("rv")
            l.stack = saved
            return n, value
        progress, halted = _exec(n, ci)
        if not progress or halted:
            break
    raise RuntimeError(f"{func} did not return on cpu{ci}")
