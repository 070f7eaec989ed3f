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


def find_lwp(s: Session, text: str, by_addr: bool) -> Lwp:
    k = s.kernel
    if by_addr:
        addr = s.number(text)
        for l in k.lwps:
            if l.addr == addr:
                return l
        raise DbError(f"trace: no lwp at {addr:#x}")
    pid_s, _, lid_s = text.partition(".")
    pid = s.number(pid_s)
    lid = s.number(lid_s) if lid_s else None
    for l in k.lwps:
        if k.proc(l).p_pid == pid and (lid is None or l.l_lid == lid):
            return l
    raise DbError(f"trace: pid {pid} not found")


def db_stack_trace_cmd(s: Session, cmd: Cmd) -> str:
    k = s.kernel
    count = cmd.count if cmd.count is not None else 65535
    mods = set(cmd.modifiers)
    if not mods <= set("tual"):
        raise DbError("Bad modifier")
    head = []
    if "t" in mods or "a" in mods:
        if not cmd.args:
            l = k.curlwp(s.cpu)
        else:
            l = find_lwp(s, cmd.args, by_addr="a" in mods)
        head.append(f"trace: pid {k.proc(l).p_pid} lid {l.l_lid} at {symtab.rsp(l):#x}")
    else:
        l = k.curlwp(s.cpu)
    return s.fmt("\n".join(head + db_stack_trace(k, l, count)))
