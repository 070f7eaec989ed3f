"""db_command.c: the command table, the parser and the session.

One interpreter for everything: a line in, the text ddb prints out. A
command is `name[/modifiers] [args] [,count]`, names match by unique prefix
(an exact match wins), an empty line repeats the last command, and errors
are ddb's own texts. Model extras (marked in `help`) must be typed in full
so that they never change how a ddb prefix resolves.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import attrs

from engine.ddb.db_lex import DbError, parse_number
from engine.ddb.db_output import db_format
from engine.init_main import boot
from engine.kernel import Kernel
from engine.scenario import Scenario


@attrs.define
class Breakpoint:
    func: str
    pc: int
    count: int
    init_count: int


@attrs.define
class Cmd:
    """A parsed command line."""

    name: str
    modifiers: str
    args: str
    count: int | None
    line: str


Handler = Callable[["Session", Cmd], str]


@attrs.define
class Entry:
    name: str
    handler: Handler
    extra: bool = False  # a model extra, not in NetBSD's ddb
    norepeat: bool = False


DEFAULT_VARS = {
    "radix": 16,
    "maxoff": 0x10000000,
    "maxwidth": 0,  # C statements are wider than amd64 disassembly: no wrap
    "lines": 0,
    "tabstops": 8,
    "onpanic": 1,
    "fromconsole": 1,
    "tee_msgbuf": 0,
    "panicstackframes": 65535,
    "dumpstack": 1,
    "seed": 0,  # c/a: 0 = round-robin, else a seeded random interleaving
    "tick": 50,  # c/a: statements per CPU between clock interrupts
    "maxsteps": 100000,  # run commands stop after this many statements
}


@attrs.define
class Snapshot:
    line: str
    kernel: Kernel
    cpu: int
    breaks: list[Breakpoint]


@attrs.define
class Session:
    """A ddb session over one kernel: what the console and replay drive."""

    scenario: Scenario
    kernel: Kernel
    cpu: int = 0
    breaks: list[Breakpoint] = attrs.field(factory=list)
    vars: dict[str, int] = attrs.field(factory=lambda: dict(DEFAULT_VARS))
    last: str | None = None
    undo_stack: list[Snapshot] = attrs.field(factory=list)
    print_fmt: str = "x"
    examine_fmt: str = "x"
    examine_size: str = "l"
    prev_kernel: Kernel | None = None  # before the last command (what changed)
    on_step: Callable[[Kernel, Kernel, int], None] | None = None  # (before, after, cpu)

    @classmethod
    def start(cls, scenario: Scenario, fix: bool | None = None) -> Session:
        k = boot(scenario, fix)
        return cls(scenario=scenario, kernel=k)

    @property
    def prompt(self) -> str:
        return f"db{{{self.cpu}}}> "

    def fmt(self, text: str) -> str:
        return db_format(text, self.vars["tabstops"], self.vars["maxwidth"])

    def number(self, text: str) -> int:
        return parse_number(text, self.vars["radix"])

    # -- the interpreter ------------------------------------------------------

    def execute(self, line: str) -> str:
        """Run one line; return what ddb prints (no prompt, no final newline)."""
        line = line.rstrip("\r\n")
        if not line.strip():
            if self.last is None:
                return ""
            line = self.last
        try:
            cmd, entry = parse(self, line)
        except DbError as e:
            return str(e)
        if not entry.norepeat:
            self.last = line
        snap = Snapshot(line, self.kernel, self.cpu, [attrs.evolve(b) for b in self.breaks])
        before = self.kernel
        try:
            out = entry.handler(self, cmd)
        except DbError as e:
            self._restore(snap)
            return str(e)
        except Exception as e:  # a model bug must not lose the session
            self._restore(snap)
            return f"ddbstep: internal error in `{line}`: {type(e).__name__}: {e}"
        if entry.name != "undo" and (
            self.kernel is not snap.kernel or self.cpu != snap.cpu or self.breaks != snap.breaks
        ):
            self.undo_stack.append(snap)
        if self.kernel is not before:
            self.prev_kernel = before
        # Everything ddb prints goes through its column tracking.
        return db_format(out, self.vars["tabstops"])

    def _restore(self, snap: Snapshot) -> None:
        self.kernel, self.cpu, self.breaks = snap.kernel, snap.cpu, snap.breaks


_CMD = re.compile(r"^\s*(?P<name>[A-Za-z_][A-Za-z_0-9]*)(?P<rest>.*)$")
_MOD = re.compile(r"^\s*/(?P<mod>\S*)(?P<rest>.*)$")


def lookup(table: dict[str, Entry], word: str) -> Entry:
    if word in table:
        return table[word]
    hits = [e for name, e in table.items() if name.startswith(word) and not e.extra]
    names = {e.name for e in hits}
    if len(names) == 1:
        return hits[0]
    if not hits:
        raise DbError(f"No such command: {word}")
    raise DbError(f"Ambiguous command: {word}")


def split_modifiers(rest: str) -> tuple[str, str]:
    m = _MOD.match(rest)
    if not m:
        return "", rest
    mod = m.group("mod")
    if not re.fullmatch(r"[A-Za-z0-9]+", mod):
        raise DbError("Bad modifier")
    return mod, m.group("rest")


def split_count(s: Session, rest: str) -> tuple[str, int | None]:
    if "," not in rest:
        return rest.strip(), None
    args, _, count = rest.rpartition(",")
    count = count.strip()
    if not count:
        raise DbError("Count missing")
    try:
        n = s.number(count)
    except DbError:
        raise DbError("Count missing") from None
    return args.strip(), n


def parse(s: Session, line: str) -> tuple[Cmd, Entry]:
    from engine.ddb.db_table import TABLE

    stripped = line.strip()
    if stripped.startswith(","):
        # `,N` alone repeats the last command with count N.
        if s.last is None:
            raise DbError("?")
        base, _ = split_count(s, s.last) if "," in s.last else (s.last, None)
        return parse(s, f"{base}{stripped}")
    m = _CMD.match(line)
    if not m:
        raise DbError("?")
    entry = lookup(TABLE, m.group("name"))
    mod, rest = split_modifiers(m.group("rest"))
    args, count = split_count(s, rest)
    return Cmd(entry.name, mod, args, count, line), entry
