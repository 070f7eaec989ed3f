"""db_command.c: the command loop, the parser and the session.

One interpreter for everything: a line in, the text ddb prints out. A
command is `name[/modifiers] [args] [,count]`, names match by unique prefix
(an exact match wins), an empty line repeats the last command, and errors
are ddb's own texts. Model extras (marked in `help`) must be typed in full
so that they never change how a ddb prefix resolves.
"""

from __future__ import annotations

from collections.abc import Callable

import attrs

from engine.ddb.db_examine import db_expression
from engine.ddb.db_lex import (
    DbError,
    Lexer,
    parse_number,
    tCOMMA,
    tEOL,
    tEXCL,
    tIDENT,
    tSLASH,
)
from engine.ddb.db_output import db_format
from engine.ddb.db_plan import Plan, plan_index
from engine.ddb.db_session import (  # noqa: F401  (the types, for callers of db_command)
    DEFAULT_VARS,
    EXTRA_VARS,
    Breakpoint,
    Cmd,
    Entry,
    Handler,
    Snapshot,
    Watchpoint,
)
from engine.ddb.db_table import TABLES, check_command, db_read_command, lookup  # noqa: F401
from engine.init_main import boot
from engine.kernel import Kernel
from engine.scenario import Scenario


@attrs.define
class Session:
    """A ddb session over one kernel: what the console and replay drive."""

    scenario: Scenario
    kernel: Kernel
    cpu: int = 0
    # ddb_cpu (amd64 db_interface.c): the CPU that trapped into ddb, where
    # the last run stopped; the others are paused (CPUF_PAUSE). `mach cpu`
    # selects another CPU's registers, it does not move ddb.
    ddb_cpu: int = 0
    breaks: list[Breakpoint] = attrs.field(factory=list)  # newest first, as db_breakpoint_list
    watches: list[Watchpoint] = attrs.field(factory=list)  # newest first
    vars: dict[str, int] = attrs.field(factory=lambda: dict(DEFAULT_VARS))
    undo_stack: list[Snapshot] = attrs.field(factory=list)
    print_fmt: str = "x"  # db_print_format
    examine_fmt: str = "x"  # db_examine_format
    # db_dot, db_prev, db_next, db_last_addr (db_command.c)
    dot: int = 0
    prev: int = 0
    next: int = 0
    last_addr: int = 0
    last_entry: Entry | None = None  # db_last_command
    last_count: int | None = None
    last_line: str | None = None  # a model extension repeats its whole line
    frame: int = 0  # the selected frame of the selected CPU (frame/up/down), 0 = innermost
    pins: list[str] = attrs.field(factory=list)  # pinned ddb lines, shown after every command
    # Where this session saw each held spin mutex taken (the model's LOCKDEBUG).
    lock_sites: dict[str, str] = attrs.field(factory=dict)
    prev_kernel: Kernel | None = None  # before the last command (what changed)
    on_step: Callable[[Kernel, Kernel, int], None] | None = None  # (before, after, cpu)
    # A break-in (the console's BREAK, Ctrl-C in the app): asked from another
    # thread, honoured by a running command at the next statement boundary.
    break_in: Callable[[], bool] | None = None
    # The schedule `search` found and how far `follow` has walked it
    # (engine.ddb.db_plan: the kernel stands at plan.kernels[plan_at]).
    plan: Plan | None = None
    plan_at: int = 0
    # The explorer's progress while `search` runs: (states, transitions,
    # depth proved, seconds, best panic length known).
    on_search: Callable[[int, int, int, float, int | None], None] | None = None
    # Transitions taken since boot (statements and interrupts): the
    # timeline's numbering, taken back by undo.
    steps: int = 0
    # ddb's refusal of the last line (No such command, Bad modifier, ...),
    # or None when it ran: a recording writes a refused line as a comment.
    last_error: str | None = None

    @classmethod
    def start(cls, scenario: Scenario, fix: bool | None = None,
              checks: tuple[str, ...] = (), complete: bool = False) -> Session:
        k = boot(scenario, fix, checks, complete)
        return cls(scenario=scenario, kernel=k)

    @property
    def prompt(self) -> str:
        return f"db{{{self.cpu}}}> "

    def fmt(self, text: str, wrap: bool = True) -> str:
        """db_printf()'s columns; wrap=False for a line that carries a modeled
        C statement (ddb's one instruction is short, a statement is not: the
        model does not wrap those, the README says so)."""
        return db_format(text, self.vars["tabstops"], self.vars["maxwidth"] if wrap else 0)

    def number(self, text: str) -> int:
        return parse_number(text.strip(), self.vars["radix"])

    # -- the interpreter ------------------------------------------------------

    def execute(self, line: str) -> str:
        """Run one line; return what ddb prints (no prompt, no final newline)."""
        line = line.rstrip("\r\n")
        printed: list[str] = []
        snap = Snapshot(line, self.kernel, self.cpu, [attrs.evolve(b) for b in self.breaks],
                        list(self.watches), self.plan, self.plan_at, self.steps,
                        self.ddb_cpu)
        before = self.kernel
        self.last_error = None
        try:
            parsed = db_command(self, line, printed)
            if parsed is None:
                return "\n".join(printed)
            cmd, entry = parsed
            out = entry.handler(self, cmd)
            if entry.name not in ("frame", "up", "down") and (
                    self.kernel is not before or self.cpu != snap.cpu):
                self.frame = 0  # a new state or another CPU: its innermost frame
            if entry.set_dot:
                self.dot = self.prev  # 'ed' style
            else:
                self.next = self.dot
        except DbError as e:
            self.restore(snap)
            self.last_error = str(e)
            return "\n".join(printed + [str(e)])
        except Exception as e:  # a model bug must not lose the session
            self.restore(snap)
            self.last_error = f"ddbstep: internal error in `{line}`: {type(e).__name__}: {e}"
            return self.last_error
        if entry.name != "undo" and (
            self.kernel is not snap.kernel or self.cpu != snap.cpu
            or self.breaks != snap.breaks or self.watches != snap.watches
        ):
            self.undo_stack.append(snap)
        if self.kernel is not before:
            self.prev_kernel = before
            if entry.name != "undo":
                left = self._track_plan()
                if left:
                    out = f"{out}\n{left}" if out else left
        # Everything ddb prints goes through its column tracking.
        return db_format("\n".join(printed + ([out] if out or not printed else [])),
                         self.vars["tabstops"])

    def _track_plan(self) -> str:
        """After a command that changed the kernel: still on the plan (a
        manual `s` on the plan's CPU walks it too), or the plan ends."""
        plan = self.plan
        if plan is None:
            return ""
        j = plan_index(plan, self.kernel, self.plan_at)
        if j is not None:
            self.plan_at = j
            return ""
        self.plan = None
        return ("[ddbstep] the plan ends: this command left it (`undo` brings it back,"
                " `search` finds another)")

    def fork(self) -> Session:
        """A copy that can run a command on its own (the app's worker): the
        kernel is a value; every container ddb changes is copied."""
        return attrs.evolve(
            self, breaks=[attrs.evolve(b) for b in self.breaks], watches=list(self.watches),
            vars=dict(self.vars), undo_stack=list(self.undo_stack),
            lock_sites=dict(self.lock_sites), pins=list(self.pins))

    def reboot(self, fix: bool | None = None) -> None:
        """Boot the scenario again (the same breakpoints are gone, as after a
        real reboot); the state before stays on the undo stack."""
        self.kernel = boot(self.scenario, self.kernel.config.fix if fix is None else fix,
                           self.kernel.config.checks,
                           self.kernel.config.complete and fix is not False)
        self.cpu = 0
        self.breaks, self.watches = [], []
        self.lock_sites = {}
        self.dot = self.prev = self.next = self.last_addr = 0
        self.prev_kernel = None
        self.plan, self.plan_at, self.steps = None, 0, 0

    def restore(self, snap: Snapshot) -> None:
        """Back to a snapshot (a refused command, undo). Breakpoints are
        copied: their counts go down as they are hit."""
        self.kernel, self.cpu = snap.kernel, snap.cpu
        self.breaks = [attrs.evolve(b) for b in snap.breaks]
        self.watches = snap.watches
        self.plan, self.plan_at, self.steps = snap.plan, snap.plan_at, snap.steps
        self.ddb_cpu = snap.ddb_cpu


def db_command(s: Session, line: str, printed: list[str]) -> tuple[Cmd, Entry] | None:
    """db_command(): parse one line; None when nothing is left to run."""
    lx = Lexer(line, s.vars["radix"], printed)
    t = lx.read_token()
    if t in (tEOL, tCOMMA):
        # An empty line repeats the last command, at 'next'. Only a count
        # repeats the last command with the new count.
        entry = s.last_entry
        if entry is None:
            return None
        if entry.extra and s.last_line is not None:
            # Model extensions repeat their whole line.
            return db_command(s, s.last_line, printed)
        count = s.last_count
        if t == tCOMMA:
            value = db_expression(s, lx)
            if value is None:
                raise DbError("Count missing")
            count = value[0]
        s.last_count = count
        cmd = Cmd(entry.name, "", "", count, line, addr=s.next, have_addr=False, lexer=lx)
        return cmd, entry
    if t == tEXCL:
        entry = TABLES["base"]["call"]
        return Cmd("call", "", lx.rest(), None, line, lexer=lx), entry
    if t != tIDENT:
        raise DbError("?")
    entry = db_read_command(lx, printed)
    if entry is None:
        return None
    cmd = Cmd(entry.name, "", "", None, line, lexer=lx)
    if entry.extra:
        cmd.args = lx.rest().strip()
        cmd.args, cmd.count = _extra_count(s, cmd.args)
        if "/" in cmd.args.split(" ", 1)[0][:1]:
            cmd.modifiers, _, cmd.args = cmd.args[1:].partition(" ")
    elif not entry.own:
        # Standard syntax: command [/modifier] [addr] [,count]
        t = lx.read_token()
        if t == tSLASH:
            if lx.read_token() != tIDENT:
                lx.flush()
                raise DbError("Bad modifier")
            cmd.modifiers = lx.tok_string
        else:
            lx.unread_token(t)
        start = lx.pos
        value = db_expression(s, lx)
        if value is not None:
            cmd.addr, cmd.field = value
            cmd.have_addr = True
            s.dot = s.last_addr = cmd.addr
        else:
            cmd.addr = s.dot
        cmd.args = line[start:lx.pos].strip() if value is not None else ""
        t = lx.read_token()
        if t == tCOMMA:
            value = db_expression(s, lx)
            if value is None:
                lx.flush()
                raise DbError("Count missing")
            cmd.count = value[0]
        else:
            lx.unread_token(t)
        if not entry.more:
            lx.skip_to_eol()
    else:
        cmd.args = lx.rest().strip()
    if entry.norepeat:
        s.last_entry, s.last_count, s.last_line = None, None, None
    else:
        s.last_entry, s.last_count = entry, cmd.count
        s.last_line = line if entry.extra else None
    return cmd, entry


def parse(s: Session, line: str) -> tuple[Cmd, Entry] | None:
    """What line would run, parsed on a fork (s is untouched): the app asks
    this, not a regex, whether a line runs long. None if ddb refuses it or
    nothing would run."""
    try:
        return db_command(s.fork(), line, [])
    except DbError:
        return None


def _extra_count(s: Session, text: str) -> tuple[str, int | None]:
    """A model extension's `args[,count]`."""
    if "," not in text:
        return text, None
    args, _, count = text.rpartition(",")
    if not count.strip():
        raise DbError("Count missing")
    return args.strip(), s.number(count)
