"""db_trace.c (x86) and db_machdep.c (amd64): bt / trace.

Frames are the LWP's modeled kernel stack, innermost first: each prints
`func() at netbsd:func+off` with the statement's offset (a return address
for callers); inline functions have no frame; the walk stops after
syscall with `--- syscall (number N) ---` and the user pc it came from.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine import symtab
from engine.ddb.db_lex import DbError
from engine.ddb.db_session import Cmd
from engine.kernel import Frame, Kernel, Lwp
from engine.machine import FUNCS

if TYPE_CHECKING:
    from engine.ddb.db_command import Session


def db_stack_trace(k: Kernel, l: Lwp, count: int = 65535, switched: bool = False) -> list[str]:
    """db_stack_trace_print()'s lines for l, at most count frames.

    switched: l is not running, and the walk starts at the pcb_rbp that
    cpu_switchto() saved: in the function that called mi_switch().
    """
    out: list[str] = []
    frames = symtab.kernel_frames(l)
    if not frames:
        # In user space: ddb shows the user pc and nothing else.
        func, pc, _ = symtab.resolve(l)
        return [f"{symtab.sym(func, pc)}:"]
    if switched and frames[0][0] == "mi_switch":
        frames = frames[1:]
    for func, pc in frames:
        if count <= 0:
            return out
        out.append(f"{func}() at {symtab.sym(func, pc)}")
        if func == "syscall":
            code = next(fr.get("code") for fr in l.stack if fr.func == "syscall")
            # db_nextframe() (amd64 db_machdep.c l.139-146) prints the trap
            # line and takes tf_rip; the next frame is in user space and a
            # kernel-only walk stops (db_trace.c l.294-297), then prints
            # where the trap came from: db_printsym(callpc) ":" (l.308-311).
            out.append(f"--- syscall (number {code}) ---")
            user = [fr for fr in l.stack if FUNCS[fr.func].user]
            if user:
                out.append(f"{symtab.sym(user[-1].func, user[-1].pc)}:")
            return out
        count -= 1
    # The outermost modeled function may have a caller the model runs
    # nothing of (lwp0: main() -> uvm_scheduler()): its return address.
    caller = symtab.caller(frames[-1][0])
    if caller is not None and count > 0:
        out.append(f"{caller['func']}() at netbsd:{caller['func']}+{caller['ret']:#x}")
    return out


def db_stack_trace_cmd(s: Session, cmd: Cmd) -> str:
    """db_stack_trace_print() (x86 db_trace.c): /t PID (its newest LWP),
    /a LWP-ADDRESS, or the selected CPU's curlwp; `,count` frames.

    A switched-out LWP's walk starts at pcb_rbp: the frame of the function
    that called mi_switch(), as cpu_switchto() saved it.
    """
    k = s.kernel
    count = cmd.count if cmd.count is not None else 65535
    mods = set(cmd.modifiers)
    head = ""
    l = k.curlwp(s.cpu)
    if cmd.have_addr and ("t" in mods or "a" in mods):
        if "a" in mods:
            hit = [m for m in k.lwps if m.addr == cmd.addr]
            if not hit:
                raise DbError(f"ddbstep: {cmd.addr:#x} is not a modeled struct lwp")
            l = hit[0]
            head = f"trace: pid {k.proc(l).p_pid} "
        else:
            pid = cmd.addr - (1 << 64) if cmd.addr >> 63 else cmd.addr
            mine = [m for m in k.lwps if k.proc(m).p_pid == pid]
            if not mine:
                return f"trace: pid {pid} not found"
            l = max(mine, key=lambda m: m.l_lid)  # p_lwps.lh_first: the newest
            head = f"trace: pid {pid} "
        head += f"lid {l.l_lid} at {symtab.rsp(l):#x}\n"
    elif cmd.have_addr:
        raise DbError("ddbstep: trace from a frame address is not modeled: use /t PID or /a LWP")
    running = any(c.ci_curlwp == l.idx for c in k.cpus)
    return head + "\n".join(db_stack_trace(k, l, count, switched=not running))


# -- frame selection (model extensions, as gdb's frame / up / down) ----------------------


def selected_frame(s: Session) -> tuple[int, Frame]:
    """(stack index, frame) of the session's selected frame on its CPU."""
    l = s.kernel.curlwp(s.cpu)
    frames = symtab.symbol_frames(l)
    n = max(0, min(s.frame, len(frames) - 1))
    return frames[n], l.stack[frames[n]]


def frame_line(s: Session) -> str:
    """#N func() at netbsd:func+off:<TAB>the statement of that frame's pc."""
    k = s.kernel
    i, fr = selected_frame(s)
    func = FUNCS[fr.func]
    stmt = func.stmts[min(fr.pc, len(func.stmts) - 1)]
    n = symtab.symbol_frames(k.curlwp(s.cpu)).index(i)
    return (f"#{n} {fr.func}() at {symtab.sym(fr.func, min(fr.pc, len(func.stmts) - 1))}:"
            f"\t{stmt.source(k.config.fix, k.config.complete)}"
            f"  [{func.file or 'no file'}:{stmt.line}]")


def _select(s: Session, n: int) -> str:
    frames = symtab.symbol_frames(s.kernel.curlwp(s.cpu))
    if not 0 <= n < len(frames):
        raise DbError(f"ddbstep: no frame {n}: the stack has frames 0 to {len(frames) - 1}")
    s.frame = n
    return s.fmt(frame_line(s), wrap=False)


def db_frame_cmd(s: Session, cmd: Cmd) -> str:
    """frame [N] (model extension): select frame N of the selected CPU's
    stack (0 = innermost); the source pane and the locals follow it."""
    text = cmd.args.strip()
    return _select(s, s.number(text) if text else s.frame)


def db_up_cmd(s: Session, cmd: Cmd) -> str:
    """up [N] (model extension): N frames towards the callers."""
    text = cmd.args.strip()
    return _select(s, s.frame + (s.number(text) if text else 1))


def db_down_cmd(s: Session, cmd: Cmd) -> str:
    """down [N] (model extension): N frames towards the innermost."""
    text = cmd.args.strip()
    return _select(s, s.frame - (s.number(text) if text else 1))


PANIC_FRAMES = frozenset({"breakpoint", "vpanic", "panic", "kern_assert"})


def assert_frame(s: Session) -> int | None:
    """The frame that called the panic machinery (a KASSERT's function)."""
    l = s.kernel.curlwp(s.cpu)
    for n, i in enumerate(symtab.symbol_frames(l)):
        if l.stack[i].func not in PANIC_FRAMES:
            return n if n else None
    return None
