"""The types ddb's command loop and its handlers share (db_command.h).

The handler modules (db_run, db_examine, db_trace ...) import these and,
for annotations only, the Session; only the command table (db_table) and
the command loop (db_command) know each other, as in db_command.c.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import attrs

from engine.ddb.db_lex import Lexer
from engine.ddb.db_plan import Plan
from engine.kernel import Kernel

if TYPE_CHECKING:
    from engine.ddb.db_command import Session


@attrs.define
class Breakpoint:
    """struct db_breakpoint: an address, and the statement it stands on."""

    func: str  # the statement a run stops at (db_break_cmd refuses any other address)
    pc: int
    count: int
    init_count: int
    pc_addr: int = 0


@attrs.define
class Cmd:
    """A parsed command line: db_command()'s (addr, have_addr, count, modif)."""

    name: str
    modifiers: str
    args: str  # the raw text after the command (commands that parse their own)
    count: int | None  # None: no `,count` (ddb's -1)
    line: str
    addr: int = 0
    have_addr: bool = False
    # The model extension ADDR->field: the (struct address, field) the
    # address expression ended on, if it did.
    field: tuple[int, str] | None = None
    lexer: Lexer | None = None  # CS_OWN / CS_MORE commands read on from here


Handler = Callable[["Session", Cmd], str]


@attrs.define
class Entry:
    """struct db_command (DDB_ADD_CMD): a name, its function, its CS_ flags,
    its description and argument text; then what the model adds. Help,
    the app's palette, completion, `pin` and the app's choice of a worker
    all read these fields, nothing else."""

    name: str
    handler: Handler
    descr: str = ""  # cmd_descr: db_command.c's words; ddbstep's for the extensions
    args: str = ""  # cmd_arg: the argument text help shows
    extra: bool = False  # a model extension, not in NetBSD's ddb
    norepeat: bool = False  # CS_NOREPEAT
    own: bool = False  # CS_OWN: parses its own arguments
    more: bool = False  # CS_MORE: reads on after [addr][,count]
    set_dot: bool = False  # CS_SET_DOT
    sub: str | None = None  # CS_SHOW / CS_MACH: a sub-table; "all": CS_COMPAT
    # -- the model's own facts --
    runs: bool = False  # may run many statements: the app gives it a worker
    count_runs: bool = False  # ... but alone (no ,count) it runs one: no worker
    prefill: bool = False  # its useful forms take an argument: the palette prefills it
    address: bool = False  # its argument is an address: completion offers symbols
    # The model's forms of one of ddb's own commands, for help's list of
    # extensions: (usage, what it does), e.g. ("search[/s]", "alone: ...").
    forms: tuple[tuple[str, str], ...] = ()
    # Lines the palette offers besides the command itself, ready to run:
    # (line, what it does), e.g. ("c/a", "continue every CPU ...").
    palette: tuple[tuple[str, str], ...] = ()


DEFAULT_VARS = {
    "radix": 16,
    "maxoff": 0x10000000,
    "maxwidth": 80,  # db_max_width: ddb wraps its output here (0 turns it off)
    "lines": 24,
    "tabstops": 8,
    "onpanic": 1,
    "fromconsole": 1,
    "tee_msgbuf": 0,
    "panicstackframes": 65535,
    "dumpstack": 1,
    # model extensions (help lists them apart)
    "seed": 0,  # c/a: 0 = round-robin, else a seeded random interleaving
    "tick": 50,  # c/a: statements per CPU between clock interrupts
    "maxsteps": 100000,  # run commands stop after this many statements
    "searchstates": 100000,  # search: the full search's state bound
}
EXTRA_VARS = ("seed", "tick", "maxsteps", "searchstates")


@attrs.define
class Watchpoint:
    """struct db_watchpoint: [loaddr, hiaddr) of modeled memory."""

    loaddr: int
    hiaddr: int


@attrs.define
class Snapshot:
    line: str
    kernel: Kernel
    cpu: int
    breaks: list[Breakpoint]
    watches: list[Watchpoint]
    plan: Plan | None = None
    plan_at: int = 0
    steps: int = 0
    ddb_cpu: int = 0
