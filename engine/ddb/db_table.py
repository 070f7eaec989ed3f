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

EXTENSIONS_HELP = """\
ddbstep extensions (not in NetBSD's ddb; type them in full):
  search[/s]        alone: a panicking schedule from the state as it is, or
                    a proof that none is reachable, or the bound searched;
                    /s the shortest (long; Ctrl-C stops it). It becomes the
                    plan. (ddb's `search ADDR VALUE` memory search is not
                    modeled.)
  follow[/a][,n]    walk the plan to its next race event (n events; /a to
                    the end); a command that leaves the plan ends it
  show plan         the plan's steps, walked and ahead
  undo[,n]          take back the last n commands (state, CPU, breakpoints),
                    a reboot or a fix included
  fix [on|off]      reboot with mi_switch's LP_BOUND guard in or reverted
  frame [N], up [N], down [N]
                    select a frame of the selected CPU's stack (as gdb); the
                    app's source pane and locals follow it
  pin LINE, unpin N a p/x/show line the app re-runs after every command
  reboot            boots the scenario again (ddb's command; undo takes it back)
  hardclock[,n]     n clock interrupts on the selected CPU
  intr DEV[,n]      DEV's interrupt on the selected CPU (a synthetic driver)
  c/a               continue every CPU, interleaved ($seed, $tick)
  show lwp [PID.LID|ADDR]   one LWP: l_pflag, l_target_cpu, l_cpu, its psref
  show all lwps     every LWP and each CPU's run queue and spc_migrating
  show psref        every passive reference: target, psref_cpu, holder
  show mutexes      each modeled spin mutex and the CPU and LWP holding it
  watch ADDR [SIZE] ddb's command, stopping the model's way: after the exact
                    store, on the CPU that made it ("Watchpoint in ...");
                    2018 amd64 write-protects the page and never says so
  $seed $tick $maxsteps    variables of c/a and of every run command
  $searchstates     the state bound of search's full search
  curlwp curcpu() curproc  names in expressions; EXPR->field reads a field
  db{N}>            the prompt follows `mach cpu N`, and s, n, until and c
                    drive the selected CPU alone while the others stay
                    paused (in ddb, mach cpu only switches registers)"""


def cmd_list(table: dict[str, Entry]) -> str:
    """db_cmd_list() of ddb's own entries (the extensions are not listed)."""
    return columns([n for n, e in table.items() if not e.extra])


def db_help_cmd(s: Session, cmd: Cmd) -> str:
    """db_help_print_cmd(): the base list, or a sub-table's."""
    lx = cmd.lexer
    assert lx is not None
    if lx.read_token() != tIDENT:
        return RACE_HELP + "\n\n" + cmd_list(TABLE) + "\n\n" + EXTENSIONS_HELP
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
    runs = (db_run.db_single_step_cmd, db_run.db_continue_cmd,
            db_run.db_trace_until_call_cmd, db_run.db_trace_until_matching_cmd)
    word = line.split()[0].split("/")[0].split(",")[0]
    if word in ("pin", "unpin") or (word and lookup(TABLE, word).handler in runs):
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


def _e(name: str, handler: Handler, **flags: object) -> Entry:
    return Entry(name, handler, **flags)  # type: ignore[arg-type]


def _sub(name: str) -> Handler:
    def never(s: Session, cmd: Cmd) -> str:  # db_read_command() descends instead
        raise DbError("?")
    return never


# db_command_table[] (db_command.c 1.160), in its order.
TABLE: dict[str, Entry] = {e.name: e for e in [
    _e("b", db_break_cmd), _e("break", db_break_cmd),
    _e("bt", db_trace.db_stack_trace_cmd),
    _e("c", db_run.db_continue_cmd), _e("call", db_call_cmd, own=True),
    _e("callout", db_show_callout),
    _e("continue", db_run.db_continue_cmd),
    _e("d", db_delete_cmd), _e("delete", db_delete_cmd), _e("dmesg", db_dmesg_cmd),
    _e("dwatch", db_deletewatch_cmd),
    _e("examine", db_examine.db_examine_cmd, set_dot=True),
    _e("exit", db_run.db_continue_cmd),
    _e("help", db_help_cmd, own=True, norepeat=True), _e("kill", _unmodeled, own=True),
    _e("machine", _sub("machine"), sub="machine"),
    _e("match", db_run.db_trace_until_matching_cmd),
    _e("next", db_run.db_trace_until_matching_cmd),
    _e("p", db_examine.db_print_cmd), _e("print", db_examine.db_print_cmd),
    _e("ps", db_proc.db_show_all_procs), _e("quit", db_run.db_continue_cmd),
    _e("reboot", db_run.db_reboot_cmd, own=True), _e("s", db_run.db_single_step_cmd),
    _e("search", db_search.db_search_cmd, own=True, set_dot=True),
    _e("set", db_examine.db_set_cmd, own=True), _e("show", _sub("show"), sub="show"),
    _e("sifting", _unmodeled, own=True), _e("step", db_run.db_single_step_cmd),
    _e("sync", _unmodeled, own=True), _e("trace", db_trace.db_stack_trace_cmd),
    _e("until", db_run.db_trace_until_call_cmd),
    _e("w", _unmodeled, more=True, set_dot=True),
    _e("watch", db_watchpoint_cmd, more=True),
    _e("whatis", _unmodeled), _e("write", _unmodeled, more=True, set_dot=True),
    _e("x", db_examine.db_examine_cmd, set_dot=True),
    _e("undo", db_run.db_undo_cmd, extra=True),
    _e("hardclock", db_run.db_hardclock_cmd, extra=True),
    _e("intr", db_run.db_intr_cmd, extra=True),
    _e("fix", db_run.db_fix_cmd, extra=True),
    _e("frame", db_trace.db_frame_cmd, extra=True),
    _e("up", db_trace.db_up_cmd, extra=True),
    _e("down", db_trace.db_down_cmd, extra=True),
    _e("pin", db_pin_cmd, extra=True),
    _e("unpin", db_unpin_cmd, extra=True),
    _e("follow", db_search.db_follow_cmd, extra=True),
]}

# db_show_cmds[] (db_command.c 1.160) as amd64 GENERIC compiles it (INET;
# no AIO, MQUEUE or KERNHIST), in its order; then the model's extensions.
SHOW: dict[str, Entry] = {e.name: e for e in [
    _e("callout", db_show_callout), _e("pages", _unmodeled),
    _e("proc", db_proc.db_show_proc), _e("procs", db_proc.db_show_all_procs),
    _e("pools", _unmodeled), _e("locks", db_lock_print_cmd),
    _e("all", _sub("all"), sub="all"),
    _e("routes", _unmodeled), _e("breaks", db_show_breaks), _e("buf", _unmodeled),
    _e("devices", _unmodeled), _e("event", _unmodeled), _e("files", _unmodeled),
    _e("lock", db_lock_print_cmd), _e("lockstats", db_lock_print_cmd),
    _e("map", _unmodeled), _e("socket", _unmodeled), _e("module", _unmodeled),
    _e("mount", _unmodeled), _e("mbuf", _unmodeled), _e("ncache", _unmodeled),
    _e("object", _unmodeled), _e("page", _unmodeled), _e("panic", db_show_panic),
    _e("pool", _unmodeled), _e("registers", db_show_registers),
    _e("sched_qs", db_show_sched_qs), _e("uvmexp", _unmodeled),
    _e("vnode", _unmodeled), _e("vnode_lock", _unmodeled), _e("vmem", _unmodeled),
    _e("vmems", _unmodeled), _e("watches", db_listwatch_cmd),
    _e("lwp", db_show_lwp, extra=True), _e("lwps", db_show_all_lwps, extra=True),
    _e("psref", db_show_psref, extra=True), _e("mutexes", db_mutexes_cmd, extra=True),
    _e("plan", db_search.db_show_plan, extra=True),
]}

# db_machine_command_table[] (amd64 db_interface.c).
MACHINE: dict[str, Entry] = {"cpu": _e("cpu", db_mach_cpu)}

TABLES: dict[str, dict[str, Entry]] = {"base": TABLE, "show": SHOW, "machine": MACHINE}


# db_command.c 1.160's cmd_descr (and cmd_arg) of each entry; ddbstep's own
# words for the entries 1.160 leaves without one and for the extensions.
DESCR: dict[str, tuple[str, str]] = {
    "b": ("Set a breakpoint at address", "[/u] address[,count]."),
    "break": ("Set a breakpoint at address", "[/u] address[,count]."),
    "bt": ("Show backtrace.", "See help trace."),
    "c": ("Continue execution.", "[/c]"),
    "call": ("Call the function", "address[(expression[,...])]"),
    "callout": ("List all used callout functions.", ""),
    "continue": ("Continue execution.", "[/c]"),
    "d": ("Delete a breakpoint.", "address | #number"),
    "delete": ("Delete a breakpoint.", "address | #number"),
    "dmesg": ("Show kernel message buffer.", "[count]"),
    "dwatch": ("Delete the watchpoint.", "address"),
    "examine": ("Display the address locations.", "[/modifier] address[,count]"),
    "exit": ("Continue execution.", "[/c]"),
    "help": ("Display help about commands", "Use other commands as arguments."),
    "kill": ("Send a signal to the process", "pid[,signal_number]"),
    "machine": ("Architecture specific functions.", ""),
    "match": ("Stop at the matching return instruction.", "See help next"),
    "next": ("Stop at the matching return instruction.", "[/p]"),
    "p": ("Print address according to the format.", "[/axzodurc] address [address ...]"),
    "print": ("Print address according to the format.", "[/axzodurc] address [address ...]"),
    "ps": ("Print all processes.", "See show all procs"),
    "quit": ("Continue execution.", "[/c]"),
    "reboot": ("Reboot (ddbstep: boot the scenario again; undo takes it back)", ""),
    "s": ("Single-step count times.", "[/p] [,count]"),
    "search": ("ddbstep: alone, find a panicking schedule from here (ddb: search memory"
               " from address for value, not modeled)", "[/s]"),
    "set": ("Set the named variable", "$variable [=] expression"),
    "show": ("Show kernel stats.", ""),
    "sifting": ("Search the symbol tables ", "[/F] string"),
    "step": ("Single-step count times.", "[/p] [,count]"),
    "sync": ("Force a crash dump, and then reboot.", ""),
    "trace": ("Stack trace from frame-address.", "[/u[l]] [frame-address][,count]"),
    "until": ("Stop at the next call or return instruction.", "[/p]"),
    "w": ("Write the expressions at succeeding locations.", "[/bhl] address expression"),
    "watch": ("Set a watchpoint for a region. ", "address[,size]"),
    "whatis": ("Describe what an address is", "address"),
    "write": ("Write the expressions at succeeding locations.", "[/bhl] address expression"),
    "x": ("Display the address locations.", "[/modifier] address[,count]"),
    "undo": ("ddbstep: take back the last commands", "[,count]"),
    "hardclock": ("ddbstep: clock interrupts on the selected CPU", "[,count]"),
    "intr": ("ddbstep: a device interrupt on the selected CPU", "DEVICE[,count]"),
    "fix": ("ddbstep: reboot with mi_switch's LP_BOUND guard in or reverted", "[on|off]"),
    "frame": ("ddbstep: select a frame of the selected CPU's stack", "[N]"),
    "up": ("ddbstep: select the caller's frame", "[N]"),
    "down": ("ddbstep: select the callee's frame", "[N]"),
    "pin": ("ddbstep: re-run a p/x/show line after every command", "LINE"),
    "unpin": ("ddbstep: drop a pinned line", "N"),
    "follow": ("ddbstep: walk the plan search found to its next race event", "[/a] [,count]"),
}
SHOW_DESCR: dict[str, str] = {
    "callout": "List all used callout functions.", "pages": "List all used memory pages.",
    "proc": "Print process information.", "procs": "List all processes.",
    "pools": "Show all pools", "locks": "Show all held locks", "breaks": "Display all breaks.",
    "buf": "Print the struct buf at address.",
    "event": "Print all the non-zero evcnt(9) event counters.",
    "files": "Print the files open by process at address",
    "lockstats": "Print statistics of locks", "map": "Print the vm_map at address.",
    "module": "Print kernel modules", "mount": "Print the mount structure at address.",
    "ncache": "Dump the namecache list.", "object": "Print the vm_object at address.",
    "page": "Print the vm_page at address.", "panic": "Print the current panic string",
    "pool": "Print the pool at address.", "registers": "Display the register set.",
    "sched_qs": "Print the state of the scheduler's run queues.",
    "uvmexp": "Print a selection of UVM counters and statistics.",
    "vnode": "Print the vnode at address.",
    "vnode_lock": "Print the vnode having that address as v_lock.",
    "vmem": "Print the vmem usage.", "vmems": "Show all vmems.",
    "watches": "Display all watchpoints.",
    "lwp": "ddbstep: one LWP, l_pflag decoded, l_target_cpu, its psrefs",
    "lwps": "ddbstep: every LWP and each CPU's run queue and spc_migrating",
    "psref": "ddbstep: every passive reference and where its holder runs",
    "mutexes": "ddbstep: each held spin mutex and its holder",
    "plan": "ddbstep: the schedule search found, walked and ahead",
}
# Entries whose useful forms take an argument: the palette prefills them.
NEEDS_ARG = frozenset({
    "b", "break", "d", "delete", "dwatch", "examine", "p", "print", "set", "watch", "x",
    "search", "sifting", "w", "write", "whatis", "kill", "intr", "pin", "unpin", "call",
    "show proc", "show lwp", "show lock", "show map", "show buf", "show files", "show mount",
    "show object", "show page", "show pool", "show vnode", "show vnode_lock", "show vmem",
})


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
