"""Displays of the model: mach cpu, show sched_qs, show registers (ddb's own
layouts) and the model extras show lwp, show all lwps, show psref.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine import symtab
from engine.ddb.db_lex import DbError
from engine.ddb.db_session import Cmd
from engine.kern_runq import spc_maxpriority
from engine.kern_synch import allproc
from engine.kernel import Kernel, Lwp
from engine.machine import where
from engine.param import (
    CPUF_AP,
    CPUF_BSP,
    CPUF_GO,
    CPUF_PAUSE,
    CPUF_PRESENT,
    CPUF_PRIMARY,
    CPUF_RUNNING,
    LP_NAMES,
    LS_NAMES,
    LW_NAMES,
    PRI_COUNT,
    SPCF_NAMES,
    bits,
)

if TYPE_CHECKING:
    from engine.ddb.db_command import Session


def ci_flags(s: Session, ci: int) -> int:
    """ci_flags (x86 cpu.h l.314-323) as x86 cpu.c sets them: the boot
    processor PRESENT|PRIMARY (l.413), BSP (l.446), RUNNING (l.682); an
    application processor AP (l.764), PRESENT (l.863), GO (l.811), RUNNING
    (l.679); every CPU but the one in ddb is PAUSEd (db_interface.c l.291)."""
    flags = (CPUF_PRESENT | CPUF_PRIMARY | CPUF_BSP | CPUF_RUNNING if ci == 0
             else CPUF_AP | CPUF_PRESENT | CPUF_GO | CPUF_RUNNING)
    if ci != s.ddb_cpu:
        flags |= CPUF_PAUSE
    return flags


def db_mach_cpu(s: Session, cmd: Cmd) -> str:
    """db_mach_cpu() (amd64 db_interface.c) and cpu_debug_dump() (x86 cpu.c).

    Model extension: the selected CPU is also the one s, n, until and c
    drive, and the prompt follows it (ddb only switches ddb_regp).
    """
    k = s.kernel
    if not cmd.have_addr:
        out = ["addr\t\tdev\tid\tflags\tipis\tcurlwp \t\tfpcurlwp"]
        for c in k.cpus:
            cur = k.lwps[c.ci_curlwp].addr
            # Every CPU attaches as cpuN (ci_dev is set): no "BOOT" row.
            out.append("%#x\t%s\t%d\t%x\t%x\t%#10x\t%#10x" % (
                c.addr, f"cpu{c.ci_index}", c.ci_index, ci_flags(s, c.ci_index), 0, cur, cur))
        return s.fmt("\n".join(out))
    n = cmd.addr - (1 << 64) if cmd.addr >> 63 else cmd.addr
    if n < 0:
        return f"{n}: CPU out of range"
    if n >= len(k.cpus):
        return f"CPU {n} not configured"
    s.cpu = n
    return f"using CPU {n}"


def db_show_sched_qs(s: Session, cmd: Cmd) -> str:
    """sched_print_runqueue() (kern_runq.c)."""
    k = s.kernel
    out = []
    for c in k.cpus:
        cur = k.lwps[c.ci_curlwp]
        mlwp = k.lwps[c.spc_migrating].addr if c.spc_migrating is not None else 0
        maxpri = spc_maxpriority(k, c.ci_index)
        out.append(f"Run-queue (CPU = {c.ci_index}):")
        out.append(f" pid.lid = {k.proc(cur).p_pid}.{cur.l_lid}, r_count = {c.r_count},"
                   f" r_avgcount = {c.r_avgcount}, maxpri = {maxpri}, mlwp = {mlwp:#x}")
        bitmap = [0] * (PRI_COUNT >> 5)
        for i in c.runq:
            pri = k.lwp_eprio(k.lwps[i])
            bitmap[pri >> 5] |= 0x80000000 >> (pri & 31)
        for i in range(len(bitmap) - 1, -1, -1):
            q = bitmap[i]
            ffs = (q & -q).bit_length()
            out.append(f" bitmap[{i}] => [ {ffs} ({q:#x}) ]")
    out.append("   %5s %4s %4s %10s %3s %18s %4s %4s %s" % (
        "LID", "PRI", "EPRI", "FL", "ST", "LWP", "CPU", "TCI", "LRTICKS"))
    seen: list[int] = []
    for l in allproc(k):
        if l.l_proc not in seen:
            seen.append(l.l_proc)
            p = k.procs[l.l_proc]
            out.append(f" /- {p.p_pid} ({p.p_comm})")
        st = "RQ" if l.l_stat == 2 else ("SQ" if l.l_stat == 3 else "-")
        tci = l.l_target_cpu if l.l_target_cpu is not None else -1
        out.append(" | %5d %4u %4u 0x%8.8x %3s %#18x %4u %4d %u" % (
            l.l_lid, l.l_priority, k.lwp_eprio(l), l.l_flag, st, l.addr, l.l_cpu, tci,
            (k.hardclock_ticks - l.l_rticks) & 0xFFFFFFFF))
    return s.fmt("\n".join(out))


REG_ORDER = ("ds", "es", "fs", "gs", "rdi", "rsi", "rbp", "rbx", "rdx", "rcx", "rax",
             "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15", "rip", "cs",
             "rflags", "rsp", "ss")


def db_show_registers(s: Session, cmd: Cmd) -> str:
    from engine.ddb.db_examine import registers

    regs = registers(s)
    l = s.kernel.curlwp(s.cpu)
    func, pc, _ = symtab.resolve(l)
    out = []
    for name in REG_ORDER:
        line = "%-12s%x" % (name, regs[name])
        if name == "rip" and not symtab.entry(func).get("user"):
            line += "\t" + symtab.sym(func, pc).removeprefix("netbsd:")
        out.append(line)
    _, stmt, _ = where(l)
    last = f"{symtab.sym(func, pc)}:\t{stmt.source(s.kernel.config.fix, s.kernel.config.complete)}"
    return s.fmt("\n".join(out)) + "\n" + s.fmt(last, wrap=False)


# -- model extras ------------------------------------------------------------------------


def cpu_name(k: Kernel, ci: int | None) -> str:
    return "NULL" if ci is None else f"cpu{ci} ({k.cpus[ci].addr:#x})"


def lwp_name(k: Kernel, i: int | None) -> str:
    if i is None:
        return "NULL"
    l = k.lwps[i]
    p = k.proc(l)
    return f"{p.p_pid}.{l.l_lid} ({l.l_name or p.p_comm})"


def find(s: Session, text: str) -> Lwp:
    k = s.kernel
    if not text:
        return k.curlwp(s.cpu)
    if "." in text:
        pid_s, _, lid_s = text.partition(".")
        pid, lid = s.number(pid_s), s.number(lid_s)
        for l in k.lwps:
            if k.proc(l).p_pid == pid and l.l_lid == lid:
                return l
        raise DbError(f"show lwp: no LWP {pid}.{lid} (pid.lid are in $radix: use 0t)")
    addr = s.number(text)
    for l in k.lwps:
        if l.addr == addr:
            return l
    raise DbError(f"show lwp: no LWP at {addr:#x}")


def db_show_lwp(s: Session, cmd: Cmd) -> str:
    k = s.kernel
    l = find(s, cmd.args)
    p = k.proc(l)
    func, pc, _ = symtab.resolve(l)
    running_on = next((c.ci_index for c in k.cpus if c.ci_curlwp == l.idx), None)
    rows = [
        ("lwp", f"{p.p_pid}.{l.l_lid} ({l.l_name or p.p_comm}) at {l.addr:#x}"),
        ("l_stat", f"{l.l_stat} ({LS_NAMES.get(l.l_stat, '?')})"),
        ("l_flag", f"{l.l_flag:#x} ({bits(l.l_flag, LW_NAMES)})"),
        ("l_pflag", f"{l.l_pflag:#x} ({bits(l.l_pflag, LP_NAMES)})"),
        ("l_cpu", cpu_name(k, l.l_cpu)),
        ("l_target_cpu", cpu_name(k, l.l_target_cpu)),
        ("l_affinity", "NULL" if l.l_affinity is None
         else "{" + ",".join(f"cpu{c}" for c in l.l_affinity) + "}"),
        # (l_psid only when a processor set is in use: PS_NONE is the rule.)
        *([("l_psid", str(l.l_psid))] if l.l_psid else []),
        ("l_mutex", l.l_mutex),
        ("l_priority", f"{l.l_priority} (eprio {k.lwp_eprio(l)})"),
        ("l_rticks", str(l.l_rticks)), ("l_rticksum", str(l.l_rticksum)),
        ("l_slpticks", str(l.l_slpticks)), ("l_slpticksum", str(l.l_slpticksum)),
        ("l_slptime", str(l.l_slptime)),
        ("l_nopreempt", str(l.l_nopreempt)), ("l_dopreempt", f"{l.l_dopreempt:#x}"),
        ("l_blcnt", str(l.l_blcnt)), ("l_biglocks", str(l.l_biglocks)),
        ("l_wchan", l.l_wchan or "NULL"), ("l_wmesg", l.l_wmesg or "NULL"),
        ("kstack", f"{l.kstack:#x}"),
        ("on cpu", "-" if running_on is None else f"cpu{running_on}"),
        ("at", symtab.sym(func, pc)),
    ]
    held = [ps for ps in k.psrefs if ps.psref_lwp == l.idx
            and any(ps.idx in c.psrefs for c in k.cpus)]
    for ps in held:
        rows.append(("psref", _psref_line(k, ps.idx)))
    return s.fmt("\n".join(f"{name:<14}{value}" for name, value in rows), wrap=False)


def _psref_line(k: Kernel, i: int) -> str:
    ps = k.psrefs[i]
    target = k.ifnets[ps.psref_target].if_xname if ps.psref_target is not None else "NULL"
    lists = [f"cpu{c.ci_index}" for c in k.cpus if i in c.psrefs] or ["none"]
    return (f"{ps.addr:#x} target {target} psref_cpu "
            f"{'NULL' if ps.psref_cpu is None else f'cpu{ps.psref_cpu}'} on list {','.join(lists)}")


def db_show_psref(s: Session, cmd: Cmd) -> str:
    """Every psref: target, psref_lwp, psref_cpu, the CPU list holding it."""
    k = s.kernel
    out = ["PSREF              TARGET CLASS PSREF_LWP              PSREF_CPU LIST      HOLDER ON"]
    for ps in k.psrefs:
        lists = [c.ci_index for c in k.cpus if ps.idx in c.psrefs]
        if ps.psref_target is None:
            continue
        holder = k.lwps[ps.psref_lwp] if ps.psref_lwp is not None else None
        on = next((c.ci_index for c in k.cpus if holder and c.ci_curlwp == holder.idx), None)
        where_now = holder.l_cpu if holder is not None else None
        flag = ""
        if lists and where_now is not None and where_now != ps.psref_cpu:
            flag = f"  <- held on cpu{ps.psref_cpu}, holder now on cpu{where_now}"
        out.append("%-18s %-6s %-5s %-22s %-9s %-9s %-9s%s" % (
            f"{ps.addr:#x}", k.ifnets[ps.psref_target].if_xname, "ifnet",
            lwp_name(k, ps.psref_lwp),
            "NULL" if ps.psref_cpu is None else f"cpu{ps.psref_cpu}",
            ",".join(f"cpu{c}" for c in lists) or "(released)",
            "-" if on is None else f"cpu{on}", flag))
    if len(out) == 1:
        return "no passive references taken"
    return s.fmt("\n".join(out), wrap=False)


def db_show_all_lwps(s: Session, cmd: Cmd) -> str:
    k = s.kernel
    out = ["PID.LID      NAME             STAT     CPU TARGET L_PFLAG    WHERE"]
    for l in allproc(k):
        p = k.proc(l)
        func, pc, _ = symtab.resolve(l)
        tgt = "-" if l.l_target_cpu is None else f"cpu{l.l_target_cpu}"
        out.append("%-12s %-16s %-8s %-3s %-6s %#-10x %s" % (
            f"{p.p_pid}.{l.l_lid}", l.l_name or p.p_comm,
            LS_NAMES.get(l.l_stat, "?").removeprefix("LS"), f"{l.l_cpu}", tgt,
            l.l_pflag, symtab.sym(func, pc)))
    out.append("")
    for c in k.cpus:
        mig = lwp_name(k, c.spc_migrating)
        q = ", ".join(lwp_name(k, i) for i in c.runq) or "empty"
        out.append(f"cpu{c.ci_index}: curlwp {lwp_name(k, c.ci_curlwp)}, spc_migrating {mig},"
                   f" spc_flags {bits(c.spc_flags, SPCF_NAMES)}, runq: {q}")
    return s.fmt("\n".join(out), wrap=False)
