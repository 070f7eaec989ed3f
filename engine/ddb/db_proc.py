"""db_proc.c: ps / show all procs, show proc. Formats as in ddb.md §3.2-3.3."""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine.ddb.db_access import wchan
from engine.ddb.db_lex import DbError
from engine.ddb.db_session import Cmd
from engine.kern_synch import allproc
from engine.kernel import Lwp
from engine.param import LP_RUNNING, LSONPROC, LSSLEEP

if TYPE_CHECKING:
    from engine.ddb.db_command import Session

PS_USAGE = """usage: show all procs [/a] [/l] [/n] [/w]
\t/a == show process address info
\t/l == show LWP info [default]
\t/n == show normal process info
\t/w == show process wait/emul info"""


def _running(l: Lwp) -> bool:
    return l.l_stat == LSONPROC or bool(l.l_pflag & LP_RUNNING)


def _pflag(pid: int) -> int:
    # PK_EXEC for processes; proc0 is PK_SYSTEM|PK_NOCLDWAIT (proc.h: 0x20000|0x2)
    return 0x4000 if pid else 0x20002


def db_show_all_procs(s: Session, cmd: Cmd) -> str:
    k = s.kernel
    mode = cmd.modifiers or "l"
    if mode not in ("a", "l", "n", "w"):
        return PS_USAGE
    out = []
    if mode == "l":
        out.append("PID   %4s S %3s %9s %18s %18s %-8s" % (
            "LID", "CPU", "FLAGS", "STRUCT LWP *", "NAME", "WAIT"))
        for l in allproc(k):
            p = k.proc(l)
            wait = l.l_wmesg if l.l_stat == LSSLEEP and l.l_wmesg else ""
            out.append("%-5d" % p.p_pid + "%c%4d %d %3d %9x %18x %18s %-8s" % (
                ">" if _running(l) else " ", l.l_lid, l.l_stat, l.l_cpu, l.l_flag,
                l.addr, l.l_name or p.p_comm, wait))
    elif mode == "n":
        out.append("PID  %8s %8s %10s S %7s %4s %16s %7s" % (
            "PPID", "PGRP", "UID", "FLAGS", "LWPS", "COMMAND", "WAIT"))
        seen = []
        for l in allproc(k):
            if l.l_proc in seen:
                continue
            seen.append(l.l_proc)
            p = k.proc(l)
            mine = [m for m in k.lwps if m.l_proc == l.l_proc]
            wait = "*" if len(mine) != 1 else (mine[0].l_wmesg or "")
            out.append("%-5d" % p.p_pid + "%8d %8d %10d %d %#7x %4d %16s %7.7s" % (
                p.p_pid, p.p_pid, 0, 2, _pflag(p.p_pid), len(mine), p.p_comm, wait))
    elif mode == "w":
        out.append("PID  %4s %16s %8s %4s %-12s%s" % (
            "LID", "COMMAND", "EMUL", "PRI", "WAIT-MSG", "WAIT-CHANNEL"))
        for l in allproc(k):
            p = k.proc(l)
            wmesg = l.l_wmesg if l.l_stat == LSSLEEP and l.l_wmesg else ""
            out.append("%-5d" % p.p_pid + "%c%4d %16s %8s %4d %-12s %-18x" % (
                ">" if _running(l) else " ", l.l_lid, p.p_comm, "netbsd",
                l.l_priority, wmesg, wchan(k, l)))
    else:
        out.append("PID  %10s %18s %18s %18s" % (
            "COMMAND", "STRUCT PROC *", "UAREA *", "VMSPACE/VM_MAP"))
        seen = []
        for l in allproc(k):
            if l.l_proc in seen:
                continue
            seen.append(l.l_proc)
            p = k.proc(l)
            out.append("%-5d" % p.p_pid + "%10.10s %18x %18x %18x" % (
                p.p_comm, p.addr, l.kstack - 0x2c0, p.addr + 0x2f0))
    return s.fmt("\n".join(out))


def db_show_proc(s: Session, cmd: Cmd) -> str:
    k = s.kernel
    if not cmd.have_addr:
        return ("usage: show proc [/a] [/p] address|pid\n"
                "\t/a == argument is an address of any lwp\n"
                "\t/p == argument is a pid [default]")
    if cmd.modifiers not in ("", "a", "p"):
        raise DbError("Bad modifier")
    value = cmd.addr
    out = []
    if cmd.modifiers == "a":
        hit = [l for l in k.lwps if l.addr == value]
        if not hit:
            return "bad address"
        out.append(f"lwp_t {value:x}")
        pidx: int | None = hit[0].l_proc
    else:
        pidx = next((i for i, p in enumerate(k.procs) if p.p_pid == value), None)
    if pidx is None:
        return "bad address"
    p = k.procs[pidx]
    out.append(f"{p.p_comm}: pid {p.p_pid} proc {p.addr:x} vmspace/map {p.addr + 0x2f0:x}"
               f" flags {_pflag(p.p_pid):x}")
    for l in sorted((l for l in k.lwps if l.l_proc == pidx), key=lambda l: -l.l_lid):
        name = f" [{l.l_name}]" if l.l_name else ""
        out.append(f"{'> ' if _running(l) else '  '}lwp {l.l_lid}{name}"
                   f" {l.addr:x} pcb {l.kstack - 0x2c0:x}")
        out.append(f"    stat {l.l_stat} flags {l.l_flag:x} cpu {l.l_cpu}"
                   f" pri {l.l_priority} ")
        if l.l_stat == LSSLEEP:
            out.append(f"    wmesg {l.l_wmesg} wchan {wchan(k, l):x}")
    return s.fmt("\n".join(out))
