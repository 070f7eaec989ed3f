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

SHOW = """\
all             locks           mounts          proc            vmem
breaks          lock            ncache          procs           vmems
buf             lockstats       object          registers       vnode
callout         kqueue          page            routes          vnode_lock
devices         map             pages           sched_qs        watches
event           mbuf            panic           socket
files           module          pool            tstiles
freelists       mount           pools           uvmexp"""


@pytest.fixture
def s() -> Session:
    return Session.start(load("seed-race"))


def test_help_lists_ddbs_table_in_columns_then_marked_extras(s: Session) -> None:
    out = s.execute("help")
    assert out.startswith(HELP + "\n")
    assert "Model extras" in out and "undo" in out.split("Model extras")[1]


def test_show_alone_lists_show_table(s: Session) -> None:
    assert s.execute("show").startswith(SHOW + "\n")
    assert s.execute("help show") == s.execute("show")
    assert s.execute("machine") == "cpu"


@pytest.mark.parametrize(("line", "err"), [
    ("foo", "No such command: foo"),
    ("e", "Ambiguous command: e"),
    ("m", "Ambiguous command: m"),
    ("se", "Ambiguous command: se"),
    ("s,", "Count missing"),
    ("x/%", "Bad modifier"),
    ("!", "?"),
    ("(", "?"),
    ("mach cpu 9", "9: CPU out of range"),
    ("set $nosuch = 1", "Unknown variable"),
    ("set $radix =", "No value"),
    ("show proc 0t99", "bad address"),
    ("trace/t 0t99", "trace: pid 99 not found"),
    ("delete sched_idle", "Not set."),
    ("kill 1", "kill: not modeled by ddbstep"),
])
def test_errors_are_ddbs_and_change_nothing(s: Session, line: str, err: str) -> None:
    before = s.kernel.key()
    assert s.execute(line) == err
    assert s.kernel.key() == before


def test_prefixes_resolve_like_ddb(s: Session) -> None:
    assert s.execute("mac cpu 2") == "using CPU 2"
    assert s.prompt == "db{2}> "
    assert s.execute("sh panic") == "the kernel did not panic"
    assert s.execute("u").startswith("After ")  # until, not undo: extras need full names


def test_empty_line_repeats_last_command(s: Session) -> None:
    drive(s, "mach cpu 1", "s")
    a = s.kernel.curlwp(1).stack
    s.execute("")
    assert s.kernel.curlwp(1).stack != a


def test_mach_cpu_selects_the_cpu_that_s_drives(s: Session) -> None:
    assert s.execute("mach cpu 1") == "using CPU 1"
    out = s.execute("s")
    assert out.startswith("Stopped in pid 0.1 (system) at")


def test_mach_cpu_table(s: Session) -> None:
    lines = s.execute("mach cpu").splitlines()
    assert lines[0] == "addr            dev     id      flags   ipis    curlwp          fpcurlwp"
    assert lines[1].startswith("0xffffffff80f1d000      BOOT    0")
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
    out = s.execute("show proc 0t15571").splitlines()
    assert out[0].startswith("tcpdump: pid 15571 proc ")
    assert out[1] == "> lwp 1 ffffe40025abc480 pcb ffff80003335c000"
    assert out[2] == "    stat 7 flags 40000 cpu 0 pri 43"
    assert s.execute("show proc").startswith("usage: show proc [/a] [/p] address|pid")


def test_step_prints_stopped_line_with_tab_stops(s: Session) -> None:
    out = s.execute("s")
    assert out == ("Stopped in pid 15571.1 (tcpdump) at     netbsd:syscall: "
                   "code = X86_TF_RAX(frame) & (SYS_NSYSENT - 1); "
                   "callp = p->p_emul->e_sysent + code;")


def test_next_and_until_report_instructions(s: Session) -> None:
    drive(s, "s", "s")  # into sys_ioctl
    out = s.execute("until")
    assert out.splitlines()[0].startswith("After ")
    assert out.splitlines()[0].endswith(" instructions (0 loads, 0 stores),")
    out = s.execute("n")
    assert "Stopped in pid 15571.1 (tcpdump) at" in out


def test_break_count_and_show_breaks(s: Session) -> None:
    assert s.execute("break sched_lwp_stats,2") == ""
    assert s.execute("break sched_lwp_stats") == "Already set."
    assert s.execute("show breaks") == (
        " Map      Count    Address\n*0xffffffff80f6b4a8     2    netbsd:sched_lwp_stats")
    drive(s, "mach cpu 1")
    out = s.execute("c")
    assert out.splitlines()[-1].startswith("Breakpoint in pid 0.1 (system) at")
    assert "After " in out
    # The second hit: the second LWP in allproc order (1302, a hog).
    assert s.kernel.curlwp(1).stack[-1].get("l") == 3
    # Nothing to run: c stops at once on an idle CPU.
    drive(s, "mach cpu 3")
    assert s.execute("c").endswith("sched_idle();")


def test_print_and_examine_modeled_fields(s: Session) -> None:
    assert s.execute("p/x curlwp->l_pflag") == "        20000000"
    assert s.execute("p curlwp->l_target_cpu") == "               0"
    assert s.execute("p/d curlwp->l_cpu->ci_index") == "          0"
    assert s.execute("p/d 10") == "         16"  # numbers are hex by default
    assert s.execute("p/d 0t10") == "         10"
    assert s.execute("x/x curlwp->l_pflag") == "ffffe40025abc6c8:       20000000"


def test_set_prints_old_and_new(s: Session) -> None:
    assert s.execute("set $lines = 0") == "$lines          0 = 0"
    assert s.execute("set $maxwidth = 0t80") == "$maxwidth               0 = 50"


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
