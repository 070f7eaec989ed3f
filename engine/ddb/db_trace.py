"""db_trace.c (x86) and db_machdep.c (amd64): bt / trace.

Frames are the LWP's modeled kernel stack, innermost first: each prints
`func() at netbsd:func+off` with the statement's offset (a return address
for callers); inline functions have no frame; the walk stops after
syscall with `--- syscall (number N) ---`.
"""

from __future__ import annotations

from engine import symtab
from engine.ddb.db_command import Cmd, Session
from engine.ddb.db_lex import DbError
from engine.kernel import Kernel, Lwp


def db_stack_trace(k: Kernel, l: Lwp, count: int = 65535) -> list[str]:
    out = []
    frames = symtab.kernel_frames(l)
    if not frames:
        # In user space: ddb shows the user pc and nothing else.
        func, pc, _ = symtab.resolve(l)
        return [f"{symtab.sym(func, pc)}:"]
    for func, pc in frames[:count]:
        out.append(f"{func}() at {symtab.sym(func, pc)}")
        if func == "syscall":
            code = next(fr.get("code") for fr in l.stack if fr.func == "syscall")
            out.append(f"--- syscall (number {code}) ---")
            break
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
    frames = db_stack_trace(k, l, 65535)
    running = any(c.ci_curlwp == l.idx for c in k.cpus)
    if not running and frames and frames[0].startswith("mi_switch() at"):
        frames = frames[1:]
    return head + "\n".join(frames[:count])
