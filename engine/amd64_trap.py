"""amd64 breakpoint() (cpufunc.S), trap() and trap_print() (trap.c 1.114).

db_panic() -> Debugger() -> breakpoint(): int $0x03 traps, trap_print()
prints the three lines of a fatal kernel trap, kdb_trap() enters ddb.
The saved rip is the instruction after the int3, hence "breakpoint+...:
leave" in the Stopped line.
"""

from __future__ import annotations

from engine import symtab
from engine.kernel import Kernel, Lwp
from engine.machine import HALT, Ctx, Flow, Ret, S, kfunc
from engine.param import PSL_T, T_BPTFLT

trap_type = {
    0: "privileged instruction fault", 1: "breakpoint trap",
    2: "arithmetic trap", 3: "asynchronous system trap",
    4: "protection fault", 5: "trace trap", 6: "page fault",
}


T_TRCTRAP = 5  # trap.h: the trace trap of a single step or a watchpoint


def hexfmt(v: int) -> str:
    """printf %#lx: 0x-prefixed, but a zero prints as a bare 0."""
    return f"{v:#x}" if v else "0"


def trap_print_lines(k: Kernel, ci: int, l: Lwp, trapno: int, rip: int) -> list[str]:
    """trap_print() (trap.c 1.114): the three lines of a fatal kernel trap.

    rip is the frame's tf_rip: for an int3 the address after it, for a
    trace trap the next instruction to run.
    """
    regs = symtab.trapframe(k, ci, l)
    if trapno == T_TRCTRAP:
        # The trace trap of a single step: the frame was saved with
        # PSL_T still set, db_clear_single_step() runs only after.
        regs["rflags"] |= PSL_T
    p = k.proc(l)
    return [
        f"fatal {trap_type[trapno]} in supervisor mode",
        f"trap type {trapno} code {hexfmt(0)} rip {hexfmt(rip)}"
        f" cs {hexfmt(regs['cs'])} rflags {hexfmt(regs['rflags'])}"
        f" cr2 {hexfmt(regs['cr2'])} ilevel {hexfmt(k.cpus[ci].ci_ilevel)}"
        f" rsp {hexfmt(regs['rsp'])}",
        f"curlwp {l.addr:#x} pid {p.p_pid}.{l.l_lid} lowest kstack {l.kstack:#x}",
    ]


def trap_print(x: Ctx, trapno: int) -> None:
    # The saved rip is the instruction after the trapping one.
    rip = symtab.address(x.frame.func, x.frame.pc + 1)
    for line in trap_print_lines(x.k, x.ci, x.l, trapno, rip):
        x.k.printf(line + "\n")


def _int3(x: Ctx) -> Flow:
    # trap(): T_BPTFLT from supervisor mode is fatal -> trap_print(),
    # then kdb_trap() stops this CPU in ddb (the others are paused).
    trap_print(x, T_BPTFLT)
    x.cpu.in_ddb = True
    return HALT


kfunc(
    "breakpoint", "sys/arch/amd64/amd64/cpufunc.S",
    S(395, "pushq %rbp"),
    S(396, "movq %rsp, %rbp"),
    S(397, "int $0x03", _int3),
    S(398, "leave", label="leave"),
    S(399, "ret", lambda x: Ret()),
    atomic=True,
)
