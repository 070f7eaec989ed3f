"""The command tables: ddb's base table, its show table, and model extras.

Every name of NetBSD's amd64 GENERIC table is here so that prefixes
resolve (and are ambiguous) exactly as on a real console; the few that the
model has nothing for say so.
"""

from __future__ import annotations

from engine import symtab
from engine.ddb import db_examine, db_proc, db_run, db_trace
from engine.ddb.db_command import Breakpoint, Cmd, Entry, Session, lookup
from engine.ddb.db_lex import DbError
from engine.ddb.db_model import (
    db_mach_cpu,
    db_show_all_lwps,
    db_show_lwp,
    db_show_psref,
    db_show_registers,
    db_show_sched_qs,
)
from engine.ddb.db_output import db_format


def _unmodeled(s: Session, cmd: Cmd) -> str:
    return f"{cmd.name}: not modeled by ddbstep"


def db_break_cmd(s: Session, cmd: Cmd) -> str:
    if not cmd.args:
        raise DbError("Address missing")
    where = symtab.lookup(cmd.args)
    if where is None:
        try:
            where = symtab.lookup_addr(s.number(cmd.args))
        except DbError:
            where = None
    if where is None:
        raise DbError(f"Symbol not found: {cmd.args}")
    if any((b.func, b.pc) == where for b in s.breaks):
        return "Already set."
    count = cmd.count if cmd.count is not None else 1
    if count < 1:
        raise DbError("Count missing")
    s.breaks = s.breaks + [Breakpoint(where[0], where[1], count, count)]
    return ""


def db_delete_cmd(s: Session, cmd: Cmd) -> str:
    where = symtab.lookup(cmd.args) if cmd.args else None
    if where is None and cmd.args:
        try:
            where = symtab.lookup_addr(s.number(cmd.args))
        except DbError:
            where = None
    keep = [b for b in s.breaks if (b.func, b.pc) != where]
    if len(keep) == len(s.breaks):
        return "Not set."
    s.breaks = keep
    return ""


def db_show_breaks(s: Session, cmd: Cmd) -> str:
    if not s.breaks:
        return "No breakpoints set"
    out = [" Map      Count    Address"]
    for b in s.breaks:
        out.append(f"*{symtab.md('kernel_map'):#x} {b.init_count:5d}    {symtab.sym(b.func, b.pc)}")
    return s.fmt("\n".join(out))


def db_show_panic(s: Session, cmd: Cmd) -> str:
    k = s.kernel
    if k.panicstr is None:
        return "the kernel did not panic"
    return f"Panic string: {k.panicstr}"


def db_dmesg_cmd(s: Session, cmd: Cmd) -> str:
    return "\n".join(s.kernel.msgbuf)


def db_show_callout(s: Session, cmd: Cmd) -> str:
    k = s.kernel
    out = [f"hardclock_ticks now: {k.hardclock_ticks}", "    ticks  wheel               arg  func"]
    for l in k.lwps:
        if l.l_timeout is not None:
            out.append("%9d %2d/%-4d %16x  %s" % (
                l.l_timeout - k.hardclock_ticks, 0, l.l_timeout & 0xFF, l.addr, "sleepq_timeout"))
    return s.fmt("\n".join(out))


def columns(names: list[str], maxwidth: int = 80) -> str:
    """db_cmd_list(): column-major, width = longest name to the next tab stop."""
    width = (max(len(n) for n in names) // 8 + 1) * 8
    ncol = max(1, maxwidth // width)
    nrow = (len(names) + ncol - 1) // ncol
    lines = []
    for r in range(nrow):
        row = [names[c * nrow + r] for c in range(ncol) if c * nrow + r < len(names)]
        lines.append("".join(n + "\t" * ((width - len(n) + 7) // 8) for n in row))
    return db_format("\n".join(lines))


def _help_for(table: dict[str, Entry]) -> str:
    base = [n for n, e in table.items() if not e.extra]
    extra = [n for n, e in table.items() if e.extra]
    out = columns(base)
    if extra:
        out += "\nModel extras (ddbstep only, type them in full):\n" + columns(extra)
    return out


def db_help_cmd(s: Session, cmd: Cmd) -> str:
    words = cmd.args.split()
    if not words:
        return _help_for(TABLE)
    entry = lookup(TABLE, words[0])
    if entry.name == "show":
        return _help_for(SHOW)
    if entry.name == "machine":
        return "cpu"
    return ""


def db_show_cmd(s: Session, cmd: Cmd) -> str:
    return _sub(s, cmd, SHOW, "show")


def db_machine_cmd(s: Session, cmd: Cmd) -> str:
    return _sub(s, cmd, MACHINE, "machine")


def _sub(s: Session, cmd: Cmd, table: dict[str, Entry], what: str) -> str:
    from engine.ddb.db_command import split_count, split_modifiers

    text = (f"/{cmd.modifiers} " if cmd.modifiers else "") + cmd.args
    if cmd.count is not None:
        text += f",{cmd.count:#x}"
    words = text.split(None, 1)
    while words and words[0] == "all" and what == "show":
        # `all` is a pass-through (show all procs == show procs)
        words = words[1].split(None, 1) if len(words) > 1 else []
    if not words or words[0].startswith("/"):
        return _help_for(table)
    name, rest = words[0], (words[1] if len(words) > 1 else "")
    mod = ""
    if "/" in name:
        name, _, mod = name.partition("/")
        rest = f"/{mod} {rest}"
    entry = lookup(table, name)
    mod, rest = split_modifiers(rest)
    args, count = split_count(s, rest)
    return entry.handler(s, Cmd(entry.name, mod, args, count, cmd.line))


def _e(name: str, handler, extra: bool = False, norepeat: bool = False) -> Entry:  # type: ignore[no-untyped-def]
    return Entry(name, handler, extra, norepeat)


TABLE: dict[str, Entry] = {e.name: e for e in [
    _e("b", db_break_cmd), _e("break", db_break_cmd),
    _e("bt", db_trace.db_stack_trace_cmd),
    _e("c", db_run.db_continue_cmd), _e("call", _unmodeled), _e("callout", db_show_callout),
    _e("continue", db_run.db_continue_cmd),
    _e("d", db_delete_cmd), _e("delete", db_delete_cmd), _e("dmesg", db_dmesg_cmd),
    _e("dwatch", _unmodeled),
    _e("examine", db_examine.db_examine_cmd), _e("exit", db_run.db_continue_cmd),
    _e("help", db_help_cmd, norepeat=True), _e("kill", _unmodeled),
    _e("machine", db_machine_cmd), _e("match", db_run.db_trace_until_matching_cmd),
    _e("next", db_run.db_trace_until_matching_cmd),
    _e("p", db_examine.db_print_cmd), _e("print", db_examine.db_print_cmd),
    _e("ps", db_proc.db_show_all_procs), _e("quit", db_run.db_continue_cmd),
    _e("reboot", _unmodeled), _e("s", db_run.db_single_step_cmd),
    _e("search", _unmodeled), _e("set", db_examine.db_set_cmd), _e("show", db_show_cmd),
    _e("sifting", _unmodeled), _e("step", db_run.db_single_step_cmd),
    _e("sync", _unmodeled), _e("trace", db_trace.db_stack_trace_cmd),
    _e("until", db_run.db_trace_until_call_cmd),
    _e("w", _unmodeled), _e("watch", _unmodeled), _e("whatis", _unmodeled),
    _e("write", _unmodeled), _e("x", db_examine.db_examine_cmd),
    _e("undo", db_run.db_undo_cmd, extra=True),
    _e("hardclock", db_run.db_hardclock_cmd, extra=True),
    _e("intr", db_run.db_intr_cmd, extra=True),
]}

SHOW: dict[str, Entry] = {e.name: e for e in [
    _e(n, _unmodeled) for n in (
        "buf", "devices", "event", "files", "freelists", "locks", "lock", "lockstats",
        "kqueue", "map", "mbuf", "module", "mount", "mounts", "ncache", "object", "page",
        "pages", "pool", "pools", "routes", "socket", "tstiles", "uvmexp", "vmem",
        "vmems", "vnode", "vnode_lock", "watches")
] + [
    _e("all", db_show_cmd), _e("breaks", db_show_breaks), _e("callout", db_show_callout),
    _e("panic", db_show_panic), _e("proc", db_proc.db_show_proc),
    _e("procs", db_proc.db_show_all_procs), _e("registers", db_show_registers),
    _e("sched_qs", db_show_sched_qs),
    _e("lwp", db_show_lwp, extra=True), _e("lwps", db_show_all_lwps, extra=True),
    _e("psref", db_show_psref, extra=True),
]}
# db_show_cmds[] order (db_command.c 1.185, minus what GENERIC lacks).
SHOW_ORDER = (
    "all breaks buf callout devices event files freelists locks lock lockstats kqueue map"
    " mbuf module mount mounts ncache object page pages panic pool pools proc procs"
    " registers routes sched_qs socket tstiles uvmexp vmem vmems vnode vnode_lock watches"
    " lwp lwps psref"
).split()
SHOW = {name: SHOW[name] for name in SHOW_ORDER}

MACHINE: dict[str, Entry] = {"cpu": _e("cpu", db_mach_cpu)}
