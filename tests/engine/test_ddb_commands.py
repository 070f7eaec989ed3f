"""Each command's layout, ddb's parsing rules and error texts."""

from __future__ import annotations

import pytest

from engine.ddb.db_command import Session
from engine.ddb.db_output import db_format
from engine.scenario import load
from tests.conftest import drive

HELP = """\
b               delete          match           search          w
break           dmesg           next            set             watch
bt              dwatch          p               show            whatis
c               examine         print           sifting         write
call            exit            ps              step            x
callout         help            quit            sync
continue        kill            reboot          trace
d               machine         s               until"""

# db_show_cmds[] of db_command.c 1.160 as amd64 GENERIC compiles it, in
# table order (db_cmd_list() lists a table as it is, column-major).
SHOW = """\
callout         routes          lockstats       object          vnode
pages           breaks          map             page            vnode_lock
proc            buf             socket          panic           vmem
procs           devices         module          pool            vmems
pools           event           mount           registers       watches
locks           files           mbuf            sched_qs
all             lock            ncache          uvmexp"""


@pytest.fixture
def s() -> Session:
    return Session.start(load("seed-race"))


def test_help_lists_ddbs_table_in_columns_then_the_extensions_apart(s: Session) -> None:
    """db_help_print_cmd() -> db_cmd_list(&db_base_cmd_list) (db_command.c 1.160
    l.959-973); ddbstep's extensions follow under their own heading. First,
    ddbstep's way to the race: search, follow/a, bt."""
    out = s.execute("help")
    race, table, extensions = out.split("\n\n", 2)
    assert race.startswith("The race in three commands (ddbstep):")
    assert [line.split()[0] for line in race.splitlines()[1:]] == ["search", "follow/a", "bt"]
    assert table == HELP
    assert extensions.startswith("ddbstep extensions (not in NetBSD's ddb")
    for word in ("undo", "hardclock", "intr", "c/a", "$seed", "$tick", "$maxsteps",
                 "show lwp", "show psref", "show mutexes", "->", "db{N}>", "search[/s]",
                 "follow[/a]", "show plan", "$searchstates"):
        assert word in extensions
    assert "undo" not in table


def test_show_alone_lists_the_1_160_show_table_in_its_order(s: Session) -> None:
    """db_read_command(): a CS_SHOW command without a sub-command lists its
    table (db_command.c 1.160 l.802-809); db_show_cmds[] l.220-312."""
    assert s.execute("show") == SHOW
    assert s.execute("help show") == SHOW  # db_read_command() lists the sub-table
    assert s.execute("machine") == "cpu"
    assert s.execute("show all") == SHOW  # "all" is CS_COMPAT: the same list


@pytest.mark.parametrize(("line", "err"), [
    ("foo", "No such command: foo"),
    ("e", "Ambiguous command: e"),
    ("m", "Ambiguous command: m"),
    ("se", "Ambiguous command: se"),
    ("s,", "Count missing"),
    ("x/%", "Bad modifier"),
    ("(", "?"),
    ("mach cpu 9", "CPU 9 not configured"),
    ("mach cpu -1", "-1: CPU out of range"),
    ("set $nosuch = 1", "Unknown variable"),
    ("set $radix =", "No value"),
    ("show proc 0t99", "bad address"),
    ("trace/t 0t99", "trace: pid 99 not found"),
    ("delete sched_idle", "Not set."),
    ("break nosuchsym", "Symbol not found"),
    ("p 12z", "Bad character in number"),
    ("p 1 >> -1", "Negative shift amount"),
    ("p 4 / 0", "Divide by 0"),
])
def test_errors_are_ddbs_and_change_nothing(s: Session, line: str, err: str) -> None:
    """db_error() texts of db_command.c, db_expr.c, db_lex.c, db_break.c and
    amd64 db_interface.c l.311-318."""
    before = s.kernel.key()
    assert s.execute(line) == err
    assert s.kernel.key() == before


def test_prefixes_resolve_like_ddb(s: Session) -> None:
    """db_cmd_search_table(): an exact name wins, else one prefix (l.604-641)."""
    assert s.execute("mac cpu 2") == "using CPU 2"
    assert s.prompt == "db{2}> "
    assert s.execute("sh panic") == "Panic string: (null)"
    s.execute("mach cpu 0")
    assert s.execute("u").startswith("fatal trace trap")  # until, not undo


def test_empty_line_repeats_the_last_command_at_next(s: Session) -> None:
    """db_command(): an empty line repeats the last command at db_next, with
    its count and without its modifiers (db_command.c 1.160 l.833-852)."""
    drive(s, "mach cpu 1", "s")
    a = s.kernel.curlwp(1).stack
    s.execute("")
    assert s.kernel.curlwp(1).stack != a
    first = s.execute("x/x hz")
    assert first == "netbsd:hz:\t64".expandtabs(8)
    assert s.execute("") == "netbsd:hz+0x4:  0"  # the next word, not hz again
    assert s.execute(",2").splitlines()[0].startswith("netbsd:hz+0x8:")


def test_mach_cpu_selects_the_cpu_that_s_drives(s: Session) -> None:
    """db_mach_cpu() prints "using CPU %ld" (amd64 db_interface.c l.330); the
    prompt and the stepped CPU following it are ddbstep's extension."""
    assert s.execute("mach cpu 1") == "using CPU 1"
    out = s.execute("s")
    assert out.splitlines()[-1].startswith("Stopped in pid 0.1 (system) at")


def test_mach_cpu_table(s: Session) -> None:
    """cpu_debug_dump() (x86 cpu.c): every CPU has ci_dev, so no "BOOT"; the
    rows are longer than $maxwidth and wrap as db_putchar() wraps them."""
    s.vars["maxwidth"] = 0
    lines = s.execute("mach cpu").splitlines()
    assert lines[0] == "addr            dev     id      flags   ipis    curlwp          fpcurlwp"
    assert lines[1].startswith("0xffffffff80f1d000      cpu0    0")
    assert len(lines) == 5


def test_ps_layout(s: Session) -> None:
    lines = s.execute("ps").splitlines()
    assert lines[0] == "PID    LID S CPU     FLAGS       STRUCT LWP *               NAME WAIT"
    assert lines[1] == "15571>   1 7   0     40000   ffffe40025abc480            tcpdump"
    assert lines[-1].startswith("0    >   1 7   1       200")
    assert lines[-1].endswith("swapper")
    assert s.execute("ps/x").startswith("usage: show all procs [/a] [/l] [/n] [/w]")
    assert s.execute("show all procs/n").splitlines()[0] == (
        "PID      PPID     PGRP        UID S   FLAGS LWPS          COMMAND    WAIT")


def test_show_proc_layout(s: Session) -> None:
    """db_show_proc() (db_proc.c l.264-340): l_priority, not the effective one."""
    out = s.execute("show proc 0t15571").splitlines()
    assert out[0].startswith("tcpdump: pid 15571 proc ")
    # Its first line is exactly 80 columns: db_putchar() ends the line after
    # the 80th character (db_output.c l.153-159), then the "\n" ends another.
    assert len(out[0]) == 80 and out[1] == ""
    assert out[2] == "> lwp 1 ffffe40025abc480 pcb ffff80003335c000"
    assert out[3] == "    stat 7 flags 40000 cpu 0 pri 43"
    assert s.execute("show proc").startswith("usage: show proc [/a] [/p] address|pid")
    # proc0: PK_SYSTEM|PK_NOCLDWAIT
    assert s.execute("show proc 0").splitlines()[0].endswith("flags 20002")


def test_breakpoint_stop_prints_the_trap_lines_and_no_count(s: Session) -> None:
    """Acceptance 1. amd64 trap() sends T_BPTFLT from kernel mode to
    we_re_toast: trap_print() (trap.c 1.114 l.318-319, its format l.200-212),
    then kdb_trap(); db_trap() prints "After N instructions" only if
    db_inst_count, which plain `c` (STEP_CONTINUE) never counts (db_run.c
    db_continue_cmd, db_trap.c l.61-65). tf_rip is the byte after the int3."""
    drive(s, "mach cpu 1", "break sched_takecpu")
    out = s.execute("c").splitlines()
    assert out[0] == "fatal breakpoint trap in supervisor mode"
    assert out[1].startswith("trap type 1 code 0 rip 0xffffffff80a47151 cs 0x8 rflags 0x206")
    assert out[2] == ("curlwp 0xffffe40025a01000 pid 0.1 lowest kstack 0xffff8000333202c0")
    assert out[3].startswith("Breakpoint in pid 0.1 (system) at       netbsd:sched_takecpu:")
    assert len(out) == 4 and not any(line.startswith("After ") for line in out)
    # next: STEP_RETURN stops AT the matching return (db_run.c db_stop_at_pc
    # l.197-218), still in sched_takecpu, with its count.
    out = s.execute("n").splitlines()
    assert out[0] == "fatal trace trap in supervisor mode"
    assert out[1].startswith("trap type 5 code 0 rip 0xffffffff80a472fa")
    assert out[3].startswith("After ") and out[3].endswith(" instructions (0 loads, 0 stores),")
    assert out[4].endswith("netbsd:sched_takecpu+0x1aa:     return tci;")
    # c/c counts (STEP_COUNT).
    assert any(line.startswith("After ") for line in s.execute("c/c").splitlines())


def test_step_prints_trap_lines_then_stopped_line_with_tab_stops(s: Session) -> None:
    """T_TRCTRAP from kernel mode goes to we_re_toast (trap.c l.650-670)."""
    out = s.execute("s").splitlines()
    assert out[0] == "fatal trace trap in supervisor mode"
    assert out[-1] == ("Stopped in pid 15571.1 (tcpdump) at     netbsd:syscall: "
                       "code = X86_TF_RAX(frame) & (SYS_NSYSENT - 1); "
                       "callp = p->p_emul->e_sysent + code;")


def test_counts_and_modifiers_lex_as_ddb_lexes_them(s: Session) -> None:
    """db_command(): `/`, an identifier, then `,` are separate tokens
    (db_command.c l.880-952), so s/p,3 and trace/t,2 parse; s/p prints each
    statement but the last with two tabs (db_run.c l.185-194)."""
    drive(s, "s,0t5")
    out = s.execute("s/p,3").splitlines()
    assert [line[:16] for line in out[:2]] == [" " * 16] * 2
    assert out[-1].startswith("Stopped in pid 15571.1 (tcpdump)")
    # no pid given: the current LWP, no "trace:" line, 2 frames
    assert len(s.execute("trace/t,2").splitlines()) == 2
    # lwp0 (struct lwp lwp0): its walk ends in main(), which called uvm_scheduler()
    assert s.execute("trace/a lwp0").splitlines()[-1] == "main() at netbsd:main+0x5d5"
    out = s.execute("trace/t 0t15571,2").splitlines()
    assert out[0].startswith("trace: pid 15571 lid 1 at 0x")
    assert len(out) == 3


def test_next_p_prints_after_lines_and_until_stops_at_a_call(s: Session) -> None:
    """STEP_RETURN with db_sstep_print prints "[after %6d]" before every call
    and return (db_run.c l.203-214); STEP_CALLT stops at the next call or
    return (l.219-229)."""
    drive(s, "s", "s")  # into sys_ioctl
    out = s.execute("until").splitlines()
    assert out[-2].startswith("After ")
    assert "sys_ioctl" in out[-1]
    out = s.execute("n/p").splitlines()
    assert any(line.startswith("[after ") for line in out)
    assert out[-1].startswith("Stopped in pid 15571.1 (tcpdump) at")


def test_break_count_and_show_breaks_newest_first(s: Session) -> None:
    """db_set_breakpoint() links at the head; db_list_breakpoints() walks the
    list (db_break.c): newest first. A break with no address is at dot."""
    assert s.execute("break sched_lwp_stats,2") == ""
    assert s.execute("break sched_lwp_stats") == "Already set."
    assert s.execute("break sched_idle") == ""
    assert s.execute("show breaks") == (
        " Map      Count    Address\n"
        "*0xffffffff80f6b4a8     1    netbsd:sched_idle\n"
        "*0xffffffff80f6b4a8     2    netbsd:sched_lwp_stats")
    assert s.execute("delete sched_idle") == ""
    drive(s, "mach cpu 1")
    out = s.execute("c")
    assert out.splitlines()[-1].startswith("Breakpoint in pid 0.1 (system) at")
    # The second hit: the second LWP in allproc order (1302, a hog).
    assert s.kernel.curlwp(1).stack[-1].get("l") == 3
    # Nothing to run: c stops at once on an idle CPU (a ddbstep stop, marked).
    drive(s, "mach cpu 3")
    out = s.execute("c").splitlines()
    assert out[0].endswith("sched_idle();") and out[1].startswith("[ddbstep] ")


def test_expressions_are_db_expr_c(s: Session) -> None:
    """Acceptance 2 and 4. db_term(): a symbol is its address; db_unary(): `*`
    reads 8 bytes (db_expr.c l.117-141); db_shift_expr() l.207-236. The 2018
    lexer has no `&`: db_lex() prints "Bad character" and ends the line
    (db_lex.c l.288-290), so p/x A & B prints A."""
    assert s.execute("p/x 0x80000000 & 0xa0000000") == "Bad character\n        80000000"
    assert s.execute("p/x 1 << 4") == "              10"
    assert s.execute("p/x 0x100 >> 4") == "              10"
    assert s.execute("p/x 7 % 3") == "               1"
    assert s.execute("p/x 7 # 4") == "               8"  # round up to a multiple
    assert s.execute("p/x hz") == "ffffffff80f52f1c"
    assert s.execute("p/d *hz") == "        100"  # hz's 4 bytes, then 0s of .data
    assert s.execute("p/d *hardclock_ticks") == "%11d" % s.kernel.hardclock_ticks
    assert s.execute("p/a sched_idle") == "netbsd:sched_idle"
    assert s.execute("p/x lwp0") == "ffffe40025a01000"  # struct lwp lwp0: the swapper
    # 8 bytes at &lwp0->l_stat: l_flag (LW_SYSTEM) above l_stat (LSONPROC)
    assert s.execute("p/x *(lwp0+0x38)") == "     20000000007"
    assert s.execute("p/a sched_idle+0x10").startswith("netbsd:sched_idle+0x10")
    assert s.execute("p/c 0x41") == "A"
    assert s.execute("p/d 10") == "         16"  # numbers are hex by default
    assert s.execute("p/d 0t10") == "         10"
    # the model's extension: paths over modeled structs
    assert s.execute("p/x curlwp->l_pflag") == "        20000000"
    assert s.execute("p curlwp->l_target_cpu") == "               0"
    assert s.execute("p/d curlwp->l_cpu->ci_index") == "          0"


def test_examine_formats_and_line_filling(s: Session) -> None:
    """db_examine() (db_examine.c l.70-250): the symbol at the start of each
    line, values padded to their width until $maxwidth (db_end_line()),
    /s a string, /i the modeled statement at the address, db_next after."""
    out = s.execute("x/x curlwp->l_pflag")
    assert out == "ffffe40025abc6c8:       20000000"
    out = s.execute("x/lx curlwp->l_stat,4")
    assert out == "ffffe40025abc4b8:       7           40000       0           0"
    assert s.execute("x/s curproc->p_comm") == "ffffe40024e01138:       tcpdump"
    s.execute("s")
    out = s.execute("x/i $pc")
    assert out == ("netbsd:syscall: code = X86_TF_RAX(frame) & (SYS_NSYSENT - 1); "
                   "callp = p->p_emul->e_sysent + code;")
    out = s.execute("x/i sched_idle,2").splitlines()
    assert len(out) == 2 and out[0].startswith("netbsd:sched_idle:      if (spc->spc_migrating")
    assert out[1].startswith("netbsd:sched_idle+0x")
    assert s.execute("x/qx hz") == "netbsd:hz:      64"
    assert s.execute("x/bx hz,2") == "netbsd:hz:      64  0"


def test_set_echoes_old_and_new_in_radix(s: Session) -> None:
    """db_set_cmd() prints db_num_to_str() of both values in $radix
    (db_variables.c l.203-207; db_lex.c l.139-160)."""
    assert s.execute("set $lines = 0") == "$lines          18 = 0"
    assert s.execute("set $maxwidth = 0t80") == "$maxwidth               50 = 50"
    assert s.execute("set $radix = 0t10") == "$radix          10 = a"
    assert s.execute("p 10") == "               a"  # p's format is x, whatever the radix
    assert s.execute("set $radix = 0t16") == "$radix          10 = 16"


def test_show_registers_segments_and_symbols(s: Session) -> None:
    """db_show_regs(): "%-12s%s" per register (db_print.c); segment
    selectors are the live GSEL(GUDATA_SEL, SEL_UPL)."""
    s.execute("s")
    out = s.execute("show registers").splitlines()
    assert out[0] == "ds          23"
    assert out[-1].startswith("netbsd:syscall:")


def test_spinning_cpu_names_the_lock_and_its_holder(s: Session) -> None:
    """Acceptance 3. GENERIC has no LOCKDEBUG: show lock answers as
    lockdebug_lock_print() does without it (subr_lockdebug.c); the holder is
    ddbstep's marked line."""
    drive(s, "hardclock,3", "mach cpu 1", "break sched_takecpu", "c", "mach cpu 0")
    out = s.execute("s").splitlines()
    assert out[-2].startswith("Stopped in pid 15571.1 (tcpdump) at")
    assert out[-1] == ("[ddbstep] cpu0 spins on cpu0.spc_lwplock, held by cpu1 "
                       "(curlwp 0.1 swapper), taken at netbsd:sched_pstats+0x97 (cpu1)")
    assert s.execute("c").splitlines()[-1] == out[-1]
    assert s.execute("show lock 0") == "Sorry, kernel not built with the LOCKDEBUG option."
    assert s.execute("show all locks") == "Sorry, kernel not built with the LOCKDEBUG option."
    assert s.execute("show mutexes").startswith("[ddbstep] cpu0.spc_lwplock, held by cpu1")


def test_watch_stops_at_the_store_on_the_cpu_that_made_it(s: Session) -> None:
    """Acceptance 3. db_watchpoint_cmd() (db_watch.c): watch addr[,size],
    size 4 by default; db_list_watchpoints(); db_trap() says "Watchpoint"."""
    target = 0xFFFFE40025ABC480 + 0xD8  # &tcpdump->l_target_cpu
    assert s.execute(f"watch {target:#x} 8") == ""
    assert s.execute("show watches") == (
        " Map        Address  Size\n*0xffffffff80f6b4a8  ffffe40025abc558  8")
    drive(s, "mach cpu 1")
    out = s.execute("c").splitlines()
    assert out[0] == "fatal trace trap in supervisor mode"
    assert out[3].startswith("Watchpoint in pid 0.1 (system) at")
    assert "sched_lwp_stats" in out[3]
    assert out[4].startswith("[ddbstep] watchpoint: cpu1 stored l_target_cpu of 15571.1")
    assert out[4].endswith("l->l_target_cpu = (ci != l->l_cpu) ? ci : NULL;")
    assert s.execute(f"dwatch {target:#x}") == ""
    assert s.execute("show watches") == "No watchpoints set"


def test_set_prints_old_and_new(s: Session) -> None:
    assert s.execute("set $tabstops = 8") == "$tabstops               8 = 8"


def test_show_lwp_decodes_pflag_and_target(s: Session) -> None:
    drive(s, "mach cpu 1", "break kpause", "c")
    out = s.execute("show lwp 0t15571.1")
    assert "l_target_cpu  cpu3 (0xffffe4003f8a4000)" in out
    assert "l_pflag       0x20000000 (LP_RUNNING)" in out
    assert "l_stat        7 (LSONPROC)" in out


def test_show_psref_flags_a_moved_holder() -> None:
    s = Session.start(load("seed-race"))
    for line in load("seed-race").commands[:-2]:
        s.execute(line)
    out = s.execute("show psref")
    assert "wm0    ifnet 15571.1 (tcpdump)      cpu0" in out
    assert "<- held on cpu0, holder now on cpu3" in out


def test_show_panic_after_the_seed_panic() -> None:
    s = Session.start(load("seed-race"))
    for line in load("seed-race").commands:
        s.execute(line)
    assert s.cpu == 3
    assert s.execute("show panic").startswith(
        'Panic string: kernel diagnostic assertion "(psref->psref_cpu == curcpu())"')
    assert "the kernel has panicked" in s.execute("s")


def test_undo_restores_exact_state(s: Session) -> None:
    start = s.kernel.key()
    # s,2: lwp0 walks allproc but has not locked tcpdump yet, so cpu0's clock
    # (schedclock locks the LWP it interrupts) can run.
    drive(s, "mach cpu 1", "s,2", "mach cpu 0", "hardclock", "s")
    assert s.kernel.key() != start
    assert s.execute("undo,0t5") == "undid 5: mach cpu 1; s,2; mach cpu 0; hardclock; s"
    assert s.kernel.key() == start and s.cpu == 0


def test_db_format_tabs_and_trailing_blanks() -> None:
    assert db_format("ab\tc") == "ab      c"
    assert db_format("x   \t") == "x"
    assert db_format("a" * 85, maxwidth=80).splitlines() == ["a" * 80, "a" * 5]
