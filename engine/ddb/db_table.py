"""The command tables: ddb's base table, its show table, and model extras.

Every name of NetBSD's amd64 GENERIC table is here so that prefixes
resolve (and are ambiguous) exactly as on a real console; the few that the
model has nothing for say so.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine import callgraph, symtab
from engine.ddb import db_access, db_examine, db_proc, db_run, db_search, db_trace
from engine.ddb.db_lex import DbError, Lexer, tCOMMA, tEOL, tEXCL, tIDENT
from engine.ddb.db_model import (
    db_mach_cpu,
    db_show_all_lwps,
    db_show_lwp,
    db_show_psref,
    db_show_registers,
    db_show_sched_qs,
)
from engine.ddb.db_output import db_format
from engine.ddb.db_session import Breakpoint, Cmd, Entry, Handler, Watchpoint

if TYPE_CHECKING:
    from engine.ddb.db_command import Session


def _unmodeled(s: Session, cmd: Cmd) -> str:
    return f"ddbstep: {cmd.name}: not modeled"


def db_break_cmd(s: Session, cmd: Cmd) -> str:
    """db_breakpoint_cmd() / db_set_breakpoint() (db_break.c): at addr (dot
    if none), newest first."""
    addr = cmd.addr & 0xFFFFFFFFFFFFFFFF
    if any(b.pc_addr == addr for b in s.breaks):
        return "Already set."
    count = cmd.count if cmd.count is not None else 1
    where = symtab.lookup_addr(addr)
    if where is None:
        # A real ddb plants int3 anywhere; the model only stops between
        # its statements, so a breakpoint elsewhere could never fire.
        raise DbError(_unreachable(s, addr))
    func, pc = where
    if (why := callgraph.why_no_stop(func)) is not None:
        raise DbError(f"{db_run.MARK} {why}")
    s.breaks = [Breakpoint(func, pc, count, count, addr)] + s.breaks
    return ""


def _unreachable(s: Session, addr: int) -> str:
    """Why no run can stop at addr: it is no modeled statement's address."""
    name = db_examine.db_printsym(s, addr)
    func = symtab.function_at(addr)
    if func is None:
        return f"{db_run.MARK} {addr:#x} is not in modeled code: no run stops there"
    offs = ", ".join(f"+{o:#x}" for o in symtab.offsets(func)[:6])
    more = ", ..." if len(symtab.offsets(func)) > 6 else ""
    return (f"{db_run.MARK} no modeled statement of {func} starts at {name}"
            f" (they start at {offs}{more}): no run stops there")


def db_delete_cmd(s: Session, cmd: Cmd) -> str:
    """db_delete_cmd(): the breakpoint at addr, else "Not set."."""
    addr = cmd.addr & 0xFFFFFFFFFFFFFFFF
    keep = [b for b in s.breaks if b.pc_addr != addr]
    if len(keep) == len(s.breaks):
        return "Not set."
    s.breaks = keep
    return ""


def db_show_breaks(s: Session, cmd: Cmd) -> str:
    """db_list_breakpoints()."""
    if not s.breaks:
        return "No breakpoints set"
    out = [" Map      Count    Address"]
    for b in s.breaks:
        out.append(f"*{symtab.md('kernel_map'):#x} {b.init_count:5d}    "
                   f"{db_examine.db_printsym(s, b.pc_addr)}")
    return "\n".join(out)


def db_watchpoint_cmd(s: Session, cmd: Cmd) -> str:
    """db_watchpoint_cmd() (db_watch.c l.183-196): `watch addr [size]`, the
    size the expression after the address, 4 if none. db_command() has
    already taken `,N` as the count, which this command ignores (its help
    text says "address[,size]" all the same). A field path (model
    extension) watches that field, its size by default.

    How it stops is the model's (help, README): after the exact store, on
    the CPU that made it. 2018 amd64 has no debug-register watchpoints:
    db_set_watchpoints() write-protects the pages and the fault's trap
    path never reports a watchpoint (IS_WATCHPOINT_TRAP needs code bits
    trap() does not pass)."""
    from engine.ddb.db_examine import db_expression

    addr = cmd.addr & 0xFFFFFFFFFFFFFFFF
    size = None
    if cmd.field is not None:
        base, name = cmd.field
        addr = db_access.field_address(s.kernel, base, name)
        hit = db_access.field_at(s.kernel, addr)
        if hit is not None:
            size = hit[3]
    if cmd.lexer is not None:
        more = db_expression(s, cmd.lexer)
        if more is not None:
            size = more[0]
    size = 4 if size is None else size
    if db_access.object_at(s.kernel, addr) is None:
        raise DbError(f"ddbstep: {addr:#x} is not modeled memory: nothing there to watch")
    if any(w.loaddr == addr and w.hiaddr == addr + size for w in s.watches):
        return "Already set."
    s.watches = [Watchpoint(addr, addr + size)] + s.watches
    if cmd.count is not None:
        return (f"{db_run.MARK} ,{cmd.count} is ddb's count, which watch ignores: "
                f"watching {size} bytes (the size goes after the address: watch ADDR SIZE)")
    return ""


def db_deletewatch_cmd(s: Session, cmd: Cmd) -> str:
    """db_deletewatch_cmd(): the watchpoint whose range holds addr."""
    addr = cmd.addr & 0xFFFFFFFFFFFFFFFF
    if cmd.field is not None:
        addr = db_access.field_address(s.kernel, *cmd.field)
    for w in s.watches:
        if w.loaddr <= addr < w.hiaddr:
            s.watches = [x for x in s.watches if x is not w]
            return ""
    return "Not set."


def db_listwatch_cmd(s: Session, cmd: Cmd) -> str:
    """db_list_watchpoints()."""
    if not s.watches:
        return "No watchpoints set"
    out = [" Map        Address  Size"]
    for w in s.watches:
        out.append(f"*{symtab.md('kernel_map'):#x}  {w.loaddr:8x}  {w.hiaddr - w.loaddr:x}")
    return "\n".join(out)


def db_show_panic(s: Session, cmd: Cmd) -> str:
    """db_show_panic() (db_xxx.c): printf's "(null)" before a panic."""
    k = s.kernel
    return f"Panic string: {k.panicstr if k.panicstr is not None else '(null)'}"


LOCKDEBUG_SORRY = "Sorry, kernel not built with the LOCKDEBUG option."


def db_lock_print_cmd(s: Session, cmd: Cmd) -> str:
    """show lock / show all locks / show lockstats: lockdebug_*() without
    LOCKDEBUG (GENERIC). `show mutexes` is the model's view of holders."""
    return LOCKDEBUG_SORRY


def db_dmesg_cmd(s: Session, cmd: Cmd) -> str:
    return "\n".join(s.kernel.msgbuf)


def db_show_callout(s: Session, cmd: Cmd) -> str:
    """db_show_callout() (kern_timeout.c l.795-826): each CPU's wheel in
    bucket order. The model keeps a callout's ticks left, not each CPU's
    cc_ticks: the bucket is computed as if cc_ticks were hardclock_ticks
    (exact for the primary CPU, whose hardclock advances both)."""
    k = s.kernel
    out = [f"hardclock_ticks now: {k.hardclock_ticks}", "    ticks  wheel               arg  func"]
    rows = []
    for l in k.lwps:
        if l.l_timeout is not None:
            cpu, left = l.l_timeout
            bucket = (k.hardclock_ticks + left) & 0xFF  # BUCKET(): wheel 0 for rel <= 256
            rows.append((bucket, cpu, "%9d %2d/%-4d %16x  %s" % (
                left, 0, bucket, l.addr, "sleepq_timeout")))
    out += [row for _, _, row in sorted(rows)]
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


RACE_HELP = """\
The race in three commands (ddbstep):
  search            find a schedule from here that panics (the explorer)
  follow/a          walk it to the panic (follow: to its next race event)
  bt                the panic's backtrace"""

# What help says after the extensions' rows: not commands.
EXTENSIONS_NOTES = """\
  $seed $tick $maxsteps    variables of c/a and of every run command
  $searchstates     the state bound of search's full search
  curlwp curcpu() curproc  names in expressions; EXPR->field reads a field
  db{N}>            the prompt follows `mach cpu N`, and s, n, until and c
                    drive the selected CPU alone while the others stay
                    paused (in ddb, mach cpu only switches registers)"""


def extensions_help() -> str:
    """ddbstep's extensions, from the table's rows, then the notes."""
    out = ["ddbstep extensions (not in NetBSD's ddb; type them in full):"]
    for use, text in extension_lines():
        words = text.split()
        lines: list[str] = []
        cur = ""
        for w in words:
            if cur and len(cur) + 1 + len(w) > 56:
                lines.append(cur)
                cur = w
            else:
                cur = f"{cur} {w}" if cur else w
        lines.append(cur)
        if len(use) >= 18:
            out.append(f"  {use}")
            out += [f"{'':20}{x}" for x in lines]
        else:
            out.append(f"  {use:<18}{lines[0]}")
            out += [f"{'':20}{x}" for x in lines[1:]]
    return "\n".join(out) + "\n" + EXTENSIONS_NOTES


def cmd_list(table: dict[str, Entry]) -> str:
    """db_cmd_list() of ddb's own entries (the extensions are not listed)."""
    return columns([n for n, e in table.items() if not e.extra])


def db_help_cmd(s: Session, cmd: Cmd) -> str:
    """db_help_print_cmd(): the base list, or a sub-table's."""
    lx = cmd.lexer
    assert lx is not None
    if lx.read_token() != tIDENT:
        return RACE_HELP + "\n\n" + cmd_list(TABLE) + "\n\n" + extensions_help()
    printed: list[str] = []
    db_read_command(lx, printed)
    return "\n".join(printed)  # without DDB_VERBOSE_HELP: nothing more


def db_mutexes_cmd(s: Session, cmd: Cmd) -> str:
    """show mutexes (model extension): LOCKDEBUG's answer without LOCKDEBUG."""
    from engine.ddb.db_run import lock_holder_line

    k = s.kernel
    if not k.locks:
        return "[ddbstep] no modeled spin mutex is held"
    return "\n".join(lock_holder_line(s, name) for name in sorted(k.locks))


def db_pin_cmd(s: Session, cmd: Cmd) -> str:
    """pin [LINE] (model extension): a ddb line (p, x, show ...) whose output
    the app shows after every command; alone, the pinned lines and what
    they print now."""
    line = cmd.args.strip()
    if not line:
        if not s.pins:
            return "[ddbstep] nothing pinned"
        return "\n".join(f"{i}: {p} => {pinned_value(s, p)}" for i, p in enumerate(s.pins))
    err = check_command(line)
    if err is not None:
        raise DbError(err)
    word = line.split()[0].split("/")[0].split(",")[0]
    if word in ("pin", "unpin") or (word and lookup(TABLE, word).runs):
        raise DbError("ddbstep: pin shows values: pin p, x or show lines, not run commands")
    s.pins = s.pins + [line]
    return f"{len(s.pins) - 1}: {line} => {pinned_value(s, line)}"


def db_unpin_cmd(s: Session, cmd: Cmd) -> str:
    """unpin N (model extension): drop pinned line N."""
    text = cmd.args.strip()
    if not text:
        raise DbError("usage: unpin N (see pin)")
    n = s.number(text)
    if not 0 <= n < len(s.pins):
        raise DbError(f"ddbstep: no pinned line {n}")
    s.pins = s.pins[:n] + s.pins[n + 1:]
    return ""


def pinned_value(s: Session, line: str) -> str:
    """What a pinned line prints now, on a fork (the session is untouched)."""
    out = s.fork().execute(line)
    return " ".join(part.strip() for part in out.splitlines() if part.strip())


def db_call_cmd(s: Session, cmd: Cmd) -> str:
    return "ddbstep: call: the model cannot call kernel functions"


def _e(name: str, handler: Handler, descr: str = "", args: str = "",
       **flags: object) -> Entry:
    return Entry(name, handler, descr, args, **flags)  # type: ignore[arg-type]


def _sub(name: str) -> Handler:
    def never(s: Session, cmd: Cmd) -> str:  # db_read_command() descends instead
        raise DbError("?")
    return never


_BREAK = ("Set a breakpoint at address", "[/u] address[,count].")
_CONT = ("Continue execution.", "[/c]")
_DELETE = ("Delete a breakpoint.", "address | #number")
_EXAMINE = ("Display the address locations.", "[/modifier] address[,count]")
_NEXT = "Stop at the matching return instruction."
_PRINT = ("Print address according to the format.", "[/axzodurc] address [address ...]")
_STEP = ("Single-step count times.", "[/p] [,count]")
_WRITE = ("Write the expressions at succeeding locations.", "[/bhl] address expression")

# db_command_table[] (db_command.c 1.160), in its order, each with its
# cmd_descr and cmd_arg (ddbstep's words where 1.160 has none); then the
# model's extensions. One row holds every fact about a command.
TABLE: dict[str, Entry] = {e.name: e for e in [
    _e("b", db_break_cmd, *_BREAK, prefill=True, address=True),
    _e("break", db_break_cmd, *_BREAK, prefill=True, address=True),
    _e("bt", db_trace.db_stack_trace_cmd, "Show backtrace.", "See help trace."),
    _e("c", db_run.db_continue_cmd, *_CONT, runs=True,
       forms=(("c/a", "continue every CPU, interleaved ($seed, $tick)"),),
       palette=(("c/a", "continue every CPU, interleaved ($seed, $tick)"),)),
    _e("call", db_call_cmd, "Call the function", "address[(expression[,...])]", own=True,
       prefill=True),
    _e("callout", db_show_callout, "List all used callout functions."),
    _e("continue", db_run.db_continue_cmd, *_CONT, runs=True),
    _e("d", db_delete_cmd, *_DELETE, prefill=True, address=True),
    _e("delete", db_delete_cmd, *_DELETE, prefill=True, address=True),
    _e("dmesg", db_dmesg_cmd, "Show kernel message buffer.", "[count]"),
    _e("dwatch", db_deletewatch_cmd, "Delete the watchpoint.", "address", prefill=True,
       address=True),
    _e("examine", db_examine.db_examine_cmd, *_EXAMINE, set_dot=True, prefill=True,
       address=True),
    _e("exit", db_run.db_continue_cmd, *_CONT, runs=True),
    _e("help", db_help_cmd, "Display help about commands", "Use other commands as arguments.",
       own=True, norepeat=True),
    _e("kill", _unmodeled, "Send a signal to the process", "pid[,signal_number]", own=True,
       prefill=True),
    _e("machine", _sub("machine"), "Architecture specific functions.", sub="machine"),
    _e("match", db_run.db_trace_until_matching_cmd, _NEXT, "See help next", runs=True),
    _e("next", db_run.db_trace_until_matching_cmd, _NEXT, "[/p]", runs=True),
    _e("p", db_examine.db_print_cmd, *_PRINT, prefill=True, address=True),
    _e("print", db_examine.db_print_cmd, *_PRINT, prefill=True, address=True),
    _e("ps", db_proc.db_show_all_procs, "Print all processes.", "See show all procs"),
    _e("quit", db_run.db_continue_cmd, *_CONT, runs=True),
    _e("reboot", db_run.db_reboot_cmd,
       "Reboot (ddbstep: boot the scenario again; undo takes it back)", own=True,
       forms=(("reboot", "boots the scenario again (ddb's command; undo takes it back)"),)),
    _e("s", db_run.db_single_step_cmd, *_STEP, runs=True, count_runs=True),
    _e("search", db_search.db_search_cmd,
       "ddbstep: alone, find a panicking schedule from here (ddb: search memory"
       " from address for value, not modeled)", "[/s]", own=True, set_dot=True, runs=True,
       forms=(("search[/s]", "alone: a panicking schedule from the state as it is, or a"
               " proof that none is reachable, or the bound searched; /s the shortest"
               " (long; Ctrl-C stops it). It becomes the plan. (ddb's `search ADDR VALUE`"
               " memory search is not modeled.)"),),
       palette=(("search/s", "the shortest panicking schedule from here (long; Ctrl-C"
                 " stops it)"),)),
    _e("set", db_examine.db_set_cmd, "Set the named variable", "$variable [=] expression",
       own=True, prefill=True),
    _e("show", _sub("show"), "Show kernel stats.", sub="show"),
    _e("sifting", _unmodeled, "Search the symbol tables ", "[/F] string", own=True,
       prefill=True),
    _e("step", db_run.db_single_step_cmd, *_STEP, runs=True, count_runs=True),
    _e("sync", _unmodeled, "Force a crash dump, and then reboot.", own=True),
    _e("trace", db_trace.db_stack_trace_cmd, "Stack trace from frame-address.",
       "[/u[l]] [frame-address][,count]"),
    _e("until", db_run.db_trace_until_call_cmd,
       "Stop at the next call or return instruction.", "[/p]", runs=True, address=True),
    _e("w", _unmodeled, *_WRITE, more=True, set_dot=True, prefill=True),
    _e("watch", db_watchpoint_cmd, "Set a watchpoint for a region. ", "address[,size]",
       more=True, prefill=True, address=True,
       forms=(("watch ADDR [SIZE]", "ddb's command, stopping the model's way: after the"
               " exact store, on the CPU that made it (\"Watchpoint in ...\"); 2018 amd64"
               " write-protects the page and never says so"),)),
    _e("whatis", _unmodeled, "Describe what an address is", "address", prefill=True,
       address=True),
    _e("write", _unmodeled, *_WRITE, more=True, set_dot=True, prefill=True),
    _e("x", db_examine.db_examine_cmd, *_EXAMINE, set_dot=True, prefill=True, address=True),
    _e("undo", db_run.db_undo_cmd, "take back the last n commands (state, CPU, breakpoints),"
       " a reboot or a fix included", "[,n]", extra=True),
    _e("hardclock", db_run.db_hardclock_cmd, "n clock interrupts on the selected CPU", "[,n]",
       extra=True),
    _e("intr", db_run.db_intr_cmd, "DEV's interrupt on the selected CPU (a synthetic driver)",
       " DEV[,n]", extra=True, prefill=True),
    _e("fix", db_run.db_fix_cmd, "reboot with mi_switch's LP_BOUND guard in or reverted",
       " [on|off]", extra=True),
    _e("frame", db_trace.db_frame_cmd, "select a frame of the selected CPU's stack (as gdb);"
       " the app's source pane and locals follow it", " [N]", extra=True),
    _e("up", db_trace.db_up_cmd, "select the caller's frame", " [N]", extra=True),
    _e("down", db_trace.db_down_cmd, "select the callee's frame", " [N]", extra=True),
    _e("pin", db_pin_cmd, "a p/x/show line the app re-runs after every command", " LINE",
       extra=True, prefill=True),
    _e("unpin", db_unpin_cmd, "drop pinned line N", " N", extra=True, prefill=True),
    _e("check", db_run.db_check_cmd, "check a property at every statement: bound-stays (an"
       " LWP's l_cpu never changes while LP_BOUND is set) or off", " [bound-stays|off]",
       extra=True),
    _e("follow", db_search.db_follow_cmd, "walk the plan to its next race event (n events;"
       " /a to the end); a command that leaves the plan ends it", "[/a][,n]", extra=True,
       runs=True, palette=(("follow/a", "walk the plan search found to the panic"),)),
]}

# db_show_cmds[] (db_command.c 1.160) as amd64 GENERIC compiles it (INET;
# no AIO, MQUEUE or KERNHIST), in its order; then the model's extensions.
SHOW: dict[str, Entry] = {e.name: e for e in [
    _e("callout", db_show_callout, "List all used callout functions."),
    _e("pages", _unmodeled, "List all used memory pages."),
    _e("proc", db_proc.db_show_proc, "Print process information.", prefill=True),
    _e("procs", db_proc.db_show_all_procs, "List all processes."),
    _e("pools", _unmodeled, "Show all pools"),
    _e("locks", db_lock_print_cmd, "Show all held locks"),
    _e("all", _sub("all"), sub="all"),
    _e("routes", _unmodeled),
    _e("breaks", db_show_breaks, "Display all breaks."),
    _e("buf", _unmodeled, "Print the struct buf at address.", prefill=True),
    _e("devices", _unmodeled),
    _e("event", _unmodeled, "Print all the non-zero evcnt(9) event counters."),
    _e("files", _unmodeled, "Print the files open by process at address", prefill=True),
    _e("lock", db_lock_print_cmd, prefill=True),
    _e("lockstats", db_lock_print_cmd, "Print statistics of locks"),
    _e("map", _unmodeled, "Print the vm_map at address.", prefill=True),
    _e("socket", _unmodeled),
    _e("module", _unmodeled, "Print kernel modules"),
    _e("mount", _unmodeled, "Print the mount structure at address.", prefill=True),
    _e("mbuf", _unmodeled),
    _e("ncache", _unmodeled, "Dump the namecache list."),
    _e("object", _unmodeled, "Print the vm_object at address.", prefill=True),
    _e("page", _unmodeled, "Print the vm_page at address.", prefill=True),
    _e("panic", db_show_panic, "Print the current panic string"),
    _e("pool", _unmodeled, "Print the pool at address.", prefill=True),
    _e("registers", db_show_registers, "Display the register set."),
    _e("sched_qs", db_show_sched_qs, "Print the state of the scheduler's run queues."),
    _e("uvmexp", _unmodeled, "Print a selection of UVM counters and statistics."),
    _e("vnode", _unmodeled, "Print the vnode at address.", prefill=True),
    _e("vnode_lock", _unmodeled, "Print the vnode having that address as v_lock.",
       prefill=True),
    _e("vmem", _unmodeled, "Print the vmem usage.", prefill=True),
    _e("vmems", _unmodeled, "Show all vmems."),
    _e("watches", db_listwatch_cmd, "Display all watchpoints."),
    _e("lwp", db_show_lwp, "one LWP: l_pflag, l_target_cpu, l_cpu, its psref",
       " [PID.LID|ADDR]", extra=True, prefill=True),
    _e("lwps", db_show_all_lwps, "every LWP and each CPU's run queue and spc_migrating",
       extra=True),
    _e("psref", db_show_psref, "every passive reference: target, psref_cpu, holder",
       extra=True),
    _e("mutexes", db_mutexes_cmd, "each modeled spin mutex and the CPU and LWP holding it",
       extra=True),
    _e("plan", db_search.db_show_plan, "the plan's steps, walked and ahead", extra=True),
]}

# db_machine_command_table[] (amd64 db_interface.c).
MACHINE: dict[str, Entry] = {"cpu": _e("cpu", db_mach_cpu, "switch to another cpu", "cpu-no")}

TABLES: dict[str, dict[str, Entry]] = {"base": TABLE, "show": SHOW, "machine": MACHINE}


def usage(prefix: str, e: Entry) -> str:
    """How help and the palette name an entry: `show lwp [PID.LID|ADDR]`."""
    return f"{prefix}{e.name}{e.args}" if e.extra else f"{prefix}{e.name}"


def palette_lines() -> list[tuple[str, str, bool]]:
    """(line, what it does, prefill rather than run) of every command, then
    the forms its rows offer: the app's command palette."""
    out: list[tuple[str, str, bool]] = []
    for prefix, table in (("", TABLE), ("show ", SHOW)):
        for e in table.values():
            if e.sub is not None:
                continue
            mark = "ddbstep: " if e.extra else ""
            text = f"{mark}{e.descr} {e.args.strip()}".strip() if not prefix else (
                f"{mark}{e.descr}" if e.descr else "ddb show")
            out.append((prefix + e.name, text, e.prefill))
    for table in (TABLE, SHOW):
        for e in table.values():
            out += [(line, f"ddbstep: {text}", False) for line, text in e.palette]
    return out


def extension_lines() -> list[tuple[str, str]]:
    """(usage, what it does) in table order: each extension's row, and the
    model's forms of ddb's own commands (c/a, search alone, watch's stop)."""
    out: list[tuple[str, str]] = []
    for prefix, table in (("", TABLE), ("show ", SHOW)):
        for e in table.values():
            out += [(usage(prefix, e), e.descr)] if e.extra else list(e.forms)
    return out


# -- the table's lookup (db_command.c db_cmd_search_table, db_read_command) --------


def lookup(table: dict[str, Entry], word: str) -> Entry:
    """db_cmd_search_table(): an exact match, else a unique prefix.

    Model extensions must be typed in full, so that they never change how
    a prefix of ddb's own commands resolves.
    """
    if word in table:
        return table[word]
    hits = [e for name, e in table.items() if name.startswith(word) and not e.extra]
    if len(hits) == 1:
        return hits[0]
    if not hits:
        raise DbError(f"No such command: {word}")
    raise DbError(f"Ambiguous command: {word}")


def db_read_command(lx: Lexer, printed: list[str]) -> Entry | None:
    """db_read_command(): the command and its sub-commands (show, machine)."""
    table = TABLES["base"]
    while True:
        entry = lookup(table, lx.tok_string)
        if entry.sub is None:
            return entry
        if entry.sub != "all":
            table = TABLES[entry.sub]
        if lx.read_token() != tIDENT:
            printed.append(cmd_list(table))
            lx.flush()
            return None


def check_command(line: str) -> str | None:
    """What ddb would say about the command NAME of line, or None if it names
    one (a scenario's [replay] is checked with this when it loads)."""
    try:
        lx = Lexer(line, 16)
        t = lx.read_token()
        if t in (tEOL, tCOMMA, tEXCL):
            return None
        if t != tIDENT:
            return "?"
        db_read_command(lx, [])  # a missing sub-command only lists the table
        return None
    except DbError as e:
        return str(e)
